"""`--mtu auto` is the tunnel's MTU for every local sender, whatever its
socket's path MTU discovery mode (IP_MTU_DISCOVER).  Sockets that ignore the
path MTU (PROBE, INTERFACE, OMIT: DNS servers use OMIT) used to get their
packets cut at the device's MTU, and the middle router dropped the ESP
fragments of the pieces still too big for the tunnel.

The gateway ra sends from its tunnel address through the tunnel, across a
path that drops fragments.
"""
import pytest

from nettest import capture, udp_exchange

ICMP = 1
MODES = {"dont": 0, "want": 1, "do": 2, "probe": 3, "interface": 4, "omit": 5}
# Sockets that set DF on what they send; the others let the kernel fragment.
DF_MODES = {"do", "probe"}
SIZES = [1000, 1418, 1419, 1472, 3000, 8000]
TUNNEL_MTU = 1446   # 1500 less ESP tunnel mode with rfc4106(gcm(aes))
FITS = 1418         # the largest UDP payload in TUNNEL_MTU


def esp_sizes(wire):
    return sorted({p.total_len for p in wire if p.proto == 50})


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
    if mode in DF_MODES:
        # Never cut: what fits arrives, the rest is refused (EMSGSIZE at
        # send, or "fragmentation needed" with the tunnel MTU).
        assert arrived == [s for s in SIZES if s <= FITS], res
    else:
        assert arrived == SIZES, res
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
