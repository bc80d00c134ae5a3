"""PREFRAG for IPv6: only the source may fragment an IPv6 packet.  Packets
this host sends are cut with a Fragment header; a forwarded packet that
does not fit gets "packet too big" with the MTU, and its sender cuts it.

    h1 ---- r ---- h2     (dual stack, no IPsec)
"""
import socket
import struct

from nettest import capture, icmp_too_big, tcp_transfer, udp_exchange

def test_ipv6_prefrag_local_traffic_is_fragmented_at_the_source(net):
    sizes = [1000, 1400, 3000, 8000]
    net.h1.sh("ip6tables-legacy -t mangle -A POSTROUTING -o eth0 -j PREFRAG --mtu 1300")
    with capture(net.h1, "eth0", f"{net.tmp}/h1.pcap", "ip6", v6=True) as wire:
        res = udp_exchange(net.h1, net.h2, net.H2_6, sizes)
    assert all(ok for ok, _ in res.values()), res
    udp = [p for p in wire if p.src == net.H1_6 and p.proto == 17]
    assert max(p.total_len for p in udp) <= 1300
    assert any(p.is_fragment and p.offset == 0 for p in udp)
    c = net.h1.counters()
    assert c["ipv6_packets_fragmented"] == 3 and c["ipv6_errors"] == 0

def test_ipv6_prefrag_forwarded_traffic_gets_packet_too_big(net):
    """A router must not fragment IPv6: the sender hears the MTU and
    fragments itself."""
    net.r.sh("ip6tables-legacy -t mangle -A FORWARD -j PREFRAG --mtu 1300")
    with capture(net.h1, "eth0", f"{net.tmp}/h1.pcap", "ip6", v6=True) as wire:
        res = udp_exchange(net.h1, net.h2, net.H2_6, [1400, 1401], gap=0.2)
    assert res[1400][0] is False and res[1401][0] is True
    assert icmp_too_big(wire, v6=True) == [1300]
    assert any(p.is_fragment for p in wire if p.src == net.H1_6 and p.proto == 17)
    assert net.r.counters()["ipv6_too_big_rejected"] == 1

def test_ipv6_prefrag_refuses_df_policy(net, kmsg):
    """The plugin refuses --df for IPv6 with its reason, before the kernel
    sees the rule (the kernel's own refusal: test_checkentry.py)."""
    r = net.r.run("ip6tables-legacy -t mangle -A POSTROUTING -j PREFRAG --df clear",
                  check=False)
    assert r.returncode == 2
    assert "PREFRAG: --df is for IPv4 only: IPv6 packets have no DF bit" in r.stderr
    assert "xt_PREFRAG" not in kmsg() and "--df" not in kmsg()
    assert "PREFRAG" not in net.r.sh("ip6tables-legacy-save -t mangle")

def assert_cut_no_larger_than_sent(net, res, sent, got):
    """h1's 3000-byte datagram arrived, sent in fragments of at most 1280
    bytes, and left r in fragments no larger than those."""
    assert res[3000][0] is True, res
    out = [p for p in sent if p.src == net.H1_6 and p.is_fragment]
    arrived = [p for p in got if p.src == net.H1_6 and p.is_fragment]
    assert out and arrived, (sent, got)
    assert max(p.total_len for p in out) <= 1280
    assert max(p.total_len for p in arrived) <= max(p.total_len for p in out), arrived


def test_reassembled_forwarded_datagrams_leave_in_pieces_no_larger(net):
    """h1 sends UDP in fragments of at most 1280 bytes; conntrack on r
    reassembles them, and PREFRAG (MTU 1400) must cut them again no larger
    than they came, as ip6_fragment() does: the sender's path, not our
    rule, said how large a fragment may be."""
    net.r.sh("ip6tables-legacy -t raw -A PREROUTING -m conntrack --ctstate INVALID && "
             "ip6tables-legacy -t mangle -A POSTROUTING -o eth1 -j PREFRAG --mtu 1400")
    net.h1.sh(f"ip -6 route replace {net.H2_6}/128 via {net.R1_6} dev eth0 mtu 1280")
    try:
        with capture(net.h1, "eth0", f"{net.tmp}/h1.pcap", "ip6", v6=True) as sent, \
                capture(net.h2, "eth0", f"{net.tmp}/h2.pcap", "ip6", v6=True) as got:
            res = udp_exchange(net.h1, net.h2, net.H2_6, [3000])
    finally:
        net.h1.sh(f"ip -6 route del {net.H2_6}/128")
    assert_cut_no_larger_than_sent(net, res, sent, got)


INNER6 = "fd00:9::2"


def test_reassembled_datagrams_into_a_tunnel_leave_in_pieces_no_larger(net):
    """The same through an ip6ip6 tunnel device, whose headroom is more
    than the received fragments have: ip6_fragment() cannot send them on
    as they came (its fast path) and cuts anew, at the largest fragment
    received, not at the rule's 1400."""
    net.r.sh(f"""
ip6tables-legacy -t raw -A PREROUTING -m conntrack --ctstate INVALID
ip6tables-legacy -t mangle -A POSTROUTING -o tnl -j PREFRAG --mtu 1400
ip -6 tunnel add tnl mode ip6ip6 local {net.R2_6} remote {net.H2_6} dev eth1
ip link set tnl up
ip -6 route add {INNER6}/128 dev tnl
""")
    net.h2.sh(f"""
ip -6 tunnel add tnl mode ip6ip6 local {net.H2_6} remote {net.R2_6} dev eth0
ip link set tnl up
ip -6 addr add {INNER6}/128 dev tnl nodad
""")
    net.h1.sh(f"ip -6 route replace {INNER6}/128 via {net.R1_6} dev eth0 mtu 1280")
    try:
        before = net.r.counters()
        with capture(net.h1, "eth0", f"{net.tmp}/h1.pcap", "ip6", v6=True) as sent, \
                capture(net.h2, "tnl", f"{net.tmp}/h2.pcap", "ip6", v6=True) as got:
            res = udp_exchange(net.h1, net.h2, INNER6, [3000])
        after = net.r.counters()
    finally:
        net.h1.sh(f"ip -6 route del {INNER6}/128")
        for ns in (net.r, net.h2):
            ns.sh("ip -6 tunnel del tnl")
    assert_cut_no_larger_than_sent(net, res, sent, got)
    assert after["ipv6_packets_fragmented"] == before["ipv6_packets_fragmented"] + 1

def forge_packet_too_big(ns, gateway, victim, mtu):
    """From @ns, a "packet too big" to @gateway about an echo request that
    @gateway supposedly sent to @victim: ICMPv6 errors about ICMPv6 need
    no socket to teach the gateway a PMTU exception (icmpv6_err())."""
    echo = struct.pack("!BBHHH", 128, 0, 0, 1, 1) + bytes(1392)
    inner = struct.pack("!IHBB16s16s", 6 << 28, len(echo), 58, 64,
                        socket.inet_pton(socket.AF_INET6, gateway),
                        socket.inet_pton(socket.AF_INET6, victim)) + echo
    with ns.entered():
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        try:    # the kernel fills in an ICMPv6 raw socket's checksum
            s.sendto(struct.pack("!BBHI", 2, 0, 0, mtu) + inner[:1232], (gateway, 0))
        finally:
            s.close()

def test_ipv6_mtu_auto_follows_the_mtu_the_kernel_enforces_after_packet_too_big(net):
    """A "packet too big" addressed to the gateway (anyone can forge one)
    teaches it a PMTU exception for the destination.  ip6_forward() ignores
    it, but ip6_finish_output() does not (ip6_skb_dst_mtu() is dst_mtu()):
    the kernel refuses a forwarded packet above it all the same.  So `auto`
    must give that MTU, as it does, or re-segmented TCP would be sized for
    an MTU the kernel then refuses; h1 here never hears "packet too big"."""
    net.h1.sh("ip6tables-legacy -A INPUT -p icmpv6 --icmpv6-type packet-too-big -j DROP")
    net.r.sh("ip6tables-legacy -t mangle -A PREROUTING -i eth0 -p tcp "
             "-j PREFRAG --mtu auto --tcp segment")
    forge_packet_too_big(net.h2, net.R2_6, net.H2_6, 1280)
    learnt = net.r.sh(f"ip -6 route get {net.H2_6}")
    assert "mtu 1280" in learnt, learnt    # the forgery did teach the route
    # Segments on the wire, as a NIC without TSO sends them (veth passes
    # GSO packets whole).
    net.r.sh("ethtool -K eth1 tso off gso off")
    before = net.r.counters()
    try:
        with capture(net.h2, "eth0", f"{net.tmp}/h2.pcap", "ip6", v6=True) as got:
            assert tcp_transfer(net.h1, net.h2, net.H2_6, 200_000, timeout=30) == \
                (200_000, True)
    finally:
        net.h1.sh("ip6tables-legacy -F INPUT")
        net.r.sh("ethtool -K eth1 tso on gso on")
    tcp = [p for p in got if p.src == net.H1_6 and p.proto == 6]
    assert tcp and not any(p.is_fragment for p in got), got
    assert max(p.total_len for p in tcp) <= 1280
    c = {k: v - before[k] for k, v in net.r.counters().items()}
    assert c["ipv6_tcp_segmented"] > 0 and c["ipv6_too_big_rejected"] == 0, c
