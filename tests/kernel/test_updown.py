"""nf-prefrag-updown: PREFRAG for an SA's traffic while it is up, added and
removed by the IKE daemon's updown hook, exactly once however often the
daemon says "up" (a daemon killed with -9 and started again never said
"down").  Driven by charon itself (swanctl.conf `updown =`), and by hand
with the environment libreswan's pluto and strongSwan give a script, for
IPv4 and IPv6 and for iptables and nft alike.  libreswan's own run:
test_ike_libreswan.py."""
import os

import pytest

from ike import UPDOWN, Charons, configure_gateways, said, updown_command, wait_until
from ike_scenarios import assert_sizes_cross
from nettest import NFT_PREFRAG, Netns
from topology import Tunnel

V4 = {"PLUTO_CONNECTION": "gw-net", "PLUTO_MY_CLIENT": "10.0.1.0/24",
      "PLUTO_PEER_CLIENT": "10.0.4.0/24"}
V6 = {"PLUTO_CONNECTION": "gw-net6", "PLUTO_MY_CLIENT": "fd00:1::/64",
      "PLUTO_PEER_CLIENT": "fd00:4::/64"}


@pytest.fixture
def ns(modules):
    n = Netns("updown")
    yield n
    n.delete()


def hook(ns, verb, sa, *args):
    """The helper as a daemon runs it (nft-prefrag from the build tree)."""
    env = " ".join(f"{k}='{v}'" for k, v in {**sa, "PLUTO_VERB": verb}.items())
    path = f"{os.path.dirname(NFT_PREFRAG)}:{os.environ['PATH']}"
    return ns.run(f"env PATH={path} {env} {UPDOWN} {' '.join(args)}", check=False)


def prefrag_rules(ns, ipv6=False):
    out = ns.sh(f"{'ip6tables' if ipv6 else 'iptables'} -t mangle -S POSTROUTING")
    return [line for line in out.splitlines() if "PREFRAG" in line]


def nft_rules(ns):
    out = ns.run("nft list ruleset", check=False).stdout
    return [line.strip() for line in out.splitlines() if "prefrag mtu" in line]


def test_iptables_up_twice_gives_one_rule_and_down_removes_it(ns):
    for sa, verb, v6 in ((V4, "up-client", False), (V6, "up-client-v6", True)):
        for _ in range(2):  # the second: a restarted daemon's "up"
            r = hook(ns, verb, sa, "--mtu", "1400", "--tcp", "segment")
            assert r.returncode == 0, r.stderr
        rules = prefrag_rules(ns, v6)
        assert len(rules) == 1, rules
        assert (f"-s {sa['PLUTO_MY_CLIENT']} -d {sa['PLUTO_PEER_CLIENT']} -m policy "
                f"--dir out --pol ipsec") in rules[0], rules
        assert f'"nf-prefrag-updown {sa["PLUTO_CONNECTION"]}"' in rules[0], rules
        assert "-j PREFRAG --mtu 1400 --tcp segment" in rules[0], rules
    # The script's options changed, and the daemon restarted: one rule, new.
    assert hook(ns, "up-client", V4, "--mtu", "1300").returncode == 0
    rules = prefrag_rules(ns)
    assert len(rules) == 1 and rules[0].endswith("-j PREFRAG --mtu 1300"), rules
    assert hook(ns, "down-client", V4).returncode == 0
    assert prefrag_rules(ns) == [] and len(prefrag_rules(ns, True)) == 1
    assert hook(ns, "down-client-v6", V6).returncode == 0
    assert prefrag_rules(ns, True) == []


def test_nft_up_twice_gives_one_rule_and_down_removes_it(ns):
    # libreswan says IPv6 by its addresses alone (no "-v6" in the verb).
    for sa in (V4, V6):
        for _ in range(2):
            r = hook(ns, "up-client", sa, "--nft")
            assert r.returncode == 0, r.stderr
    rules = nft_rules(ns)
    assert rules == [
        'ip saddr 10.0.1.0/24 ip daddr 10.0.4.0/24 rt ipsec exists prefrag mtu auto '
        'comment "nf-prefrag-updown gw-net"',
        'ip6 saddr fd00:1::/64 ip6 daddr fd00:4::/64 rt ipsec exists prefrag mtu auto '
        'comment "nf-prefrag-updown gw-net6"'], rules
    assert hook(ns, "down-client", V4, "--nft").returncode == 0
    assert len(nft_rules(ns)) == 1 and "gw-net6" in nft_rules(ns)[0]
    assert hook(ns, "down-client", V6, "--nft").returncode == 0
    assert nft_rules(ns) == []


def test_the_daemons_own_script_runs_first_on_up_and_last_on_down(ns, tmp_path):
    log = tmp_path / "order"
    script = tmp_path / "next.sh"
    script.write_text(f"#!/bin/sh\necho \"$PLUTO_VERB $(iptables -t mangle -S POSTROUTING "
                      f"| grep -c PREFRAG)\" >> {log}\nexit 0\n")
    script.chmod(0o755)
    for verb in ("prepare-client", "route-client", "up-client", "down-client"):
        assert hook(ns, verb, V4, "--", str(script)).returncode == 0
    # NEXT saw no rule before "up" added it, and none once "down" took it.
    assert log.read_text().split("\n") == [
        "prepare-client 0", "route-client 0", "up-client 0", "down-client 0", ""]
    script.write_text("#!/bin/sh\nexit 3\n")
    assert hook(ns, "up-client", V4, "--", str(script)).returncode == 3


def test_bad_use_is_refused_with_the_reason(ns):
    r = hook(ns, "up-client", V4, "--mtu", "big")
    assert r.returncode == 2 and '--mtu takes auto or a number, not "big"' in r.stderr
    r = hook(ns, "up-client", {**V4, "PLUTO_CONNECTION": 'x" ; flush ruleset'}, "--nft")
    assert r.returncode == 2 and "a name nft cannot hold" in r.stderr, r.stderr
    r = ns.run(f"env -i {UPDOWN}", check=False)
    assert r.returncode == 2 and "PLUTO_VERB" in r.stderr, r.stderr
    assert prefrag_rules(ns) == []


def test_charon_adds_the_rule_once_across_a_kill_and_removes_it_when_the_sa_goes(modules,
                                                                                 tmp_path):
    """swanctl.conf `updown = nf-prefrag-updown --mtu auto` on both gateways:
    the tunnel comes up with one rule each and full-size packets cross; ra's
    charon is killed (-9: no "down") and started again, and the tunnel comes
    back with one rule still; terminating the SA removes it."""
    t = Tunnel(prefix="ud", keying="ike")
    t.tmp = tmp_path  # captures (assert_sizes_cross)
    command, verbs = updown_command(str(tmp_path))
    extra = f"updown = {command}"
    try:
        with Charons() as daemons:
            daemons.start(t.ra, "ra")
            daemons.start(t.rb, "rb")
            configure_gateways(t, daemons, child_extra=extra)
            daemons[0].initiate("net")
            for r in t.routers():   # each charon runs its script once its SA is in
                wait_until(lambda: len(prefrag_rules(r)) == 1, daemons)
            assert_sizes_cross(t)

            daemons[0].proc.kill()
            daemons[0].proc.wait()
            daemons.restart(0)
            configure_gateways(t, daemons, child_extra=extra)
            daemons[0].initiate("net")    # a new SA: "up" again, no "down" before
            wait_until(lambda: said(verbs).count("up-client") >= 3, daemons)
            assert len(prefrag_rules(t.ra)) == 1, prefrag_rules(t.ra)
            assert_sizes_cross(t)

            daemons[0].swanctl("--terminate", "--child", "net")
            wait_until(lambda: not prefrag_rules(t.ra) and not prefrag_rules(t.rb), daemons)
            assert "down-client" in said(verbs)
    finally:
        t.delete()
