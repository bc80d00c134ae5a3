"""CLEARDF: a host with broken path MTU discovery sends DF packets too big
for the tunnel; the gateway clears DF (fresh IDs), PREFRAG cuts them."""
import pytest

from nettest import capture, ping, tcp_transfer, udp_interleaved

ICMP = 1


def test_broken_pmtud_host_gets_through_with_cleardf_and_prefrag(tun):
    # Without rules the kernel refuses them (and the host ignores the ICMP).
    assert ping(tun.ha, tun.HB, 1472, count=2, df=True) == 100.0
    tun.flush_rules()
    for r in tun.routers():
        r.sh("iptables-legacy -t mangle -A PREROUTING -i eth0 -j CLEARDF --min-len 1400 && "
             "iptables-legacy -t mangle -A POSTROUTING -o eth1 -j PREFRAG --mtu auto")
    with capture(tun.hb, "eth0", f"{tun.tmp}/hb.pcap") as far:
        loss = ping(tun.ha, tun.HB, 1472, count=3, df=True)
        small = ping(tun.ha, tun.HB, 100, count=2, df=True)
    assert loss == 0.0 and small == 0.0
    requests = [p for p in far if p.proto == ICMP and p.src == tun.HA]
    frags = [p for p in requests if p.is_fragment]
    assert frags and not any(p.df for p in frags)
    # Fresh IDs: not the sender's 0, and a different one per datagram.
    first = [p.id for p in frags if p.offset == 0]
    assert len(first) == 3 and len(set(first)) == 3 and 0 not in first
    # Small packets keep DF (--min-len): path MTU discovery still works.
    assert any(p.df and p.total_len == 128 for p in requests)
    c = tun.ra.counters()
    assert c["ipv4_df_cleared"] >= 3 and c["ipv4_packets_fragmented"] >= 3


def test_cleardf_random_id_renews_non_df_ids(tun):
    tun.ra.sh("iptables-legacy -t mangle -A PREROUTING -i eth0 -j CLEARDF --random-id")
    before = tun.ra.counters()["ipv4_ids_renewed"]
    with capture(tun.ha, "eth0", f"{tun.tmp}/ha.pcap", "icmp") as near, \
            capture(tun.hb, "eth0", f"{tun.tmp}/hb.pcap", "icmp") as far:
        assert ping(tun.ha, tun.HB, 100, count=4, df=False) == 0.0
    sent = [p for p in near if p.src == tun.HA]
    arrived = [p for p in far if p.src == tun.HA]
    assert len(sent) == len(arrived) == 4
    # Each request arrives with an ID it did not leave with, and a valid
    # header checksum; the renewed IDs differ from each other.
    assert all(a.id != s.id for s, a in zip(sent, arrived)), (sent, arrived)
    assert len({p.id for p in arrived}) == 4
    assert all(p.header_ok and not p.df for p in arrived)
    assert tun.ra.counters()["ipv4_ids_renewed"] - before == 4


def test_cleardf_leaves_fragments_alone(tun):
    """A fragment's ID joins it to its siblings: CLEARDF --random-id on
    forwarded fragments (here the replies, cut by rb) must not touch them."""
    for r in tun.routers():
        r.sh("iptables-legacy -t mangle -A POSTROUTING -o eth1 -j PREFRAG --mtu auto")
    tun.ra.sh("iptables-legacy -t mangle -A POSTROUTING -p icmp -j CLEARDF --random-id")
    with capture(tun.ha, "eth0", f"{tun.tmp}/ha.pcap", "icmp") as near:
        assert ping(tun.ha, tun.HB, 1472, count=2) == 0.0
    replies = [p for p in near if p.src == tun.HB and p.is_fragment]
    assert len(replies) == 4 and len({p.id for p in replies}) == 2


def test_cleardf_only_in_raw_and_mangle(tun, kmsg):
    r = tun.ra.run("iptables-legacy -t filter -A FORWARD -j CLEARDF", check=False)
    assert r.returncode != 0
    assert "only valid in the raw and mangle tables, not in filter" in kmsg()


@pytest.fixture
def reordering(tun):
    """rb delivers to hb out of order, as multipath and busy links do: the
    fragments of different datagrams interleave at the receiver."""
    with open("/proc/sys/net/core/netdev_max_backlog") as f:
        backlog = f.read()
    with open("/proc/sys/net/core/netdev_max_backlog", "w") as f:
        f.write("10000")
    tun.rb.sh("tc qdisc add dev eth0 root netem delay 4ms reorder 50%")
    yield
    tun.rb.sh("tc qdisc del dev eth0 root")
    with open("/proc/sys/net/core/netdev_max_backlog", "w") as f:
        f.write(backlog)


def interleave_from_unconnected_senders(tun):
    """Four unconnected DF senders on ha (ID 0 on every datagram) send 1472
    bytes each in turn; returns (intact, lost)."""
    return udp_interleaved(tun.ha, tun.hb, tun.HB, senders=4, rounds=60, size=1472)


# The native rewrites people try instead, as nft rules in PREROUTING.
NATIVE_REWRITES = {
    "ip frag-off only": "",
    "+ ip id set numgen inc mod 65536": " ip id set numgen inc mod 65536",
    "+ ip id set meta random": " ip id set meta random",
}


def test_id_collisions_unconnected_senders(tun, reordering, report):
    tun.ra.sh("iptables-legacy -t mangle -A PREROUTING -i eth0 -j CLEARDF --min-len 1400 && "
              "iptables-legacy -t mangle -A POSTROUTING -o eth1 -j PREFRAG --mtu auto")
    with capture(tun.hb, "eth0", f"{tun.tmp}/hb.pcap", "udp") as far:
        intact, lost = interleave_from_unconnected_senders(tun)
    assert (intact, lost) == (240, 0)
    first = [p.id for p in far if p.offset == 0 and p.mf]
    assert len(first) == 240 and len(set(first)) == 240
    report(f"CLEARDF: {intact} of 240 datagrams intact")

    # The same traffic through nft's own rewrites: measured, not asserted.
    tun.ra.sh("iptables-legacy -t mangle -F PREROUTING")
    for name, set_id in NATIVE_REWRITES.items():
        loaded = tun.ra.run(["nft", "-f", "-"], check=False, input=(
            "table ip native {\n chain pre {\n"
            "  type filter hook prerouting priority -300;\n"
            f"  ip frag-off & 0x4000 != 0 ip length >= 1400 ip frag-off set ip frag-off & 0xbfff{set_id}\n"
            " }\n}\n"))
        if loaded.returncode:  # the debug kernel has no nft_numgen
            report(f"native nft, {name}: not in this kernel ({loaded.stderr.splitlines()[0]})")
            continue
        with capture(tun.hb, "eth0", f"{tun.tmp}/native.pcap", "ip[6:2] & 0x3fff = 0x2000") as far:
            intact, lost = interleave_from_unconnected_senders(tun)
        ids = {p.id for p in far}
        report(f"native nft, {name}: {intact} of 240 intact, {lost} lost; "
               f"{len(ids)} distinct IDs on first fragments")
        tun.ra.sh("nft delete table ip native")


def test_gso_tcp_through_cleardf_unique_ids(tun):
    """TCP with DF from a host whose PMTU discovery is broken, GRO on at the
    gateway: DF aggregates (constant-ID GSO) are cleared, every segment
    leaves with its own ID, nothing is dropped."""
    tun.ha.sh("iptables-legacy -A INPUT -p icmp --icmp-type fragmentation-needed -j DROP")
    try:
        for r in tun.routers():
            r.run("ethtool -K eth0 gro on; ethtool -K eth1 gro on", check=False)
        # Broken PMTUD without our rules: the connection stalls.
        assert tcp_transfer(tun.ha, tun.hb, tun.HB, 256 << 10, timeout=4)[0] < 256 << 10
        tun.flush_rules()
        tun.ra.sh("iptables-legacy -t mangle -A PREROUTING -i eth0 -j CLEARDF --min-len 1400 && "
                  "iptables-legacy -t mangle -A POSTROUTING -o eth1 -j PREFRAG --mtu auto")
        size = 1 << 20
        with capture(tun.hb, "eth0", f"{tun.tmp}/hb.pcap", f"src host {tun.HA}") as far:
            received = tcp_transfer(tun.ha, tun.hb, tun.HB, size, port=5004, timeout=120)
    finally:
        tun.ha.sh("iptables-legacy -F INPUT")
    assert received == (size, True)
    cut = [p for p in far if p.is_fragment and p.offset == 0]
    assert len(cut) > 500 and not any(p.df for p in cut)
    ids = [p.id for p in cut]
    assert len(set(ids)) == len(ids), "two segments left with the same IP ID"
    c = tun.ra.counters()
    assert c["ipv4_df_cleared"] > 0 and c["ipv4_gso_segmented"] > 0
    assert c["ipv4_errors"] == 0
