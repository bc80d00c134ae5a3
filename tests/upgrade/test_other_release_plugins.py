"""Plugins built for another Debian release's iptables, as they stay on a
gateway after a dist-upgrade until ours are rebuilt: iptables 1.8.11
(Debian 13) added xt_option_entry.base and kept the soname, and a Debian
12 build once crashed it at its second option.  libxt/option_layout.c
hands the library its tables in the library's layout: every rule of our .t
files, with iptables-legacy and iptables-nft, must then do exactly what it
does with plugins built here (same exit status, same words), and a saved
ruleset must list and restore in full.

nft-prefrag, linked with libnftables, libnftnl and libmnl (whose sonames
Debian 12 and 13 share), must likewise read and send every ruleset our
tests use as the build of this release does.

tests/run-in-root.sh runs this in the Debian 13 root with
NF_PREFRAG_OTHER_RELEASE set to a Debian 12 build tree (its libxt/ and
nft/); it runs on no single release alone (there is no other build to load
there)."""
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from t_files import t_file_rules  # noqa: E402
from txlate import translated_rules, with_its_chain  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SYSTEM_XTLIBDIR = subprocess.run(["pkg-config", "--variable=xtlibdir", "xtables"],
                                 capture_output=True, text=True).stdout.strip()
OTHER_BUILD = os.environ["NF_PREFRAG_OTHER_RELEASE"]
OURS = os.path.join(TOP, "build", "libxt") + ":" + SYSTEM_XTLIBDIR
OTHER = os.path.join(OTHER_BUILD, "libxt") + ":" + SYSTEM_XTLIBDIR


def run(xtlibdir, *args):
    return subprocess.run(["unshare", "-n", *args], capture_output=True, text=True,
                          env=dict(os.environ, XTABLES_LIBDIR=xtlibdir))


@pytest.mark.parametrize("backend", ["legacy", "nft"])
@pytest.mark.parametrize("command,table,chain,rule", t_file_rules())
def test_every_t_file_rule_as_with_plugins_built_here(backend, command, table, chain, rule):
    args = [f"{command}-{backend}", "-t", table, "-A", chain, *rule.split()]
    other, here = run(OTHER, *args), run(OURS, *args)
    assert other.returncode >= 0, f"killed by signal {-other.returncode}\n{other.stderr}"
    assert (other.returncode, other.stderr) == (here.returncode, here.stderr)


def test_saved_rules_list_and_restore_in_full(tmp_path):
    """This kernel has none of our modules: the rule is REJECT revision 0,
    through our plugin."""
    saved = tmp_path / "rules.v4"
    script = (f"XTABLES_LIBDIR={OURS} iptables-legacy -A FORWARD -p tcp "
              "-j REJECT --reject-with tcp-reset && "
              f"XTABLES_LIBDIR={OTHER} iptables-legacy-save -t filter >{saved} && "
              "iptables-legacy -F && "
              f"XTABLES_LIBDIR={OTHER} iptables-legacy-restore <{saved} && "
              f"XTABLES_LIBDIR={OTHER} iptables-legacy -S FORWARD")
    r = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    rule = "-A FORWARD -p tcp -j REJECT --reject-with tcp-reset"
    assert rule in saved.read_text() and rule in r.stdout, r.stdout


def nft_rulesets():
    """The nft rules iptables-translate prints for our targets (.txlate),
    and a ruleset with sets, maps and our statements."""
    for _cmd, rule in translated_rules():
        yield pytest.param(with_its_chain(rule), id=rule)
    yield pytest.param("""table inet vpn {
	set peers {
		type ipv4_addr
		elements = { 192.0.2.1, 198.51.100.7 }
	}
	map mtus {
		type ipv4_addr : verdict
		elements = { 10.0.0.1 : accept }
	}
	chain post {
		type filter hook postrouting priority mangle; policy accept;
		ip daddr @peers prefrag mtu auto tcp segment
		ip daddr vmap @mtus
		meta l4proto { udp, icmp } ip daddr { 10.1.0.0/16 } cleardf random-id
		reject with icmp frag-needed mtu 1400
	}
}
""", id="sets, maps and our statements")


@pytest.mark.parametrize("ruleset", nft_rulesets())
def test_nft_prefrag_as_built_here(ruleset, tmp_path):
    f = tmp_path / "r.nft"
    f.write_text(ruleset)
    other, here = (subprocess.run(["unshare", "-n", os.path.join(build, "nft", "nft-prefrag"),
                                   "-c", "-f", str(f)], capture_output=True, text=True)
                   for build in (OTHER_BUILD, os.path.join(TOP, "build")))
    assert other.returncode >= 0, f"killed by signal {-other.returncode}\n{other.stderr}"
    assert (other.returncode, other.stdout, other.stderr) == \
        (here.returncode, here.stdout, here.stderr)
