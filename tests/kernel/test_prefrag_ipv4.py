"""PREFRAG on IPv4, on real ESP traffic through a path that drops fragments."""
import pytest

from nettest import capture, ping, tcp_transfer, udp_exchange

ESP = 50
ICMP = 1


def prefrag(router, rule, ipt="iptables-legacy"):
    router.sh(f"{ipt} {rule}")


def both(tun, rule, ipt="iptables-legacy"):
    """Each direction needs its own rule: ra for a->b, rb for b->a."""
    for r in tun.routers():
        prefrag(r, rule, ipt)


def esp_on_wire(packets):
    return [p for p in packets if p.proto == ESP]


def test_without_prefrag_esp_is_fragmented_and_lost(tun):
    """The problem itself: the test must be able to see it."""
    before = tun.fragments_dropped()
    with capture(tun.mid, "eth0", f"{tun.tmp}/mid.pcap") as wire:
        loss = ping(tun.ha, tun.HB, 1472, count=3)
    assert loss == 100.0
    assert tun.fragments_dropped() > before
    esp = esp_on_wire(wire)
    assert any(p.total_len > 1400 for p in esp)
    assert any(p.is_fragment for p in wire), "ESP was fragmented after encryption"


@pytest.mark.parametrize("ipt", ["iptables-legacy", "iptables-nft"])
def test_prefrag_auto_crosses_fragment_dropping_path(tun, ipt):
    both(tun, "-t mangle -A POSTROUTING -o eth1 -j PREFRAG --mtu auto", ipt)
    with capture(tun.mid, "eth0", f"{tun.tmp}/mid.pcap") as wire:
        loss = ping(tun.ha, tun.HB, 1472, count=5)
    assert loss == 0.0
    esp = esp_on_wire(wire)
    assert len(esp) >= 20, "each 1500-byte ping and reply is two ESP packets"
    assert not any(p.is_fragment for p in wire)
    assert all(p.total_len <= 1500 for p in esp)
    c = tun.ra.counters()
    assert c["ipv4_packets_fragmented"] >= 5
    assert c["ipv4_fragments_sent"] >= 10
    if ipt == "iptables-nft":
        tun.ra.sh("iptables-nft -t mangle -F")
        tun.rb.sh("iptables-nft -t mangle -F")


def test_prefrag_explicit_mtu(tun):
    both(tun, "-t mangle -A POSTROUTING -o eth1 -j PREFRAG --mtu 1376")
    with capture(tun.mid, "eth0", f"{tun.tmp}/mid.pcap") as wire:
        loss = ping(tun.ha, tun.HB, 1472, count=3)
    assert loss == 0.0
    esp = esp_on_wire(wire)
    # ESP tunnel mode (gcm, 8-byte IV, 16-byte ICV) adds 54-57 bytes to the
    # inner packet, which was cut to at most 1376.
    assert esp and max(p.total_len for p in esp) <= 1376 + 57
    assert max(p.total_len for p in esp) >= 1376 + 40
    assert not any(p.is_fragment for p in wire)


def test_df_reject_sends_frag_needed_with_mtu(tun):
    prefrag(tun.ra, "-t mangle -A POSTROUTING -o eth1 -j PREFRAG --mtu 1376")
    with capture(tun.ra, "eth0", f"{tun.tmp}/ra.pcap") as wire:
        loss = ping(tun.ha, tun.HB, 1400, count=1, df=True)
    assert loss == 100.0
    icmp = [p.icmp() for p in wire if p.proto == ICMP and p.src == tun.RA_IN]
    assert (3, 4, 1376) in icmp
    assert tun.ra.counters()["ipv4_df_rejected"] >= 1
    # The sender learnt the MTU.
    assert "mtu 1376" in tun.ha.sh(f"ip route get {tun.HB}")


def test_df_reject_after_snat_reaches_the_original_sender(tun):
    """The hook runs after SNAT: the ICMP is addressed to the translated
    source, and conntrack must take it back to the real sender."""
    prefrag(tun.ra, "-t mangle -A POSTROUTING -o eth1 -j PREFRAG --mtu 1376")
    tun.ra.sh("iptables-legacy -t nat -A POSTROUTING -s 10.0.1.2 -d 10.0.4.0/24 "
              "-j SNAT --to-source 10.0.1.200")
    with capture(tun.ha, "eth0", f"{tun.tmp}/ha.pcap", "icmp") as near:
        assert ping(tun.ha, tun.HB, 1400, count=1, df=True) == 100.0
    assert [p.icmp() for p in near if p.icmp()[0] == 3] == [(3, 4, 1376)]
    assert "mtu 1376" in tun.ha.sh(f"ip route get {tun.HB}")


def test_df_keep_leaves_packet_to_kernel(tun):
    both(tun, "-t mangle -A POSTROUTING -o eth1 -j PREFRAG --mtu 1376 --df keep")
    with capture(tun.mid, "eth0", f"{tun.tmp}/mid.pcap") as wire:
        loss = ping(tun.ha, tun.HB, 1400, count=2, df=True)
    assert loss == 0.0
    # Encrypted whole: 1428 + ESP overhead, one packet, still fits 1500.
    assert max(p.total_len for p in esp_on_wire(wire)) > 1428


def test_df_clear_fragments_df_packets(tun):
    both(tun, "-t mangle -A POSTROUTING -o eth1 -j PREFRAG --mtu 1376 --df clear")
    before = tun.ra.counters()["ipv4_df_cleared"]
    with capture(tun.mid, "eth0", f"{tun.tmp}/mid.pcap") as wire, \
            capture(tun.ha, "eth0", f"{tun.tmp}/ha.pcap", "icmp") as near, \
            capture(tun.hb, "eth0", f"{tun.tmp}/hb.pcap", "icmp") as far:
        loss = ping(tun.ha, tun.HB, 1400, count=3, df=True)
    assert loss == 0.0
    assert max(p.total_len for p in esp_on_wire(wire)) <= 1376 + 57
    assert tun.ra.counters()["ipv4_df_cleared"] - before == 3
    # DF cleared, and each datagram cut under a fresh ID of its own (the
    # README's promise): not the sender's, and no two alike.
    sent = {p.id for p in near if p.src == tun.HA}
    frags = [p for p in far if p.src == tun.HA and p.is_fragment]
    assert len(frags) == 6 and not any(p.df for p in frags), frags
    first = [p.id for p in frags if p.offset == 0]
    assert len(set(first)) == 3 and not sent & set(first), (sent, frags)


def test_df_clear_in_prerouting_for_forwarded_traffic(tun):
    """ip_forward() refuses DF packets too big for the tunnel before FORWARD:
    in PREROUTING, PREFRAG lets them through and decides at the end."""
    assert ping(tun.ha, tun.HB, 1472, count=1, df=True) == 100.0
    tun.flush_rules()
    for r in tun.routers():
        r.sh("iptables-legacy -t mangle -A PREROUTING -i eth0 -j PREFRAG --mtu auto --df clear")
    with capture(tun.ha, "eth0", f"{tun.tmp}/ha.pcap") as near:
        loss = ping(tun.ha, tun.HB, 1472, count=3, df=True)
    assert loss == 0.0
    # The replies came back as fragments (DF cleared, fresh IDs), not ICMP.
    assert not any(p.proto == ICMP and p.icmp()[0] == 3 for p in near)
    assert any(p.is_fragment and not p.df for p in near)


def frag_needed_mtus(tun):
    """The MTUs of the "fragmentation needed" that gateway A sends host A
    for one 1472-byte DF ping."""
    with capture(tun.ra, "eth0", f"{tun.tmp}/ra.pcap") as wire:
        ping(tun.ha, tun.HB, 1472, count=1, df=True)
    return [p.icmp()[2] for p in wire if p.proto == ICMP and p.icmp()[:2] == (3, 4)]


def test_prerouting_reject_uses_tunnel_mtu(tun):
    # Host A ignores the answers, so that it sends its next ping too (a
    # learnt path MTU would refuse it locally).  (conftest flushes the
    # gateways' rules after each test, not the hosts'.)
    ignore = "INPUT -p icmp --icmp-type fragmentation-needed -j DROP"
    tun.ha.sh(f"iptables-legacy -A {ignore}")
    try:
        # The kernel's own answer (ip_forward(), the xfrm bundle's MTU):
        # 1500 less ESP in tunnel mode with AES-GCM.  PREFRAG's must be the
        # same.
        assert frag_needed_mtus(tun) == [1446]
        prefrag(tun.ra, "-t mangle -A PREROUTING -i eth0 -j PREFRAG --mtu auto")
        before = tun.ra.counters()["ipv4_df_rejected"]
        assert frag_needed_mtus(tun) == [1446]
        assert tun.ra.counters()["ipv4_df_rejected"] - before == 1
    finally:
        tun.ha.sh(f"iptables-legacy -D {ignore}")
    # Small DF packets keep DF and go through untouched.
    assert ping(tun.ha, tun.HB, 1000, count=2, df=True) == 0.0


SIZES = sorted({1, 7, 8, 100, 548, 1000, 1380, 1400, 1418, 1419, 1420, 1421,
                1440, 1472, 1473, 1480, 2000, 2944, 2945, 3000, 4000, 5555,
                8000, 8972})


def test_udp_sizes_intact_with_conntrack_and_snat(tun):
    """Fragments must never pass a NAT hook: it would rewrite their first
    payload bytes as ports.  Cut after SNAT, they arrive byte-for-byte."""
    both(tun, "-t mangle -A POSTROUTING -o eth1 -j PREFRAG --mtu auto")
    tun.ra.sh("iptables-legacy -t nat -A POSTROUTING -s 10.0.1.2 -d 10.0.4.0/24 "
              "-j SNAT --to-source 10.0.1.200")
    with capture(tun.mid, "eth0", f"{tun.tmp}/mid.pcap") as wire:
        res = udp_exchange(tun.ha, tun.hb, tun.HB, SIZES)
    bad = {s: r for s, r in res.items() if r != (True, "10.0.1.200")}
    assert not bad
    assert not any(p.is_fragment for p in wire)
    assert "10.0.1.200" in tun.ra.sh("conntrack -L 2>/dev/null || cat /proc/net/nf_conntrack")


def test_udp_sizes_from_router_tunnel_address_raw_output(tun):
    """A gateway's own traffic into the tunnel (a VPN client's tunnel
    address), decided in raw OUTPUT."""
    tun.ra.sh("iptables-legacy -t raw -A OUTPUT -j PREFRAG --mtu auto")
    with capture(tun.mid, "eth0", f"{tun.tmp}/mid.pcap") as wire:
        res = udp_exchange(tun.ra, tun.hb, tun.HB, SIZES, src_addr=tun.RA_IN)
    bad = {s: r for s, r in res.items() if r != (True, tun.RA_IN)}
    assert not bad
    assert not any(p.is_fragment for p in wire)
    assert tun.ra.counters()["ipv4_packets_fragmented"] >= sum(s > 1418 for s in SIZES)


def test_tcp_bulk_with_gso_and_gro(tun):
    """Non-DF TCP aggregates (GSO from the sender, GRO at the router) are
    segmented, then cut; the data arrives intact."""
    both(tun, "-t mangle -A POSTROUTING -o eth1 -j PREFRAG --mtu auto")
    tun.ha.sysctl("net.ipv4.ip_no_pmtu_disc", 1)
    tun.hb.sysctl("net.ipv4.ip_no_pmtu_disc", 1)
    for r in tun.routers():
        r.run("ethtool -K eth0 gro on; ethtool -K eth1 gro on", check=False)
    size = 4 << 20
    received = tcp_transfer(tun.ha, tun.hb, tun.HB, size, timeout=120)
    tun.ha.sysctl("net.ipv4.ip_no_pmtu_disc", 0)
    tun.hb.sysctl("net.ipv4.ip_no_pmtu_disc", 0)
    assert received == (size, True)
    c = tun.ra.counters()
    assert c["ipv4_gso_segmented"] > 0
    assert c["ipv4_packets_fragmented"] > 0
    assert c["ipv4_errors"] == 0


def test_bad_options_clear_errors(tun, kmsg):
    r = tun.ra.run("iptables-legacy -t mangle -A POSTROUTING -j PREFRAG --mtu 40",
                   check=False)
    assert r.returncode != 0 and "from 68 to 65535" in r.stderr
    r = tun.ra.run("iptables-legacy -t mangle -A POSTROUTING -j PREFRAG --df maybe",
                   check=False)
    assert r.returncode != 0 and "reject, keep or clear" in r.stderr
    r = tun.ra.run("iptables-legacy -t mangle -A INPUT -j PREFRAG", check=False)
    assert r.returncode != 0
    r = tun.ra.run("iptables-legacy -t nat -A POSTROUTING -j PREFRAG", check=False)
    assert r.returncode != 0
    log = kmsg()
    assert "only usable from" in log or "INPUT" in log
    assert "only valid in the raw, mangle and filter tables, not in nat" in log
    # Nothing was half-added.
    assert "PREFRAG" not in tun.ra.sh("iptables-legacy-save")


def test_save_restore_round_trip(tun):
    rules = ["-A POSTROUTING -o eth1 -j PREFRAG --mtu auto",
             "-A POSTROUTING -o eth1 -j PREFRAG --mtu 1376",
             "-A FORWARD -j PREFRAG --mtu 1376 --df clear",
             "-A PREROUTING -i eth0 -j PREFRAG --mtu auto --df keep"]
    for rule in rules:
        tun.ra.sh(f"iptables-legacy -t mangle {rule}")
    saved = tun.ra.sh("iptables-legacy-save -t mangle")
    for rule in rules:
        assert rule in saved
    tun.ra.sh("iptables-legacy -t mangle -F")
    tun.ra.run("iptables-legacy-restore", input=saved)
    assert [l for l in tun.ra.sh("iptables-legacy-save -t mangle").splitlines()
            if l.startswith("-A")] == [l for l in saved.splitlines() if l.startswith("-A")]
