"""Transport-mode SAs reuse the packet's own IP header: pre-fragmenting would
make ESP packets still marked as fragments.  PREFRAG must leave them whole,
count them, and corrupt nothing."""
import pytest

from nettest import capture, udp_exchange
from topology import Tunnel


@pytest.fixture(scope="module")
def transport(modules):
    # A path that passes fragments: the kernel's own post-encryption
    # fragmentation is what carries this traffic.
    t = Tunnel(prefix="tr", mode="transport", drop_fragments=False)
    yield t
    t.delete()


def test_transport_mode_sa_is_left_whole_and_counted(transport, tmp_path):
    t = transport
    t.ra.sh("iptables-legacy -t raw -A OUTPUT -j PREFRAG --mtu auto")
    try:
        with capture(t.mid, "eth0", f"{tmp_path}/mid.pcap") as wire:
            res = udp_exchange(t.ra, t.rb, t.RB_OUT, [1000, 3000, 8000],
                               src_addr=t.RA_OUT)
        assert res == {1000: (True, t.RA_OUT), 3000: (True, t.RA_OUT),
                       8000: (True, t.RA_OUT)}
        c = t.ra.counters()
        assert c["ipv4_transport_mode_skipped"] == 2
        assert c["ipv4_packets_fragmented"] == 0
        # What crossed is ESP fragmented after encryption: no fragment
        # carries an ESP header of its own beyond the first.
        esp = [p for p in wire if p.proto == 50]
        assert esp and sum(1 for p in esp if p.offset == 0) == 3
    finally:
        t.ra.sh("iptables-legacy -t raw -F")
