"""Two sites bridged with gretap over IPsec: hosts at MTU 1500, full-size
frames make GRE packets bigger than the path MTU.

    ha -- [br0] ra == GRE in ESP == mid == rb [br0] -- hb

Transport mode: the kernel fragments the ESP packet after encryption, which
works only where the path passes fragments, and PREFRAG cannot help (it
must leave such packets alone).  Tunnel mode between the gateways plus
PREFRAG on the GRE packets crosses a path that drops fragments.
"""
import pytest

from nettest import capture, ping
from topology import Bridge

ESP = 50
PREFRAG_GRE = "iptables-legacy -t mangle -A POSTROUTING -o eth1 -p gre -j PREFRAG --mtu auto"


def full_size_ping(b, count=3):
    """`ping -M do -s 1472` across the bridge: the biggest frame ha sends."""
    return ping(b.ha, b.HB, 1472, count=count, df=True)


@pytest.fixture(scope="module")
def transport_bridge(modules):
    b = Bridge(prefix="bt", mode="transport", drop_fragments=False)
    assert ping(b.ha, b.HB, 56, count=2) == 0.0  # learn the MACs
    yield b
    b.delete()


@pytest.fixture(scope="module")
def tunnel_bridge(modules):
    b = Bridge(prefix="bn", mode="tunnel", drop_fragments=True)
    assert ping(b.ha, b.HB, 56, count=2) == 0.0
    yield b
    b.delete()


def test_transport_mode_needs_a_path_that_passes_fragments(transport_bridge, tmp_path):
    b = transport_bridge
    b.drop_fragments(False)
    with capture(b.mid, "eth0", f"{tmp_path}/mid.pcap") as wire:
        assert full_size_ping(b) == 0.0
    # Carried by fragmenting the ESP packet after encryption.
    assert any(p.proto == ESP and p.is_fragment for p in wire)
    b.drop_fragments(True)
    try:
        assert full_size_ping(b) == 100.0
    finally:
        b.drop_fragments(False)


def test_prefrag_leaves_transport_mode_alone(transport_bridge, tmp_path):
    b = transport_bridge
    for r in b.routers():
        r.sh(PREFRAG_GRE)
    try:
        # A path that passes fragments still works: nothing was cut.
        assert full_size_ping(b) == 0.0
        # One that drops them cannot be rescued in transport mode.
        b.drop_fragments(True)
        assert full_size_ping(b) == 100.0
        c = b.ra.counters()
        assert c["ipv4_transport_mode_skipped"] >= 6
        assert c["ipv4_packets_fragmented"] == 0 and c["ipv4_errors"] == 0
    finally:
        b.drop_fragments(False)
        b.flush_rules()


def test_tunnel_mode_with_prefrag_crosses_fragment_dropping_path(tunnel_bridge, tmp_path):
    b = tunnel_bridge
    assert full_size_ping(b, count=2) == 100.0
    dropped = b.fragments_dropped()
    assert dropped > 0
    for r in b.routers():
        r.sh(PREFRAG_GRE)
    try:
        with capture(b.mid, "eth0", f"{tmp_path}/mid.pcap") as wire:
            assert full_size_ping(b, count=5) == 0.0
            assert ping(b.ha, b.HB, 3000, count=2) == 0.0  # hosts' own fragments too
        assert b.fragments_dropped() == dropped
        esp = [p for p in wire if p.proto == ESP]
        assert esp and not any(p.is_fragment for p in esp)
        assert max(p.total_len for p in esp) <= 1500
        c = b.ra.counters()
        assert c["ipv4_packets_fragmented"] >= 5 and c["ipv4_errors"] == 0
    finally:
        b.flush_rules()
