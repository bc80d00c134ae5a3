"""ESP between IPv6 gateways, on a path that drops IPv6 fragments: IPv4 and
IPv6 inside, policy-based and through an xfrm interface.  `--mtu auto` is
the SA path's MTU with the IPv6 outer header (40 bytes, not 20)."""
import subprocess

import pytest

from nettest import capture, icmp_too_big, ping
from topology import RouteBased, Tunnel

ESP = 50
# rfc4106(gcm(aes)) in tunnel mode, IPv6 outer header, 1500-byte link:
# ((1500 - 40 - 8 - 8 - 16) & ~3) - 2, as xfrm_state_mtu() computes it.
GCM_PATH_MTU6 = 1426


def esp6(ns, path):
    return capture(ns, "eth0", path, "ip6", v6=True)


@pytest.fixture(scope="module")
def tunnel6(modules):
    t = Tunnel(prefix="u6", ipv6=True, underlay6=True)
    yield t
    t.delete()


@pytest.fixture
def t6(tunnel6, tmp_path):
    tunnel6.tmp = tmp_path
    yield tunnel6
    tunnel6.flush_rules()


def test_without_a_rule_esp_over_ipv6_is_fragmented_and_lost(t6):
    assert ping(t6.ha, t6.HB, 56, count=2) == 0.0
    with esp6(t6.mid, f"{t6.tmp}/mid.pcap") as wire:
        assert ping(t6.ha, t6.HB, 1472, count=2) == 100.0
    assert any(p.is_fragment for p in wire), wire


@pytest.mark.parametrize("size", [1472, 4000])
def test_ipv4_inside_crosses_with_mtu_auto(t6, size):
    for r in t6.routers():
        r.sh("iptables-legacy -t mangle -A POSTROUTING -m policy --dir out --pol ipsec "
             "-j PREFRAG --mtu auto")
    with esp6(t6.mid, f"{t6.tmp}/mid.pcap") as wire:
        assert ping(t6.ha, t6.HB, size, count=3) == 0.0
    esp = [p for p in wire if p.proto == ESP]
    assert esp and not any(p.is_fragment for p in wire), wire
    assert max(p.total_len for p in esp) <= 1500


def test_ipv4_df_hears_the_ipv6_sa_path_mtu(t6):
    for r in t6.routers():
        r.sh("iptables-legacy -t mangle -A POSTROUTING -m policy --dir out --pol ipsec "
             "-j PREFRAG --mtu auto")
    with capture(t6.ha, "eth0", f"{t6.tmp}/ha.pcap", "icmp") as near:
        assert ping(t6.ha, t6.HB, 1472, count=1, df=True) == 100.0
    assert icmp_too_big(near) == [GCM_PATH_MTU6]


def test_ipv6_inside_crosses(t6):
    """IPv6 inside: the gateway may not fragment a forwarded packet; each
    end hears "packet too big" with the SA path's MTU once (one request and
    one reply lost) and fragments itself, and no ESP fragment crosses."""
    for r in t6.routers():
        r.sh("ip6tables-legacy -t mangle -A POSTROUTING -m policy --dir out --pol ipsec "
             "-j PREFRAG --mtu auto")
    with esp6(t6.mid, f"{t6.tmp}/mid.pcap") as wire:
        assert ping(t6.ha, t6.HB6, 1452, count=4) <= 50.0
        assert ping(t6.ha, t6.HB6, 1452, count=3) == 0.0
    esp = [p for p in wire if p.proto == ESP]
    assert esp and not any(p.is_fragment for p in wire), wire


@pytest.mark.parametrize("kind", ["xfrm", "vti"])
def test_route_based_over_ipv6(modules, tmp_path, kind):
    subprocess.run(["modprobe", "-a", "xfrm_interface", "ip6_vti"], check=True)
    t = RouteBased(prefix=f"r6{kind[0]}", kind=kind, underlay6=True)
    try:
        with esp6(t.mid, f"{tmp_path}/mid0.pcap") as wire:
            assert ping(t.ha, t.HB, 1472, count=2) == 100.0
        assert any(p.is_fragment for p in wire)
        for r in t.routers():
            r.sh(f"iptables-legacy -t mangle -A POSTROUTING -o {t.dev} -j PREFRAG --mtu auto")
        with esp6(t.mid, f"{tmp_path}/mid.pcap") as wire:
            assert ping(t.ha, t.HB, 1472, count=3) == 0.0
        assert not any(p.is_fragment for p in wire)
        # A VTI over IPv6 takes the underlay's MTU less 40 bytes: ip_forward()
        # refuses DF packets above that itself.  Below it, auto answers.
        dev_mtu = int(t.ra.sh(f"ip -o link show {t.dev}").split(" mtu ")[1].split()[0])
        with capture(t.ha, "eth0", f"{tmp_path}/ha.pcap", "icmp") as near:
            assert ping(t.ha, t.HB, min(dev_mtu, 1500) - 28, count=1, df=True) == 100.0
        assert icmp_too_big(near) == [GCM_PATH_MTU6]
    finally:
        t.delete()
