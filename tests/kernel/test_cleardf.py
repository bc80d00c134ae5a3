"""CLEARDF: a host with broken path MTU discovery sends DF packets too big
for the tunnel; the gateway clears DF (fresh IDs), PREFRAG cuts them."""
from nettest import capture, ping

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
    with capture(tun.hb, "eth0", f"{tun.tmp}/hb.pcap") as far:
        ping(tun.ha, tun.HB, 100, count=2, df=False)
    assert tun.ra.counters()["ipv4_ids_renewed"] >= 2
    assert all(p.header_ok for p in far)


def test_cleardf_only_in_raw_and_mangle(tun, kmsg):
    r = tun.ra.run("iptables-legacy -t filter -A FORWARD -j CLEARDF", check=False)
    assert r.returncode != 0
    assert "only valid in the raw and mangle tables, not in filter" in kmsg()
