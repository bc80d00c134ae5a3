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

from nettest import capture, icmp_too_big, udp_exchange
from topology import Tunnel

MODES = {"dont": 0, "want": 1, "do": 2, "probe": 3, "interface": 4, "omit": 5}
TUNNEL_MTU = 1446   # 1500 less ESP tunnel mode with rfc4106(gcm(aes))


class Family:
    def __init__(self, name, iptables, src, dst, header, reject, largest):
        self.name, self.iptables, self.src, self.dst = name, iptables, src, dst
        self.fits = TUNNEL_MTU - header            # the largest UDP payload
        self.device_fits = 1500 - header
        self.sizes = [1000, self.fits, self.fits + 1, self.device_fits, 3000, 8000]
        self.reject = reject
        self.largest = {mode: getattr(self, attr) for mode, attr in largest.items()}


# What each socket lets through, by its own rules.  IPv4: DO and PROBE set
# DF (never cut: what does not fit the tunnel is refused, EMSGSIZE at send
# or "fragmentation needed"); INTERFACE sends nothing bigger than the
# device's MTU (EMSGSIZE) and lets the rest be cut.  IPv6: only the source
# may fragment, and only when its socket lets it: DO knows the path MTU,
# PROBE and INTERFACE send up to the device's MTU and forbid fragments
# ("packet too big" to themselves).  The others let anything be cut.
IPV4 = Family("ipv4", "iptables-legacy", Tunnel.RA_IN, Tunnel.HB, 28,
              "icmp-frag-needed", {"do": "fits", "probe": "fits", "interface": "device_fits"})
IPV6 = Family("ipv6", "ip6tables-legacy", Tunnel.RA_IN6, Tunnel.HB6, 48,
              "icmp6-pkt-too-big", {"do": "fits", "probe": "fits", "interface": "fits"})
FAMILIES = [pytest.param(IPV4, id="ipv4"), pytest.param(IPV6, id="ipv6")]


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
@pytest.mark.parametrize("fam", FAMILIES)
def test_auto_is_the_tunnel_mtu_for_every_pmtu_mode(tun, fam, mode, where, report):
    tun.ra.sh(f"{fam.iptables} {where} -j PREFRAG --mtu auto")
    dropped = tun.fragments_dropped()
    with capture(tun.mid, "eth0", f"{tun.tmp}/mid.pcap") as wire:
        res = udp_exchange(tun.ra, tun.hb, fam.dst, fam.sizes, src_addr=fam.src,
                           pmtudisc=MODES[mode])
    assert not any(p.is_fragment for p in wire), wire
    assert tun.fragments_dropped() == dropped
    arrived = [s for s in fam.sizes if res[s] == (True, fam.src)]
    assert arrived == [s for s in fam.sizes if s <= fam.largest.get(mode, s)], res
    assert tun.ra.counters()[f"{fam.name}_errors"] == 0
    report(f"{fam.name} {mode}: ESP packet sizes on the wire {esp_sizes(wire)}")


@pytest.mark.parametrize("mode", sorted(set(MODES) - {"do"}))
@pytest.mark.parametrize("fam", FAMILIES)
def test_reject_mtu_auto_is_the_tunnel_mtu_for_every_pmtu_mode(tun, fam, mode):
    """REJECT --reject-mtu auto tells a local sender the tunnel's MTU, not
    the device's, whatever its socket's mode.  (DO sockets never send what
    does not fit: they know the MTU already.)"""
    tun.ra.sh(f"modprobe xt_REJECT_MTU && {fam.iptables} -A OUTPUT -o eth1 -p udp "
              f"-j REJECT --reject-with {fam.reject}")
    v6 = fam is IPV6
    with capture(tun.ra, "lo", f"{tun.tmp}/lo.pcap", "icmp6" if v6 else "icmp", v6=v6) as wire:
        udp_exchange(tun.ra, tun.hb, fam.dst, [fam.device_fits], src_addr=fam.src,
                     pmtudisc=MODES[mode], wait=0.5)
    assert icmp_too_big(wire, v6=v6) == [TUNNEL_MTU]
