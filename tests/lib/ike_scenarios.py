"""What a gateway operator checks on an IKE-keyed tunnel, whichever daemon
keys it (tests/kernel/test_ike_strongswan.py, test_ike_libreswan.py): the
README's rules, and the traffic that must cross a path dropping every IP
fragment with them."""
import re
import threading
import time

from nettest import NFT_PREFRAG, capture, ping, scaled, tcp_transfer, udp_exchange

ESP = 50
# README, the strongSwan and libreswan recipes: the static rules.
IPTABLES_RULE = "-t mangle -A POSTROUTING -m policy --dir out --pol ipsec -j PREFRAG --mtu auto"
NFT_RULES = """table inet vpn {
 chain postrouting {
  type filter hook postrouting priority mangle; policy accept;
  rt ipsec exists counter prefrag mtu auto
 }
}
"""
# Around every edge: the tunnel's MTU (1446 with AES-GCM), the link's,
# and datagrams of several fragments.
SIZES = [1300, 1400, 1420, 1438, 1446, 1447, 1472, 2000, 4000, 8000]


def add_policy_rules(tun, rule=IPTABLES_RULE):
    """Each gateway needs the rule: ra for a->b, rb for the replies."""
    for r in tun.routers():
        r.sh(f"iptables {rule}")


def esp_bytes(ns):
    """Bytes the ESP SAs in @ns's kernel carried, in and out."""
    return sum(int(n) for n in re.findall(r"(\d+)\s*\(bytes\)", ns.sh("ip -s xfrm state list")))


def esp_spis(ns):
    """The SPIs of the ESP SAs in @ns's kernel."""
    return sorted(line.split()[3] for line in ns.sh("ip xfrm state").splitlines()
                  if line.startswith("\tproto esp spi"))


def assert_no_esp_fragments(wire):
    assert any(p.proto == ESP for p in wire)
    assert not any(p.is_fragment for p in wire), "an ESP packet was fragmented"
    assert all(p.total_len <= 1500 for p in wire if p.proto == ESP)


def assert_sizes_cross(tun):
    """Every size in SIZES crosses, and no ESP packet on the path is a
    fragment."""
    with capture(tun.mid, "eth0", f"{tun.tmp}/mid.pcap") as wire:
        assert ping(tun.ha, tun.HB, 1472, count=3) == 0.0
        got = udp_exchange(tun.ha, tun.hb, tun.HB, SIZES)
    assert {s: ok for s, (ok, _) in got.items()} == {s: True for s in SIZES}
    assert_no_esp_fragments(wire)


def full_size_packets_cross_only_with_prefrag(tun):
    assert "mode tunnel" in tun.ra.sh("ip xfrm state")
    assert ping(tun.ha, tun.HB, 1472, count=2) == 100.0
    add_policy_rules(tun)
    assert_sizes_cross(tun)


def nft_rule_with_rt_ipsec_exists(tun):
    for r in tun.routers():
        r.run([NFT_PREFRAG, "-f", "-"], input=NFT_RULES)
    assert_sizes_cross(tun)
    assert "prefrag mtu auto" in tun.ra.sh("nft list chain inet vpn postrouting")


def broken_pmtud_df_tcp_is_byte_exact(tun):
    """A sender that never learns the MTU (ICMP dropped before it) with DF on
    every segment: CLEARDF on the way in, PREFRAG on the way out."""
    tun.ha.sh("iptables -A INPUT -p icmp --icmp-type fragmentation-needed -j DROP")
    try:
        for r in tun.routers():
            r.sh("iptables -t mangle -A PREROUTING -i eth0 -j CLEARDF --min-len 1400")
        add_policy_rules(tun)
        with capture(tun.mid, "eth0", f"{tun.tmp}/mid.pcap",
                     "esp or ip[6:2] & 0x3fff != 0") as wire:
            assert tcp_transfer(tun.ha, tun.hb, tun.HB, 1 << 20, timeout=120) == (1 << 20, True)
    finally:
        tun.ha.sh("iptables -F INPUT")
    assert_no_esp_fragments(wire)


def rekey_during_a_transfer(tun, rekey, rule=IPTABLES_RULE):
    """@rekey (the daemon's own command) in the middle of a 3 MiB transfer:
    byte-exact, new SPIs, and the old SA and the new one both carried it."""
    add_policy_rules(tun, rule)
    before = esp_spis(tun.ra)
    result = {}
    size = 3 << 20
    # Paced (4 Mbit/s: about 6 s), so that the rekey falls mid-transfer.
    # (With netem's rate instead, one SA alone carried it on 6.12.)
    tun.ha.sh("tc qdisc add dev eth0 root tbf rate 4mbit burst 32kb latency 400ms")
    transfer = threading.Thread(target=lambda: result.update(
        got=tcp_transfer(tun.ha, tun.hb, tun.HB, size, port=5020, timeout=240)))
    try:
        with capture(tun.mid, "eth0", f"{tun.tmp}/mid.pcap",
                     "esp or ip[6:2] & 0x3fff != 0") as wire:
            started = esp_bytes(tun.ra)
            transfer.start()
            # Rekey once a sixth of the transfer has crossed: mid-transfer
            # however fast this kernel is.
            deadline = time.monotonic() + scaled(60)
            while esp_bytes(tun.ra) - started < size // 6:
                assert time.monotonic() < deadline, "the transfer did not start"
                time.sleep(0.1)
            rekey()
            transfer.join()
    finally:
        tun.ha.sh("tc qdisc del dev eth0 root")
    assert result["got"] == (size, True)
    after = esp_spis(tun.ra)
    assert after and set(after) != set(before), (before, after)
    assert_no_esp_fragments(wire)
    outbound = {p.esp()[0] for p in wire if p.proto == ESP and p.src == tun.RA_OUT}
    assert len(outbound) == 2, f"the old SA and the new one carried it: {outbound}"
