"""PREFRAG on tunnels keyed by libreswan (IKEv2, PSK, ESP tunnel mode), as
gateway operators run it: pluto on each gateway, through a path that drops
IP fragments.  Debian's libreswan conflicts with the strongSwan the rest of
the suite uses: tests/run-libreswan.sh runs this file in a Debian root of
its own.  The README's libreswan recipe is these configurations."""
import os
import time

import pytest

from ike import PLUTO, libreswan_tunnel, said, updown_command, wait_until
from ike_scenarios import (add_policy_rules, assert_no_esp_fragments, assert_sizes_cross,
                           broken_pmtud_df_tcp_is_byte_exact, esp_spis,
                           full_size_packets_cross_only_with_prefrag,
                           nft_rule_with_rt_ipsec_exists, rekey_during_a_transfer)
from nettest import capture, ping, scaled
from topology import Tunnel

pytestmark = pytest.mark.skipif(
    not os.path.exists(PLUTO),
    reason="libreswan is not installed (tests/run-libreswan.sh runs this in its own root)")

# README, "Recipe: libreswan": when the rule must follow each tunnel (its
# own MTU, or a firewall that is reloaded from elsewhere), leftupdown runs
# nf-prefrag-updown (ike.UPDOWN), which adds it when the tunnel comes up and
# removes it when it goes.


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


def test_full_size_packets_cross_only_with_prefrag(ls):
    full_size_packets_cross_only_with_prefrag(ls)


def test_nft_rule_with_rt_ipsec_exists(ls):
    nft_rule_with_rt_ipsec_exists(ls)


def test_broken_pmtud_df_tcp_is_byte_exact(ls):
    broken_pmtud_df_tcp_is_byte_exact(ls)


def test_rekey_during_a_transfer(ls):
    rekey_during_a_transfer(ls, lambda: ls.daemons[0].ipsec("whack", "--name", "gw",
                                                             "--rekey-ipsec"))


def test_restart_of_one_side(ls):
    """rb's pluto is stopped and started again: ra's on-demand policy brings
    the tunnel back when ra's dead peer detection gives up on the old one,
    and the static rules carry on."""
    add_policy_rules(ls)
    before = esp_spis(ls.ra)
    ls.daemons.restart(1)
    ls.daemons[1].configure(ls.RB_OUT, ls.RA_OUT, "10.0.4.0/24", "10.0.1.0/24", extra=DPD)
    deadline = time.monotonic() + scaled(90)
    while ping(ls.ha, ls.HB, 56, count=1) != 0.0:
        assert time.monotonic() < deadline, ls.daemons[0].log_text()[-3000:]
    assert not set(esp_spis(ls.ra)) & set(before)
    assert_sizes_cross(ls)


def prefrag_rules(ns):
    return [line for line in ns.sh("iptables -t mangle -S POSTROUTING").splitlines()
            if "PREFRAG" in line]


def test_updown_adds_the_rule_once_across_a_kill_and_removes_it(modules, tmp_path):
    """leftupdown runs nf-prefrag-updown: one rule per gateway while the SA is
    up; pluto killed with -9 (no "down") and started again brings the SA
    back with one rule still; terminating it removes the rule."""
    t = Tunnel(prefix="lsu", keying="ike")
    command, verbs = updown_command(str(tmp_path))
    updown = f'    leftupdown="{command}"\n'
    try:
        with libreswan_tunnel(t, extra=updown) as daemons:
            for r in t.routers():
                wait_until(lambda: len(prefrag_rules(r)) == 1, daemons)
            with capture(t.mid, "eth0", f"{tmp_path}/mid.pcap") as wire:
                assert ping(t.ha, t.HB, 1472, count=3) == 0.0

            daemons[0].proc.kill()
            daemons[0].proc.wait()
            ra = daemons.restart(0)
            ra.configure(t.RA_OUT, t.RB_OUT, "10.0.1.0/24", "10.0.4.0/24",
                         "aes_gcm128-null", "ondemand", updown)
            ra.ipsec("whack", "--name", "gw", "--initiate")
            wait_until(lambda: said(verbs).count("up-client") >= 3, daemons)
            assert len(prefrag_rules(t.ra)) == 1, prefrag_rules(t.ra)

            daemons[0].ipsec("whack", "--name", "gw", "--terminate")
            wait_until(lambda: not prefrag_rules(t.ra), daemons)
            assert "down-client" in said(verbs)
    finally:
        t.delete()
    assert_no_esp_fragments(wire)

