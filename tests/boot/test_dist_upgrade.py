"""A Debian 12 gateway upgraded to Debian 13 the way the release notes
describe it, with our Debian 12 packages installed and its rules saved by
netfilter-persistent (the options whose parsing crashed Debian 13's
iptables when a Debian 12 plugin handed it an option table of the old
layout) and in /etc/nftables.conf: sources switched to trixie, apt
full-upgrade, a boot of Debian 13 with our Debian 12 packages (their DKMS
build for Debian 13's kernel, the rules restored and saved again), then our
Debian 13 packages and a boot with them.  Between the steps, iptables and
nft-prefrag read the saved rules without a crash; after each boot the rules
are loaded and traffic crosses.

make check-matrix: it needs our Debian 13 packages (NF_PREFRAG_UPGRADE_DEBS,
a directory of them: the Debian 13 root's make lint builds them) and
downloads a release's worth of packages.
"""
import glob
import os

import pytest

from debian_root import suite_sources
from gateway import NFTABLES_CONF, GatewayRoot, crosses, on_gateway

RULES = """
iptables -t mangle -A POSTROUTING -m policy --dir out --pol ipsec -j PREFRAG --mtu auto --df clear
iptables -t mangle -A POSTROUTING -o eth9 -p tcp -j PREFRAG --mtu 1400 --tcp segment
iptables -t mangle -A PREROUTING -i eth9 -p tcp -j CLEARDF --min-len 1400 --random-id
iptables -A FORWARD -o eth9 -j REJECT --reject-with icmp-frag-needed --reject-mtu 1400
ip6tables -t mangle -A POSTROUTING -o eth9 -p tcp -j PREFRAG --mtu 1280 --tcp segment
netfilter-persistent save
"""
# Loaded beside netfilter-persistent's rules: our table only, no "flush
# ruleset" (it would take iptables-nft's tables with it).
NFTABLES_BESIDE = NFTABLES_CONF.replace(
    "flush ruleset\n", "table inet gateway\ndelete table inet gateway\n")
SAVED = ("-j PREFRAG --mtu auto --df clear", "-j PREFRAG --mtu 1400 --tcp segment",
         "-j CLEARDF --min-len 1400 --random-id",
         "--reject-with icmp-frag-needed --reject-mtu 1400")
# What reads the saved rules with our plugins and nft-prefrag, outside any
# kernel of ours (a chroot on this machine, in a namespace of its own): a
# refusal is fine, a crash (a signal: status 128 and up) is not.
READ_SAVED = ("for c in 'iptables-restore --test /etc/iptables/rules.v4' "
              "'ip6tables-restore --test /etc/iptables/rules.v6' "
              "'nft-prefrag -c -f /etc/nftables.conf'; do "
              "unshare -n sh -c \"$c\" >/dev/null 2>&1; s=$?; "
              "echo \"$c: $s\"; [ $s -lt 128 ] || exit 1; done")


@pytest.fixture(scope="module")
def debian13_debs():
    where = os.environ.get("NF_PREFRAG_UPGRADE_DEBS")
    assert where, "NF_PREFRAG_UPGRADE_DEBS: a directory of our Debian 13 packages"
    debs = [d for d in glob.glob(os.path.join(where, "*.deb")) if "-dbgsym_" not in d]
    assert debs, f"no packages in {where}"
    return debs


def test_dist_upgrade_to_debian_13_keeps_the_rules_and_the_tunnel(debs, debian13_debs):
    gw = GatewayRoot("bookworm", debs, name="dist-upgrade")
    try:
        gw.write("/etc/nftables.conf", NFTABLES_BESIDE)
        gw.boot(RULES)
        seen = on_gateway(gw, "state traffic")
        for rule in SAVED:
            assert rule in seen["state"]["iptables"], seen["state"]["iptables"]
        crosses(seen["traffic"])

        # The release notes' way: sources to trixie, then full-upgrade.  It
        # asks whether to save the current rules: in this chroot they would
        # be this machine's, not the gateway's, so the answer here is no and
        # the gateway saves its own at its next boot, below.
        gw.write("/etc/apt/sources.list", "".join(l + "\n" for l in suite_sources("trixie")))
        gw.run("for v in 4 6; do echo iptables-persistent iptables-persistent/autosave_v$v "
               "boolean false; done | debconf-set-selections")
        gw.run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get full-upgrade "
               "-y -qq -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "
               ">/var/log/nf-prefrag-upgrade.log 2>&1", timeout=5400)
        assert gw.read("/etc/debian_version").startswith("13"), gw.read("/etc/debian_version")
        # Debian 12's plugins and nft-prefrag with Debian 13's libraries.
        print(gw.run(READ_SAVED).stdout)
        new = gw.kernels()[-1]
        assert "deb13" in new, gw.kernels()
        status = gw.run("dkms status nf-prefrag").stdout   # Debian 12's package
        assert f"{new}, x86_64: installed" in status, status

        # Debian 13 booted with our Debian 12 packages: restored at boot,
        # carrying traffic, and saved again by Debian 13's iptables through
        # our Debian 12 plugins (what the upgrade's question does on a live
        # gateway).
        seen = on_gateway(gw, "state traffic", kernel=new,
                          after="netfilter-persistent save >/dev/null 2>&1 || exit 14")
        for rule in SAVED:
            assert rule in seen["state"]["iptables"], seen["state"]["iptables"]
            assert rule in gw.read("/etc/iptables/rules.v4")
        crosses(seen["traffic"])

        gw.install_debs(debian13_debs)
        print(gw.run(READ_SAVED).stdout)
        status = gw.run("dkms status nf-prefrag").stdout
        assert f"{new}, x86_64: installed" in status, status

        seen = on_gateway(gw, "state traffic", kernel=new,
                          before="nf-prefrag doctor || exit 12")
        state = seen["state"]
        assert state["kernel"] == new, state["kernel"]
        assert state["nftables"] == "active" and "prefrag mtu auto" in state["ruleset"], state
        assert state["persistent"] == "active", state["persistent"]
        for rule in SAVED:
            assert rule in state["iptables"], state["iptables"]
        assert state["modules"] == ["nf_prefrag", "xt_CLEARDF", "xt_PREFRAG", "xt_REJECT_MTU"]
        assert state["failed_units"] == [""], state["failed_units"]
        crosses(seen["traffic"])
    finally:
        gw.unmount()
