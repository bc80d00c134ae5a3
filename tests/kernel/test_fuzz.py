"""Fuzzing on real packets: malformed, fragmented, oversized IPv4 and IPv6
packets, and ICMP errors quoting them (tests/fuzz/gen_packets.py, built on
the host with scapy), sent from host A through every action in every chain
that allows it, with conntrack, SNAT and IPsec active, while a TCP transfer
runs.  Nothing may crash (the guest fails on any oops, warning or leak
report), and traffic afterwards must still arrive byte-exact.

make check replays a small set; make fuzz 100 000 packets.  The seed is
printed: NF_PREFRAG_FUZZ_SEED=<seed> make fuzz replays the same packets."""
import os
import socket
import struct
import subprocess
import threading
import time

import pytest

from nettest import TOP, scaled, tcp_transfer, udp_exchange
from topology import Tunnel

FUZZ_FILE = os.environ.get("NF_PREFRAG_FUZZ_FILE") or os.path.join(TOP, "build", "fuzz", "check.bin")
ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD

# Each packet acts on the last rule that marked it: TCP ends with "tcp
# segment", ICMP with "df keep", the rest with what FORWARD or PREROUTING said.
RA_RULES = """
iptables-legacy -t raw -A PREROUTING -j CLEARDF --min-len 500
iptables-legacy -t raw -A OUTPUT -j PREFRAG --mtu auto --tcp segment
iptables-legacy -t mangle -A PREROUTING -i eth0 -j PREFRAG --mtu auto --df clear --tcp segment
iptables-legacy -t mangle -A FORWARD -j PREFRAG --mtu 1300
iptables-legacy -t mangle -A OUTPUT -j CLEARDF --random-id
iptables-legacy -t mangle -A POSTROUTING -p tcp -j PREFRAG --mtu auto --tcp segment
iptables-legacy -t mangle -A POSTROUTING -p icmp -j PREFRAG --mtu auto --df keep
iptables-legacy -A FORWARD -m length --length 8000:65535 -j REJECT --reject-with icmp-frag-needed --reject-mtu 1400
iptables-legacy -A OUTPUT -j PREFRAG --mtu auto
iptables-legacy -t nat -A POSTROUTING -s 10.0.1.0/24 -d 10.0.4.0/24 -j SNAT --to-source 10.0.1.200
ip6tables-legacy -t raw -A OUTPUT -j PREFRAG --mtu auto
ip6tables-legacy -t mangle -A PREROUTING -j PREFRAG --mtu auto --tcp segment
ip6tables-legacy -t mangle -A POSTROUTING ! -p tcp -j PREFRAG --mtu 1280
ip6tables-legacy -A FORWARD -m length --length 8000:65535 -j REJECT --reject-with icmp6-pkt-too-big
"""
RB_RULES = """
iptables-legacy -t mangle -A POSTROUTING -m policy --dir out --pol ipsec -j PREFRAG --mtu auto --tcp segment
ip6tables-legacy -t mangle -A POSTROUTING -j PREFRAG --mtu auto
"""


def records(path):
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos + 3 <= len(data):
        fam, n = struct.unpack("!BH", data[pos:pos + 3])
        yield fam, data[pos + 3:pos + 3 + n]
        pos += 3 + n


@pytest.fixture(scope="module")
def fz(modules):
    subprocess.run(["modprobe", "xt_REJECT_MTU"], check=True)
    t = Tunnel(prefix="fz", ipv6=True, drop_fragments=False)
    for ns in (t.ha, t.ra):
        ns.sh("ip link set eth0 mtu 9000")  # gen_packets.py's MAX_LEN fits
    # Fuzzed fragments that never complete hold reassembly memory until
    # they time out (30 s by default); let them go sooner.
    for ns in (t.ha, t.ra, t.rb, t.hb):
        ns.sysctl("net.ipv4.ipfrag_time", 3)
        ns.sysctl("net.ipv6.ip6frag_time", 3)
    t.ra.sh(RA_RULES)
    t.rb.sh(RB_RULES)
    yield t
    t.delete()


def replay(t, path):
    """Send every packet from host A's eth0 to gateway A, as on the wire
    (gen_packets.py keeps each within the link's MTU: any send error
    fails).  Returns (sent, total)."""
    link = t.ra.sh("ip -o link show eth0").split()
    ra_mac = bytes.fromhex(link[link.index("link/ether") + 1].replace(":", ""))
    with t.ha.entered():
        s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM)
    sent = total = 0
    with s:
        for fam, pkt in records(path):
            total += 1
            proto = ETH_P_IP if fam == 4 else ETH_P_IPV6
            sent += s.sendto(pkt, ("eth0", proto, 0, 0, ra_mac)) == len(pkt)
    return sent, total


def test_fuzzed_packets_then_traffic_byte_exact(fz, report):
    if not os.path.exists(FUZZ_FILE):
        pytest.fail(f"{FUZZ_FILE} is missing: tests/run-tests.sh makes it (gen_packets.py)")
    seed_file = FUZZ_FILE[:-len(".bin")] + ".seed"
    seed = open(seed_file).read().strip() if os.path.exists(seed_file) else "?"
    during = {}

    def bulk():
        during["v4"] = tcp_transfer(fz.ha, fz.hb, fz.HB, 1 << 20, port=5010, timeout=300)

    th = threading.Thread(target=bulk)
    th.start()
    sent, total = replay(fz, FUZZ_FILE)
    th.join(310)
    report(f"{sent} of {total} fuzz packets replayed, seed {seed}; "
           f"counters {fz.ra.counters()}")
    assert total > 0 and sent == total, f"seed {seed}: {sent} of {total} sent whole"
    assert during.get("v4") == (1 << 20, True), f"TCP during the fuzz (seed {seed})"
    time.sleep(scaled(4))  # the fuzz's incomplete fragments expire
    # Afterwards: both families, TCP and every UDP size, byte-exact.
    assert tcp_transfer(fz.ha, fz.hb, fz.HB, 1 << 20) == (1 << 20, True), f"seed {seed}"
    assert tcp_transfer(fz.ha, fz.hb, fz.HB6, 1 << 20) == (1 << 20, True), f"seed {seed}"
    res = udp_exchange(fz.ha, fz.hb, fz.HB, [1, 1400, 1446, 1447, 1500, 2897, 4000])
    assert all(ok for ok, _ in res.values()), f"seed {seed}: {res}"
