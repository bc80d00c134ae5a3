"""PREFRAG for IPv6: only the source may fragment an IPv6 packet.  Packets
this host sends are cut with a Fragment header; a forwarded packet that
does not fit gets "packet too big" with the MTU, and its sender cuts it.

    h1 ---- r ---- h2     (dual stack, no IPsec)
"""
from nettest import capture, icmp_too_big, udp_exchange


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
    assert res[3000][0] is True, res
    out = [p for p in sent if p.src == net.H1_6 and p.is_fragment]
    arrived = [p for p in got if p.src == net.H1_6 and p.is_fragment]
    assert out and arrived, (sent, got)
    assert max(p.total_len for p in out) <= 1280
    assert max(p.total_len for p in arrived) <= max(p.total_len for p in out), arrived
