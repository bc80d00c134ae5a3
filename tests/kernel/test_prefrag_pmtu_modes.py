"""`--mtu auto` is the tunnel's MTU for every local sender, whatever its
socket's path MTU discovery mode (IP_MTU_DISCOVER).  Sockets that ignore the
path MTU (PROBE, INTERFACE, OMIT: DNS servers use OMIT) used to get their
packets cut at the device's MTU, and the middle router dropped the ESP
fragments of the pieces still too big for the tunnel.

The gateway ra sends from its tunnel address through the tunnel, across a
path that drops fragments, in IPv4 and in IPv6 (inside the same IPv4 ESP
SAs).  Each mode is held to what its socket allows: DF sockets (and IPv6
sockets that forbid fragments) are never cut.
"""
import pytest

from nettest import capture, udp_exchange
from topology import Tunnel

ICMP, ICMPV6 = 1, 58
MODES = {"dont": 0, "want": 1, "do": 2, "probe": 3, "interface": 4, "omit": 5}
SIZES = [1000, 1418, 1419, 1472, 3000, 8000]
TUNNEL_MTU = 1446   # 1500 less ESP tunnel mode with rfc4106(gcm(aes))
FITS = 1418         # the largest UDP payload in TUNNEL_MTU
# What each socket lets through, by its own rules: DO and PROBE set DF (never
# cut: what does not fit the tunnel is refused, EMSGSIZE at send or
# "fragmentation needed"); INTERFACE sends nothing bigger than the device's
# MTU (EMSGSIZE at send) and lets the rest be cut; the others let the
# kernel cut anything.
LARGEST = {"do": FITS, "probe": FITS, "interface": 1500 - 28}


def esp_sizes(wire):
    return sorted({p.total_len for p in wire if p.proto == 50})


@pytest.fixture(scope="module")
def tunnel(modules):
    """The tunnel topology with IPv6 in it too."""
    t = Tunnel(prefix="pm", ipv6=True)
    yield t
    t.delete()


@pytest.mark.parametrize("where", ["-t raw -A OUTPUT", "-t mangle -A POSTROUTING"])
@pytest.mark.parametrize("mode", MODES)
def test_auto_is_the_tunnel_mtu_for_every_pmtu_mode(tun, mode, where, report):
    tun.ra.sh(f"iptables-legacy {where} -j PREFRAG --mtu auto")
    dropped = tun.fragments_dropped()
    with capture(tun.mid, "eth0", f"{tun.tmp}/mid.pcap") as wire:
        res = udp_exchange(tun.ra, tun.hb, tun.HB, SIZES, src_addr=tun.RA_IN,
                           pmtudisc=MODES[mode])
    assert not any(p.is_fragment for p in wire), wire
    assert tun.fragments_dropped() == dropped
    arrived = [s for s in SIZES if res[s] == (True, tun.RA_IN)]
    assert arrived == [s for s in SIZES if s <= LARGEST.get(mode, s)], res
    c = tun.ra.counters()
    assert c["ipv4_errors"] == 0
    report(f"{mode}: ESP packet sizes on the wire {esp_sizes(wire)}")


@pytest.mark.parametrize("mode", sorted(set(MODES) - {"do"}))
def test_reject_mtu_auto_is_the_tunnel_mtu_for_every_pmtu_mode(tun, mode):
    """REJECT --reject-mtu auto tells a local sender the tunnel's MTU, not
    the device's, whatever its socket's mode.  (DO sockets never send what
    does not fit: they know the MTU already.)"""
    tun.ra.sh("modprobe xt_REJECT_MTU && iptables-legacy -A OUTPUT -o eth1 -p udp "
              "-j REJECT --reject-with icmp-frag-needed")
    with capture(tun.ra, "lo", f"{tun.tmp}/lo.pcap", "icmp") as wire:
        udp_exchange(tun.ra, tun.hb, tun.HB, [1472], src_addr=tun.RA_IN,
                     pmtudisc=MODES[mode], wait=0.5)
    mtus = [p.icmp()[2] for p in wire if p.proto == ICMP and p.icmp()[:2] == (3, 4)]
    assert mtus == [TUNNEL_MTU], mtus


# ------------------------------------------------------------------ IPv6

SIZES6 = [1000, 1398, 1399, 1452, 3000, 8000]
FITS6 = 1398        # the largest UDP payload in TUNNEL_MTU, IPv6
# Only the source may fragment IPv6, and only when its socket lets it:
# DO knows the path MTU (EMSGSIZE at send), PROBE and INTERFACE send up to
# the device's MTU and forbid fragments ("packet too big" to themselves).
LARGEST6 = {"do": FITS6, "probe": FITS6, "interface": FITS6}


@pytest.mark.parametrize("where", ["-t raw -A OUTPUT", "-t mangle -A POSTROUTING"])
@pytest.mark.parametrize("mode", MODES)
def test_ipv6_auto_is_the_tunnel_mtu_for_every_pmtu_mode(tun, mode, where, report):
    tun.ra.sh(f"ip6tables-legacy {where} -j PREFRAG --mtu auto")
    dropped = tun.fragments_dropped()
    with capture(tun.mid, "eth0", f"{tun.tmp}/mid.pcap") as wire:
        res = udp_exchange(tun.ra, tun.hb, tun.HB6, SIZES6, src_addr=tun.RA_IN6,
                           pmtudisc=MODES[mode])
    tun.ra.sh("ip6tables-legacy -t raw -F; ip6tables-legacy -t mangle -F")
    assert not any(p.is_fragment for p in wire), wire
    assert tun.fragments_dropped() == dropped
    arrived = [s for s in SIZES6 if res[s] == (True, tun.RA_IN6)]
    assert arrived == [s for s in SIZES6 if s <= LARGEST6.get(mode, s)], res
    assert tun.ra.counters()["ipv6_errors"] == 0
    report(f"IPv6 {mode}: ESP packet sizes on the wire {esp_sizes(wire)}")


@pytest.mark.parametrize("mode", sorted(set(MODES) - {"do"}))
def test_ipv6_reject_mtu_auto_is_the_tunnel_mtu_for_every_pmtu_mode(tun, mode):
    tun.ra.sh("modprobe xt_REJECT_MTU && ip6tables-legacy -A OUTPUT -o eth1 -p udp "
              "-j REJECT --reject-with icmp6-pkt-too-big")
    try:
        with capture(tun.ra, "lo", f"{tun.tmp}/lo.pcap", "icmp6", v6=True) as wire:
            udp_exchange(tun.ra, tun.hb, tun.HB6, [1452], src_addr=tun.RA_IN6,
                         pmtudisc=MODES[mode], wait=0.5)
    finally:
        tun.ra.sh("ip6tables-legacy -F")
    mtus = [p.icmp()[2] for p in wire if p.proto == ICMPV6 and p.icmp()[:2] == (2, 0)]
    assert mtus == [TUNNEL_MTU], mtus
