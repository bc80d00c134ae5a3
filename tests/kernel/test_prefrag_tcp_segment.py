"""PREFRAG --tcp segment: TCP too big for the tunnel is re-segmented to fit,
never fragmented, on real ESP traffic through a path that drops fragments.

PMTU discovery is broken in this whole module: the hosts drop "fragmentation
needed" and "packet too big", as where a firewall eats ICMP.  Their TCP
sends full-size DF segments (1500 bytes) into a tunnel whose MTU is 1446, and
nothing but the gateways' rule can get the data across."""
import os
import socket
import struct

import pytest

from nettest import TOP, capture, tcp_transfer
from topology import Tunnel

ESP, TCP = 50, 6
PATH_MTU = 1500
TUNNEL_MTU = 1446  # after ESP (tunnel mode, rfc4106(gcm(aes)), 16-byte ICV)
RULE = "-t mangle -A PREROUTING -i eth0 -p tcp -j PREFRAG --mtu auto --tcp segment"


@pytest.fixture(scope="module")
def tunnel(modules):
    t = Tunnel(prefix="ts", ipv6=True)
    for h in (t.ha, t.hb):
        h.sh("iptables-legacy -A INPUT -p icmp --icmp-type fragmentation-needed -j DROP && "
             "ip6tables-legacy -A INPUT -p icmpv6 --icmpv6-type packet-too-big -j DROP")
    yield t
    t.delete()


@pytest.fixture(autouse=True)
def offloads_back(tunnel):
    """After each test (conftest's tun flushes the rules): the offloads,
    GRO and qdiscs the tests change, as they were."""
    yield
    for h in (tunnel.ha, tunnel.hb):
        h.sh("ip -6 route flush cache; ethtool -K eth0 tso on gso on; true")
    for r in tunnel.routers():
        r.sh("ethtool -K eth0 gro off; ethtool -K eth1 gro off; "
             "tc qdisc del dev eth0 root 2>/dev/null; true")


def segment_rules(tun):
    for r in tun.routers():
        r.sh(f"iptables-legacy {RULE} && ip6tables-legacy {RULE}")


def counter_delta(ns, before):
    after = ns.counters()
    return {k: after[k] - before.get(k, 0) for k in after}


def crosses_segmented(tun, dst, nbytes=2 << 20):
    """A byte-exact transfer to @dst; no fragment on the path, every ESP
    packet fits it.  Returns gateway A's counters for it."""
    before = tun.ra.counters()
    with capture(tun.mid, "eth0", f"{tun.tmp}/mid.pcap", "esp or ip[6:2] & 0x3fff != 0") as wire:
        assert tcp_transfer(tun.ha, tun.hb, dst, nbytes, timeout=120) == (nbytes, True)
    no_fragments_and_fit(wire)
    return counter_delta(tun.ra, before)


def no_fragments_and_fit(wire):
    esp = [p for p in wire if p.proto == ESP]
    assert esp, "the data crossed the tunnel"
    assert not any(p.is_fragment for p in wire), "no IP fragment on the path"
    assert max(p.total_len for p in esp) <= PATH_MTU


def test_without_a_rule_df_tcp_is_black_holed(tun):
    """The problem: the sender never learns the tunnel's MTU."""
    n, intact = tcp_transfer(tun.ha, tun.hb, tun.HB, 200_000, timeout=8)
    assert not intact and n < 200_000


# How the oversized TCP reaches the gateway: aggregates from the sender's
# TSO/GSO; single segments from a sender without TSO, merged by the
# gateway's GRO or not.
SENDERS = {
    "sender-gso": ("tso on gso on", "gro off"),
    "single-segments-gro": ("tso off gso off", "gro on"),
    "single-segments": ("tso off gso off", "gro off"),
}


@pytest.mark.parametrize("sender", SENDERS)
def test_df_tcp_crosses_segmented_byte_exact(tun, sender):
    offload, gro = SENDERS[sender]
    tun.ha.sh(f"ethtool -K eth0 {offload}")
    tun.ra.sh(f"ethtool -K eth0 {gro}")
    segment_rules(tun)
    c = crosses_segmented(tun, tun.HB)
    assert c["ipv4_tcp_segmented"] > 0
    assert c["ipv4_packets_fragmented"] == 0 and c["ipv4_df_rejected"] == 0
    assert c["ipv4_errors"] == 0


def test_segments_keep_df_and_fit_the_tunnel(tun):
    """At the receiver: every segment has DF, fits the tunnel's MTU, and no
    ICMP went back to the sender."""
    segment_rules(tun)
    tun.rb.sh("ethtool -K eth1 gro off")  # decrypted packets reach hb as sent
    with capture(tun.hb, "eth0", f"{tun.tmp}/hb.pcap", "tcp") as inner, \
            capture(tun.ha, "eth0", f"{tun.tmp}/ha.pcap", "icmp") as icmp:
        assert tcp_transfer(tun.ha, tun.hb, tun.HB, 1 << 20) == (1 << 20, True)
    data = [p for p in inner if p.src == tun.HA and p.total_len > 100]
    assert data and all(p.df and not p.is_fragment for p in data)
    assert max(p.total_len for p in data) <= TUNNEL_MTU
    assert not icmp


def test_ipv6_tcp_crosses_segmented_byte_exact(tun):
    """Forwarded IPv6 TCP is re-segmented too (no fragment is made, so no
    rule of RFC 8200 is bent): without the rule it would get "packet too
    big", which the broken sender never sees."""
    segment_rules(tun)
    c = crosses_segmented(tun, tun.HB6)
    assert c["ipv6_tcp_segmented"] > 0
    assert c["ipv6_too_big_rejected"] == 0 and c["ipv6_errors"] == 0


def tcp_options(seg):
    doff = (seg[12] >> 4) * 4
    return seg[20:doff]


def has_sack(seg):
    opts, i = tcp_options(seg), 0
    while i < len(opts):
        if opts[i] == 0:
            return False
        if opts[i] == 1:
            i += 1
            continue
        if opts[i] == 5:
            return True
        i += max(opts[i + 1], 2) if i + 1 < len(opts) else len(opts)
    return False


def test_loss_sack_and_retransmissions_stay_byte_exact(tun):
    """netem drops decrypted segments before the receiver: it asks again
    with SACK, retransmissions are re-segmented as well."""
    segment_rules(tun)
    tun.rb.sh("modprobe sch_netem 2>/dev/null; tc qdisc add dev eth0 root netem loss 3%")
    with capture(tun.hb, "eth0", f"{tun.tmp}/hb.pcap", "tcp") as seen:
        assert tcp_transfer(tun.ha, tun.hb, tun.HB, 2 << 20, timeout=180) == (2 << 20, True)
    acks = [p for p in seen if p.src == tun.HB]
    assert any(has_sack(p.payload) for p in acks), "the receiver used SACK"


# ------------------------------------------------ one segment, built by hand

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def tcp_checksum_ok(src, dst, seg):
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, TCP, len(seg))
    return csum(pseudo + seg) == 0


FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 1, 2, 4, 8, 16, 32, 64, 128
# NOP NOP timestamps, NOP NOP SACK with two blocks: 32 bytes.
OPTIONS = (b"\x01\x01\x08\x0a" + struct.pack("!II", 0x11223344, 0x55667788)
           + b"\x01\x01\x05\x12" + struct.pack("!IIII", 1000, 2000, 3000, 4000))


def send_segment(tun, seq, flags, urg_ptr, payload, sport, df=True):
    """One 1500-byte TCP segment from host A (DF unless told), ECT(0), IP ID
    0x1234, built by hand."""
    doff = (20 + len(OPTIONS)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, 5999, seq, 0xABCDEF01, doff << 4, flags,
                      4096, 0, urg_ptr) + OPTIONS
    pseudo = (socket.inet_aton(tun.HA) + socket.inet_aton(tun.HB)
              + struct.pack("!BBH", 0, TCP, len(hdr) + len(payload)))
    c = csum(pseudo + hdr + payload)
    seg = hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0x02, 20 + len(seg), 0x1234,
                     0x4000 if df else 0, 64, TCP, 0,
                     socket.inet_aton(tun.HA), socket.inet_aton(tun.HB))
    with tun.ha.entered():
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s.sendto(ip + seg, (tun.HB, 0))
        s.close()


def segmentation_keeps_cwr(ns):
    """Whether this kernel segments with AccECN's rules (SKB_GSO_TCP_ACCECN,
    whose feature ethtool lists where the kernel has it): CWR then stays
    on every segment, as the module asks for there (kernel/compat.h)."""
    return "tx-tcp-accecn-segmentation" in ns.sh("ethtool -k lo")


@pytest.mark.parametrize("urg_ptr", [0, 1400], ids=["plain", "urgent"])
def test_single_segment_fields_across_wraparound(tun, urg_ptr):
    """Sequence numbers wrap inside the packet; PSH on the last segment,
    CWR on the first (all, with AccECN), ECE and ECN on all, options on all, checksums right,
    an IP ID each, and the urgent pointer at the same byte or cleared."""
    segment_rules(tun)
    tun.rb.sh("ethtool -K eth1 gro off")
    payload = bytes((i * 7) & 0xFF for i in range(1500 - 20 - 20 - len(OPTIONS)))
    seq = 0xFFFFFD00
    flags = ACK | PSH | ECE | CWR | (URG if urg_ptr else 0)
    sport = 40000 + urg_ptr
    before = tun.ra.counters()
    with capture(tun.hb, "eth0", f"{tun.tmp}/hb.pcap", f"tcp src port {sport}", snaplen=0) as got:
        send_segment(tun, seq, flags, urg_ptr, payload, sport)
    segs = sorted(got, key=lambda p: (struct.unpack("!I", p.payload[4:8])[0] - seq) & 0xFFFFFFFF)
    assert len(segs) == 2, segs
    assert counter_delta(tun.ra, before)["ipv4_tcp_segmented"] == 1
    first, last = segs
    offset = 0
    for p in segs:
        t = p.payload
        assert p.df and not p.is_fragment and p.header_ok and p.tos & 3 == 2
        assert p.total_len <= TUNNEL_MTU
        assert tcp_checksum_ok(p.src, p.dst, t)
        assert tcp_options(t) == OPTIONS
        assert struct.unpack("!I", t[4:8])[0] == (seq + offset) & 0xFFFFFFFF
        offset += len(t) - 20 - len(OPTIONS)
    assert struct.unpack("!I", last.payload[4:8])[0] < 0x1000, "wrapped"
    assert b"".join(p.payload[20 + len(OPTIONS):] for p in segs) == payload
    assert first.id != last.id
    fl = [p.payload[13] for p in segs]
    assert [bool(f & PSH) for f in fl] == [False, True]
    # CWR as the kernel's own GRO and GSO leave it: on the first segment
    # only, or, since AccECN made CWR part of a counter, on every one.
    assert [bool(f & CWR) for f in fl] == [True, segmentation_keeps_cwr(tun.ra)]
    assert all(f & ECE and f & ACK for f in fl)
    first_len = len(first.payload) - 20 - len(OPTIONS)
    ptrs = [(bool(f & URG), struct.unpack("!H", p.payload[18:20])[0]) for f, p in zip(fl, segs)]
    if urg_ptr:
        assert ptrs == [(True, urg_ptr), (True, urg_ptr - first_len)]
    else:
        assert ptrs == [(False, 0), (False, 0)]


@pytest.mark.parametrize("urg_ptr", [0, 1400], ids=["plain", "urgent"])
def test_segments_without_df_get_ids_of_their_own(tun, urg_ptr):
    """Without DF the segments may be fragmented further on: each needs an
    ID the sender will not use next (its next packets count up from its
    own), whichever way it was cut (relabelled, or cut here for URG)."""
    segment_rules(tun)
    payload = bytes(1500 - 20 - 20 - len(OPTIONS))
    sport = 40200 + urg_ptr
    with capture(tun.hb, "eth0", f"{tun.tmp}/hb.pcap", f"tcp src port {sport}") as got:
        send_segment(tun, 1, ACK | (URG if urg_ptr else 0), urg_ptr, payload, sport, df=False)
    assert len(got) == 2 and not any(p.df or p.is_fragment for p in got), got
    ids = {p.id for p in got}
    assert len(ids) == 2 and not ids & {0x1234, 0x1235}, got


def test_tcp_segment_with_snat_and_conntrack(tun):
    """SNAT rewrites the segments before the hook; the flow stays one
    conntrack entry and the data arrives whole."""
    segment_rules(tun)
    tun.ra.sh("iptables-legacy -t nat -A POSTROUTING -s 10.0.1.2 -d 10.0.4.0/24 "
              "-j SNAT --to-source 10.0.1.200")
    assert tcp_transfer(tun.ha, tun.hb, tun.HB, 1 << 20) == (1 << 20, True)
    assert "10.0.1.200" in tun.ra.sh("conntrack -L 2>/dev/null || cat /proc/net/nf_conntrack")


def test_nft_inet_table_segments_both_families(tun):
    """The same, written in nft syntax: one inet rule for IPv4 and IPv6."""
    ruleset = f"{tun.tmp}/seg.nft"
    with open(ruleset, "w") as f:
        f.write("table inet vpn {\n\tchain prerouting {\n"
                "\t\ttype filter hook prerouting priority mangle; policy accept;\n"
                '\t\tiifname "eth0" meta l4proto tcp counter prefrag mtu auto tcp segment\n'
                "\t}\n}\n")
    for r in tun.routers():
        r.run([os.path.join(TOP, "build", "nft", "nft-prefrag"), "-f", ruleset])
    assert "prefrag mtu auto tcp segment" in tun.ra.sh("nft list ruleset")
    c4 = crosses_segmented(tun, tun.HB, 1 << 20)
    c6 = crosses_segmented(tun, tun.HB6, 1 << 20)
    assert c4["ipv4_tcp_segmented"] > 0 and c6["ipv6_tcp_segmented"] > 0


# ---------------------------------------- what one packet can make us send

def send_in_fragments(tun, payload, piece, sport):
    """One TCP segment from host A (no DF), sent as IP fragments of @piece
    bytes of data each: gateway A reassembles it (conntrack is on there)."""
    hdr = struct.pack("!HHIIBBHHH", sport, 5999, 1, 1, 5 << 4, ACK | PSH, 4096, 0, 0)
    pseudo = (socket.inet_aton(tun.HA) + socket.inet_aton(tun.HB)
              + struct.pack("!BBH", 0, TCP, len(hdr) + len(payload)))
    seg = hdr[:16] + struct.pack("!H", csum(pseudo + hdr + payload)) + hdr[18:] + payload
    with tun.ha.entered():
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    with s:
        for off in range(0, len(seg), piece):
            more = 0x2000 if off + piece < len(seg) else 0
            data = seg[off:off + piece]
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(data), 0x4321,
                             more | off // 8, 64, TCP, 0,
                             socket.inet_aton(tun.HA), socket.inet_aton(tun.HB))
            s.sendto(ip + data, (tun.HB, 0))


def test_tiny_fragments_do_not_shrink_the_segments(tun):
    """A sender cuts one TCP segment into 24-byte fragments.  Reassembly
    records 44 bytes as the largest fragment received; re-segmenting makes
    new packets, not fragments, so that must not become the MSS (it made
    one ESP packet per 4 bytes of data): the segment leaves in as many ESP
    packets as the tunnel's MTU needs, the kernel's own count."""
    segment_rules(tun)
    tun.ra.sh("iptables-legacy -t raw -A PREROUTING -m conntrack --ctstate INVALID")
    payload = bytes((i * 11) & 0xFF for i in range(4000))
    before = tun.ra.counters()
    with capture(tun.mid, "eth0", f"{tun.tmp}/mid.pcap", "esp") as wire, \
            capture(tun.hb, "eth0", f"{tun.tmp}/hb.pcap", "tcp src port 40100",
                    snaplen=0) as got:
        send_in_fragments(tun, payload, 24, 40100)
    esp = [p for p in wire if p.src == tun.RA_OUT]
    # 4040 bytes of IP in segments of at most 1446: 3.
    assert len(esp) == 3, esp
    assert b"".join(p.payload[20:] for p in got) == payload
    assert counter_delta(tun.ra, before)["ipv4_tcp_segmented"] == 1


def test_below_the_mss_floor_it_is_fragmented(tun):
    """A rule MTU that would leave less than TCP_MIN_MSS (88) bytes per
    segment: the packet is fragmented, as without --tcp segment, never cut
    into smaller segments."""
    for r in tun.routers():
        r.sh("iptables-legacy -t mangle -A PREROUTING -i eth0 -p tcp "
             "-j PREFRAG --mtu 120 --tcp segment")
    tun.ra.sh("iptables-legacy -t raw -A PREROUTING -m conntrack --ctstate INVALID")
    payload = bytes(range(256)) * 4
    before = tun.ra.counters()
    with capture(tun.hb, "eth0", f"{tun.tmp}/hb.pcap", "tcp src port 40101 or ip[6:2] & 0x1fff != 0",
                 snaplen=0) as got:
        send_in_fragments(tun, payload, 1400, 40101)
    delta = counter_delta(tun.ra, before)
    assert delta["ipv4_tcp_segmented"] == 0 and delta["ipv4_packets_fragmented"] == 1, delta
    # 1044 bytes of TCP in fragments of at most 120: 96 bytes of data each.
    assert len([p for p in got if p.is_fragment]) == 11, got
