"""Route-based VPNs: the far subnet routed to an xfrm interface (if_id) or
a VTI (key as the SAs' mark), at an MTU of 1500, on a path
that drops fragments.  `--mtu auto` there is the SA path's MTU, found as
the device finds its SA (nf_prefrag_route.c), and follows a change of
transform; without it the device lets a 1500-byte packet without DF
through and ESP is fragmented after encryption."""
import subprocess

import pytest

from nettest import NFT_PREFRAG, capture, icmp_too_big, ping
from topology import RouteBased

ESP = 50
# rfc4106(gcm(aes)) in tunnel mode over a 1500-byte link: what the SA path
# takes (ip route get through the bundle says the same).
GCM_PATH_MTU = 1446


@pytest.fixture(scope="module", params=["xfrm", "vti"])
def vpn(request, modules):
    subprocess.run(["modprobe", "-a", "xt_REJECT_MTU", "xfrm_interface", "ip_vti"], check=True)
    t = RouteBased(prefix=f"rb{request.param[0]}", kind=request.param)
    yield t
    t.delete()


@pytest.fixture
def rb(vpn, tmp_path):
    """The device at 1500 bytes, an xfrm interface's default (a VTI's is
    the underlay's less 20: above the SA path all the same)."""
    vpn.tmp = tmp_path
    for r in vpn.routers():
        r.sh(f"ip link set {vpn.dev} mtu 1500")
    yield vpn
    vpn.flush_rules()
    vpn.keys("rfc4106(gcm(aes))")


def both(t, rule):
    for r in t.routers():
        r.sh(f"iptables-legacy {rule}")


def esp(wire):
    return [p for p in wire if p.proto == ESP]


def test_the_device_lets_esp_be_fragmented(rb):
    """The problem: at the device's default MTU a 1500-byte packet without
    DF is encrypted whole and its ESP packet fragmented, then dropped."""
    assert ping(rb.ha, rb.HB, 56, count=2) == 0.0
    with capture(rb.mid, "eth0", f"{rb.tmp}/mid.pcap") as wire:
        assert ping(rb.ha, rb.HB, 1472, count=2) == 100.0
    assert any(p.is_fragment for p in wire), wire


@pytest.mark.parametrize("size", [1472, 4000])
def test_mtu_auto_is_the_sa_path_through_the_device(rb, size):
    both(rb, f"-t mangle -A POSTROUTING -o {rb.dev} -j PREFRAG --mtu auto")
    with capture(rb.mid, "eth0", f"{rb.tmp}/mid.pcap") as wire:
        assert ping(rb.ha, rb.HB, size, count=3) == 0.0
    assert esp(wire) and not any(p.is_fragment for p in wire), wire
    c = rb.ra.counters()
    assert c["ipv4_packets_fragmented"] >= 3, c


def test_df_packets_hear_the_sa_path_mtu(rb):
    """DF: refused with "fragmentation needed" carrying the SA path's MTU,
    by PREFRAG's default DF policy and by REJECT --reject-mtu auto."""
    both(rb, f"-t mangle -A POSTROUTING -o {rb.dev} -j PREFRAG --mtu auto")
    before = rb.ra.counters()
    with capture(rb.ha, "eth0", f"{rb.tmp}/ha.pcap", "icmp") as near:
        assert ping(rb.ha, rb.HB, 1472, count=1, df=True) == 100.0
    assert icmp_too_big(near) == [GCM_PATH_MTU]
    # Ours, not the device's own (xfrmi_xmit2() and vti_xmit() answer DF
    # packets above the SA path too, after every rule).
    assert rb.ra.counters()["ipv4_df_rejected"] == before["ipv4_df_rejected"] + 1
    rb.flush_rules()
    rb.ra.sh(f"iptables-legacy -A FORWARD -o {rb.dev} -j REJECT "
             "--reject-with icmp-frag-needed --reject-mtu auto")
    before = rb.ra.counters()
    with capture(rb.ha, "eth0", f"{rb.tmp}/ha2.pcap", "icmp") as near:
        assert ping(rb.ha, rb.HB, 1472, count=1, df=True) == 100.0
    assert icmp_too_big(near) == [GCM_PATH_MTU]
    assert rb.ra.counters()["ipv4_icmp_too_big_sent"] == before["ipv4_icmp_too_big_sent"] + 1
    assert ping(rb.ha, rb.HB, GCM_PATH_MTU - 28, count=1, df=True) == 0.0


def test_a_fixed_mtu_is_held_to_the_device_not_the_sa_path(rb):
    """`--mtu N` above the SA path: the device, not the rule, answers a DF
    packet between the two (its ICMP, the PMTU exception it records), as
    without us; only auto looks through to the SA."""
    both(rb, f"-t mangle -A POSTROUTING -o {rb.dev} -j PREFRAG --mtu 1500")
    before = rb.ra.counters()
    with capture(rb.ha, "eth0", f"{rb.tmp}/ha.pcap", "icmp") as near:
        assert ping(rb.ha, rb.HB, 1472, count=1, df=True) == 100.0
    assert icmp_too_big(near) == [GCM_PATH_MTU]
    after = rb.ra.counters()
    assert after["ipv4_df_rejected"] == before["ipv4_df_rejected"]
    assert after["ipv4_packets_fragmented"] == before["ipv4_packets_fragmented"]


def test_mtu_auto_follows_a_change_of_transform(rb):
    """New SAs with a larger overhead (AES-CBC with HMAC-SHA256): the MTU
    auto gives follows at once."""
    both(rb, f"-t mangle -A POSTROUTING -o {rb.dev} -j PREFRAG --mtu auto")
    rb.keys("cbc", spis=(0x300, 0x400))
    with capture(rb.ha, "eth0", f"{rb.tmp}/ha.pcap", "icmp") as near:
        assert ping(rb.ha, rb.HB, 1472, count=1, df=True) == 100.0
    [mtu] = icmp_too_big(near)
    # ((1500 - 20 - 8 - 16 (IV) - 16 (ICV)) & ~15) - 2: what doctor computes too
    assert mtu == 1438, mtu
    with capture(rb.mid, "eth0", f"{rb.tmp}/mid.pcap") as wire:
        assert ping(rb.ha, rb.HB, 1472, count=3) == 0.0
        assert ping(rb.ha, rb.HB, mtu - 28, count=1, df=True) == 0.0
    assert esp(wire) and not any(p.is_fragment for p in wire)
    assert max(p.total_len for p in esp(wire)) <= 1500


def test_an_mtu_set_on_the_device_is_kept(rb):
    """Set by hand below the SA path, the device's MTU is what auto gives
    (the smaller of the two); the kernel then fragments before the device
    even without a rule, for packets without DF."""
    for r in rb.routers():
        r.sh(f"ip link set {rb.dev} mtu 1400")
    both(rb, f"-t mangle -A POSTROUTING -o {rb.dev} -j PREFRAG --mtu auto")
    with capture(rb.ha, "eth0", f"{rb.tmp}/ha.pcap", "icmp") as near:
        assert ping(rb.ha, rb.HB, 1472, count=1, df=True) == 100.0
    assert icmp_too_big(near) == [1400]
    assert ping(rb.ha, rb.HB, 1472, count=2) == 0.0


def test_no_sa_yet_leaves_the_packet_to_the_device(rb):
    """With the outbound SA gone (an acquire would be pending), auto is the
    device's MTU, and the device drops the packet as it would without us."""
    both(rb, f"-t mangle -A POSTROUTING -o {rb.dev} -j PREFRAG --mtu auto")
    rb.ra.sh("ip xfrm state deleteall src 10.0.2.1 dst 10.0.3.1")
    before = rb.ra.counters()
    assert ping(rb.ha, rb.HB, 1472, count=2) == 100.0
    assert ping(rb.ha, rb.HB, 56, count=1) == 100.0
    after = rb.ra.counters()
    assert after["ipv4_packets_fragmented"] == before["ipv4_packets_fragmented"]
    assert after["ipv4_errors"] == before["ipv4_errors"]


def test_nft_prefrag_in_an_inet_table_on_the_device(rb):
    text = ("table inet vpn {\n\tchain out {\n"
            "\t\ttype filter hook postrouting priority mangle; policy accept;\n"
            f"\t\toifname \"{rb.dev}\" prefrag mtu auto\n\t}}\n}}\n")
    for r in rb.routers():
        r.run([NFT_PREFRAG, "-f", "-"], input=text)
    with capture(rb.mid, "eth0", f"{rb.tmp}/mid.pcap") as wire:
        assert ping(rb.ha, rb.HB, 1472, count=3) == 0.0
    assert esp(wire) and not any(p.is_fragment for p in wire)
