"""PREFRAG on tunnels keyed by strongSwan (IKEv2, PSK, ESP tunnel mode), as
gateway operators run it: charon on each gateway, the rule matching what
is about to be encrypted, through a path that drops IP fragments.  The
README's strongSwan recipes are these rules."""
import re
import socket
import subprocess
import threading
import time

import pytest

from ike import (ROAD_WARRIOR_CONF, ROAD_WARRIOR_GATEWAY_CONF, Charons, configure_gateways,
                 strongswan_tunnel)
from ike_scenarios import (NFT_RULES, add_policy_rules, assert_no_esp_fragments,
                           assert_sizes_cross, broken_pmtud_df_tcp_is_byte_exact,
                           full_size_packets_cross_only_with_prefrag,
                           nft_rule_with_rt_ipsec_exists, rekey_during_a_transfer)
from nettest import NFT_PREFRAG, capture, ping, scaled, tcp_transfer, udp_exchange
from topology import Bridge, RouteBased, Tunnel


@pytest.fixture(scope="module")
def swan(modules):
    t = Tunnel(prefix="sw", keying="ike")
    try:
        with strongswan_tunnel(t) as t.daemons:
            yield t
    finally:
        t.delete()


@pytest.fixture
def sw(swan, tmp_path):
    swan.tmp = tmp_path
    yield swan
    swan.flush_rules()  # iptables and nft alike


def child_spis(daemon):
    """The SPIs of the CHILD_SAs charon has installed ("in  c1a2b3c4, ..."
    and "out c5d6e7f8, ..." lines of swanctl --list-sas)."""
    out = daemon.swanctl("--list-sas")
    return sorted(line.split()[1].rstrip(",") for line in out.splitlines()
                  if line.split()[:1] in (["in"], ["out"]))


def test_full_size_packets_cross_only_with_prefrag(sw):
    full_size_packets_cross_only_with_prefrag(sw)


def test_nft_rule_with_rt_ipsec_exists(sw):
    nft_rule_with_rt_ipsec_exists(sw)


def test_meta_ipsec_exists_is_refused_in_postrouting(sw):
    """The match that looks right and is not: it means "was decrypted"
    (a secpath), which the kernel refuses to evaluate on output paths."""
    r = sw.ra.run([NFT_PREFRAG, "-f", "-"], check=False,
                  input=NFT_RULES.replace("rt ipsec", "meta ipsec"))
    assert r.returncode != 0 and "Operation not supported" in r.stderr, r.stderr
    assert sw.ra.sh("nft list ruleset").strip() == ""


def test_broken_pmtud_df_tcp_is_byte_exact(sw):
    broken_pmtud_df_tcp_is_byte_exact(sw)


# README, "Recipe: TCP without fragments": MSS clamping, on both gateways.
CLAMP_MSS = ("iptables -t mangle -A FORWARD -o eth1 -p tcp --tcp-flags SYN,RST SYN "
             "-j TCPMSS --clamp-mss-to-pmtu")
TCP_SEGMENT = "iptables -t mangle -A PREROUTING -i eth0 -p tcp -j PREFRAG --mtu auto --tcp segment"


def receive(conn, data, got, timeout):
    """Read from @conn into @got until all of @data arrived or @timeout
    passes; whether what arrived so far is @data's beginning."""
    deadline = time.monotonic() + scaled(timeout)
    while len(got) < len(data) and time.monotonic() < deadline:
        conn.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chunk = conn.recv(1 << 16)
        except socket.timeout:
            break
        if not chunk:
            break
        got.extend(chunk)
    return bytes(got) == data[:len(got)]


def test_mss_clamping_covers_new_connections_tcp_segment_every_packet(sw):
    """A host whose path MTU discovery is broken (DF, ICMP dropped before
    it).  MSS clamping rescues connections whose SYN it rewrote; one opened
    before the clamping rule (or the tunnel) keeps its MSS and stalls, and
    --tcp segment carries that very connection on."""
    sw.ha.sh("iptables -A INPUT -p icmp --icmp-type fragmentation-needed -j DROP")
    data = bytes(range(256)) * 2048  # 512 KiB
    with sw.hb.entered():
        srv = socket.create_server((sw.HB, 5031))
    with sw.ha.entered():
        old = socket.create_connection((sw.HB, 5031), timeout=scaled(10))
    conn, _ = srv.accept()
    try:
        for r in sw.routers():
            r.sh(CLAMP_MSS)
        # New connections: clamped, they fit.
        assert tcp_transfer(sw.ha, sw.hb, sw.HB, len(data), port=5032, timeout=60) == \
            (len(data), True)
        # The connection from before the rule: full-size segments, refused.
        sender = threading.Thread(target=old.sendall, args=(data,))
        old.settimeout(scaled(120))
        sender.start()
        got = bytearray()
        assert receive(conn, data, got, 8) and len(got) < len(data)
        stalled = len(got)
        sw.ra.sh(TCP_SEGMENT)
        assert receive(conn, data, got, 60) and len(got) == len(data), (stalled, len(got))
        sender.join(scaled(10))
        assert sw.ra.counters()["ipv4_tcp_segmented"] > 0
    finally:
        sw.ha.sh("iptables -F INPUT")
        for s in (old, conn, srv):
            s.close()


def test_rekey_during_a_transfer(sw):
    rekey_during_a_transfer(sw, lambda: sw.daemons[0].swanctl("--rekey", "--child", "net"))


def first_fragment_len(tun, tag):
    """The size PREFRAG cut a 1472-byte datagram to (its first fragment, as
    the far host receives it), and whether it crossed."""
    with capture(tun.hb, "eth0", f"{tun.tmp}/{tag}.pcap", "udp or ip[6:2] & 0x3fff != 0") as far:
        got = udp_exchange(tun.ha, tun.hb, tun.HB, [1472])
    firsts = [p.total_len for p in far if p.mf and p.offset == 0]
    return got[1472][0], max(firsts, default=None)


def test_esp_transform_change_the_mtu_follows(sw):
    """The same tunnel renegotiated with AES-CBC and HMAC-SHA-256 instead of
    AES-GCM: ESP's overhead grows, and --mtu auto cuts smaller at once."""
    add_policy_rules(sw)
    gcm = first_fragment_len(sw, "gcm")
    ra, rb = sw.daemons
    try:
        configure_gateways(sw, sw.daemons, esp="aes128-sha256")
        ra.swanctl("--terminate", "--ike", "gw")
        ra.initiate("net")
        assert "AES_CBC" in ra.swanctl("--list-sas")
        cbc = first_fragment_len(sw, "cbc")
    finally:
        configure_gateways(sw, sw.daemons)
        ra.swanctl("--terminate", "--ike", "gw")
        ra.initiate("net")
    # Tunnel MTUs 1446 (GCM: 8-byte IV, 16-byte ICV) and 1438 (CBC: 16-byte
    # IV and blocks, 16-byte ICV); a first fragment carries a multiple of 8.
    assert gcm == (True, 1444) and cbc == (True, 1436), (gcm, cbc)


def test_restart_of_one_side(sw):
    """rb's charon is stopped and started again (an upgrade, a reboot): its
    SAs go, ra's trap policy brings the tunnel back on the next packet, and
    the static rules carry on as they were."""
    add_policy_rules(sw)
    ra = sw.daemons[0]
    before = child_spis(ra)
    sw.daemons.restart(1)
    configure_gateways(sw, sw.daemons)
    deadline = time.monotonic() + scaled(60)
    while ping(sw.ha, sw.HB, 56, count=1) != 0.0:
        assert time.monotonic() < deadline, ra.log_text()[-3000:]
    assert child_spis(ra) and not set(child_spis(ra)) & set(before)
    assert_sizes_cross(sw)


def test_gretap_bridge_over_an_ike_keyed_tunnel_mode_sa(modules, tmp_path):
    """README, "an Ethernet bridge over IPsec": charon keys a tunnel-mode SA
    for GRE between the gateways; full-size frames cross the bridge."""
    b = Bridge(prefix="swb", keying="ike")
    try:
        with strongswan_tunnel(b) as daemons:
            assert "TUNNEL" in daemons[0].swanctl("--list-sas")
            assert ping(b.ha, b.HB, 56, count=2) == 0.0  # learn the MACs
            assert ping(b.ha, b.HB, 1472, count=2, df=True) == 100.0
            for r in b.routers():
                r.sh("iptables -t mangle -A POSTROUTING -o eth1 -p gre -j PREFRAG --mtu auto")
            with capture(b.mid, "eth0", f"{tmp_path}/mid.pcap") as wire:
                assert ping(b.ha, b.HB, 1472, count=3, df=True) == 0.0
                assert ping(b.ha, b.HB, 3000, count=2) == 0.0
    finally:
        b.delete()
    assert_no_esp_fragments(wire)


PMTUDISC_OMIT = 5  # IP_PMTUDISC_OMIT: what DNS servers use
# README, "Recipe: road warriors": on the client, for its own traffic.
ROAD_WARRIOR_RULE = "iptables -t raw -A OUTPUT -m policy --dir out --pol ipsec -j PREFRAG --mtu auto"


def test_road_warrior_sends_from_its_virtual_ip(modules, tmp_path):
    """A VPN client (ra) gets a virtual IP from the gateway's pool and sends
    its own traffic into the tunnel.  A socket that ignores the path MTU (a
    DNS server's) sends datagrams sized for the device: without a rule ESP
    is fragmented and lost, with PREFRAG in raw OUTPUT on the client they
    cross whole."""
    t = Tunnel(prefix="swr", keying="ike")
    try:
        with Charons() as daemons:
            client = daemons.start(t.ra, "client", install_routes=True)
            gateway = daemons.start(t.rb, "gateway")
            gateway.load(ROAD_WARRIOR_GATEWAY_CONF, me=t.RB_OUT, local_ts="10.0.4.0/24",
                         pool="10.0.5.0/24")
            client.load(ROAD_WARRIOR_CONF, me=t.RA_OUT, peer=t.RB_OUT,
                        remote_ts="10.0.4.0/24")
            t.rb.sh(f"ip route add 10.0.5.0/24 via {t.MID_B}")
            client.swanctl("--initiate", "--child", "rw")
            vip = re.search(r"inet (10\.0\.5\.\d+)/", t.ra.sh("ip -4 addr")).group(1)
            sizes = [1000, 1418, 1419, 1472, 3000]

            def send():
                got = udp_exchange(t.ra, t.hb, t.HB, sizes, pmtudisc=PMTUDISC_OMIT)
                assert all(src == vip for ok, src in got.values() if ok), got
                return [s for s in sizes if got[s][0]]

            assert send() == [1000, 1418]  # 1418 + 28 is the tunnel's MTU, 1446
            t.ra.sh(ROAD_WARRIOR_RULE)
            with capture(t.mid, "eth0", f"{tmp_path}/mid.pcap") as wire:
                assert send() == sizes
    finally:
        t.delete()
    assert_no_esp_fragments(wire)


def test_route_based_xfrm_interface_with_if_id(modules, tmp_path):
    """strongSwan's route-based setup: CHILD_SAs with if_id_in/if_id_out, an
    xfrm interface with that if_id left at its default MTU, the far subnet
    routed to it.  `-o xfrm0 --mtu auto` is the SA path's MTU: full-size
    packets cross, and keep crossing through a rekey mid-transfer."""
    subprocess.run(["modprobe", "xfrm_interface"], check=True)
    t = RouteBased(prefix="swx", kind="xfrm", keying="ike")
    t.tmp = tmp_path
    rule = f"-t mangle -A POSTROUTING -o {t.dev} -j PREFRAG --mtu auto"
    try:
        with Charons() as daemons:
            daemons.start(t.ra, "ra")
            daemons.start(t.rb, "rb")
            configure_gateways(t, daemons, child_extra=(
                f"if_id_in = {t.KEY}\n                if_id_out = {t.KEY}"))
            daemons[0].initiate("net")
            assert f"if_id {hex(t.KEY)}" in t.ra.sh("ip xfrm state")
            assert ping(t.ha, t.HB, 1472, count=2) == 100.0
            add_policy_rules(t, rule)
            assert_sizes_cross(t)
            t.flush_rules()
            rekey_during_a_transfer(
                t, lambda: daemons[0].swanctl("--rekey", "--child", "net"), rule)
    finally:
        t.delete()
