"""PREFRAG on tunnels keyed by libreswan (IKEv2, PSK, ESP tunnel mode), as
gateway operators run it: pluto on each gateway, through a path that drops
IP fragments.  Debian's libreswan conflicts with the strongSwan the rest of
the suite uses: tests/run-libreswan.sh runs this file in a Debian root of
its own.  The README's libreswan recipe is these configurations."""
import os
import threading
import time

import pytest

from ike import PLUTO, libreswan_tunnel
from nettest import NFT_PREFRAG, capture, ping, scaled, tcp_transfer, udp_exchange
from topology import Tunnel

pytestmark = pytest.mark.skipif(
    not os.path.exists(PLUTO),
    reason="libreswan is not installed (tests/run-libreswan.sh runs this in its own root)")

ESP = 50
IPTABLES_RULE = "-t mangle -A POSTROUTING -m policy --dir out --pol ipsec -j PREFRAG --mtu auto"
NFT_RULES = """table inet vpn {
 chain postrouting {
  type filter hook postrouting priority mangle; policy accept;
  rt ipsec exists counter prefrag mtu auto
 }
}
"""
SIZES = [1300, 1400, 1420, 1438, 1446, 1447, 1472, 2000, 4000, 8000]
# README, "Recipe: libreswan": when the rule must follow each tunnel (its
# own MTU, or a firewall that is reloaded from elsewhere), pluto's updown
# script adds it when the tunnel comes up and removes it when it goes.
UPDOWN = """#!/bin/sh
# leftupdown: PREFRAG for this tunnel's traffic while it is up.
rule="POSTROUTING -s $PLUTO_MY_CLIENT -d $PLUTO_PEER_CLIENT -j PREFRAG --mtu auto"
case "$PLUTO_VERB" in
up-client) iptables -t mangle -A $rule ;;
down-client) iptables -t mangle -D $rule ;;
esac
exit 0
"""


# Dead peer detection: a peer that lost its SAs (a restart) is given up on
# within seconds, and ra negotiates again.
DPD = "    dpddelay=2s\n    retransmit-timeout=10s\n    dpdaction=restart\n"


@pytest.fixture(scope="module")
def swan(modules):
    t = Tunnel(prefix="ls", keying="ike")
    try:
        with libreswan_tunnel(t, extra=DPD) as t.daemons:
            yield t
    finally:
        t.delete()


@pytest.fixture
def ls(swan, tmp_path):
    swan.tmp = tmp_path
    yield swan
    swan.flush_rules()


def rules(tun):
    for r in tun.routers():
        r.sh(f"iptables {IPTABLES_RULE}")


def esp_spis(ns):
    """The SPIs of the ESP SAs in @ns's kernel."""
    return sorted(line.split()[3] for line in ns.sh("ip xfrm state").splitlines()
                  if line.startswith("\tproto esp spi"))


def assert_no_esp_fragments(wire):
    assert any(p.proto == ESP for p in wire)
    assert not any(p.is_fragment for p in wire), "an ESP packet was fragmented"
    assert all(p.total_len <= 1500 for p in wire if p.proto == ESP)


def test_full_size_packets_cross_only_with_prefrag(ls):
    assert "mode tunnel" in ls.ra.sh("ip xfrm state")
    assert ping(ls.ha, ls.HB, 1472, count=2) == 100.0
    rules(ls)
    with capture(ls.mid, "eth0", f"{ls.tmp}/mid.pcap") as wire:
        assert ping(ls.ha, ls.HB, 1472, count=3) == 0.0
        got = udp_exchange(ls.ha, ls.hb, ls.HB, SIZES)
    assert {s: ok for s, (ok, _) in got.items()} == {s: True for s in SIZES}
    assert_no_esp_fragments(wire)


def test_nft_rule_with_rt_ipsec_exists(ls):
    for r in ls.routers():
        r.run([NFT_PREFRAG, "-f", "-"], input=NFT_RULES)
    with capture(ls.mid, "eth0", f"{ls.tmp}/mid.pcap") as wire:
        got = udp_exchange(ls.ha, ls.hb, ls.HB, SIZES)
    assert all(ok for ok, _ in got.values()), got
    assert_no_esp_fragments(wire)


def test_broken_pmtud_df_tcp_is_byte_exact(ls):
    ls.ha.sh("iptables -A INPUT -p icmp --icmp-type fragmentation-needed -j DROP")
    try:
        for r in ls.routers():
            r.sh("iptables -t mangle -A PREROUTING -i eth0 -j CLEARDF --min-len 1400")
        rules(ls)
        with capture(ls.mid, "eth0", f"{ls.tmp}/mid.pcap", "esp or ip[6:2] & 0x3fff != 0") as wire:
            assert tcp_transfer(ls.ha, ls.hb, ls.HB, 1 << 20, timeout=120) == (1 << 20, True)
    finally:
        ls.ha.sh("iptables -F INPUT")
    assert_no_esp_fragments(wire)


def test_rekey_during_a_transfer(ls):
    rules(ls)
    before = esp_spis(ls.ra)
    result = {}
    size = 3 << 20
    ls.ha.sh("tc qdisc add dev eth0 root tbf rate 4mbit burst 32kb latency 400ms")
    transfer = threading.Thread(target=lambda: result.update(
        got=tcp_transfer(ls.ha, ls.hb, ls.HB, size, port=5020, timeout=240)))
    try:
        with capture(ls.mid, "eth0", f"{ls.tmp}/mid.pcap",
                     "esp or ip[6:2] & 0x3fff != 0") as wire:
            transfer.start()
            time.sleep(1.5)
            ls.daemons[0].ipsec("whack", "--name", "gw", "--rekey-ipsec")
            transfer.join()
    finally:
        ls.ha.sh("tc qdisc del dev eth0 root")
    assert result["got"] == (size, True)
    assert set(esp_spis(ls.ra)) != set(before)
    assert_no_esp_fragments(wire)
    outbound = {p.esp()[0] for p in wire if p.proto == ESP and p.src == ls.RA_OUT}
    assert len(outbound) == 2, f"the old SA and the new one carried it: {outbound}"


def test_restart_of_one_side(ls):
    """rb's pluto is stopped and started again: ra's on-demand policy brings
    the tunnel back when ra's dead peer detection gives up on the old one,
    and the static rules carry on."""
    rules(ls)
    before = esp_spis(ls.ra)
    ls.daemons.restart(1)
    ls.daemons[1].configure(ls.RB_OUT, ls.RA_OUT, "10.0.4.0/24", "10.0.1.0/24", extra=DPD)
    deadline = time.monotonic() + scaled(90)
    while ping(ls.ha, ls.HB, 56, count=1) != 0.0:
        assert time.monotonic() < deadline, ls.daemons[0].log_text()[-3000:]
    assert not set(esp_spis(ls.ra)) & set(before)
    with capture(ls.mid, "eth0", f"{ls.tmp}/mid.pcap") as wire:
        assert ping(ls.ha, ls.HB, 1472, count=3) == 0.0
        got = udp_exchange(ls.ha, ls.hb, ls.HB, SIZES)
    assert all(ok for ok, _ in got.values()), got
    assert_no_esp_fragments(wire)


def test_updown_script_adds_the_rule_while_the_tunnel_is_up(modules, tmp_path):
    t = Tunnel(prefix="lsu", keying="ike")
    script = tmp_path / "prefrag-updown"
    script.write_text(UPDOWN)
    script.chmod(0o755)
    try:
        with libreswan_tunnel(t, extra=f"    leftupdown={script}\n") as daemons:
            for r in t.routers():
                assert "-j PREFRAG --mtu auto" in r.sh("iptables -t mangle -S POSTROUTING")
            with capture(t.mid, "eth0", f"{tmp_path}/mid.pcap") as wire:
                assert ping(t.ha, t.HB, 1472, count=3) == 0.0
            daemons[0].ipsec("whack", "--name", "gw", "--terminate")
            for r in t.routers():
                assert "PREFRAG" not in r.sh("iptables -t mangle -S POSTROUTING")
    finally:
        t.delete()
    assert_no_esp_fragments(wire)
