"""The iptables plugins on their own (no kernel module needed): options,
errors, help, translation.  Runs on the host."""
import os
import subprocess

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIBXT = os.path.join(TOP, "libxt")
XTLIBDIR = os.path.join(TOP, "build", "libxt") + ":" + subprocess.run(
    ["pkg-config", "--variable=xtlibdir", "xtables"],
    capture_output=True, text=True).stdout.strip()
IPT_SRC = "/var/cache/nf-prefrag/iptables-src"
ENV = dict(os.environ, XTABLES_LIBDIR=XTLIBDIR)


def ipt(*args):
    return subprocess.run(["iptables-translate", *args], capture_output=True,
                          text=True, env=ENV)


def test_help_lists_options():
    out = subprocess.run(["iptables-legacy", "-j", "PREFRAG", "--help"],
                         capture_output=True, text=True, env=ENV).stdout
    assert "--mtu auto|N" in out and "--df reject|keep|clear" in out
    assert "--tcp fragment|segment" in out


@pytest.mark.parametrize("args,message", [
    (["--mtu", "40"], 'PREFRAG: --mtu takes "auto" or a number from 68 to 65535, not "40"'),
    (["--mtu", "65536"], "from 68 to 65535"),
    (["--mtu", "1e3"], 'not "1e3"'),
    (["--mtu", ""], "from 68 to 65535"),
    (["--df", "maybe"], 'PREFRAG: --df takes reject, keep or clear, not "maybe"'),
    (["--mtu", "1376", "--mtu", "1400"], "can only be used once"),
    (["--tcp", "resegment"], 'PREFRAG: --tcp takes fragment or segment, not "resegment"'),
    (["--tcp", "segment", "--tcp", "fragment"], "can only be used once"),
    (["--bogus"], "unknown option"),
])
def test_bad_options_are_refused_clearly(args, message):
    r = ipt("-t", "mangle", "-A", "POSTROUTING", "-j", "PREFRAG", *args)
    assert r.returncode == 2
    assert message in r.stderr


def test_translation():
    r = ipt("-t", "mangle", "-A", "POSTROUTING", "-o", "eth1", "-j", "PREFRAG",
            "--mtu", "1376", "--df", "clear")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ("nft 'add rule ip mangle POSTROUTING "
                                "oifname \"eth1\" counter prefrag mtu 1376 df clear "
                                "# load with nft-prefrag'")


# Ours, and iptables' own REJECT translations (our plugin replaces theirs).
TXLATE = sorted(os.path.join(LIBXT, f) for f in os.listdir(LIBXT) if f.endswith(".txlate")) + [
    os.path.join(IPT_SRC, "extensions", f)
    for f in ("libipt_REJECT.txlate", "libip6t_REJECT.txlate")]


@pytest.mark.parametrize("txlate", TXLATE, ids=os.path.basename)
def test_xlate_files_pass_iptables_xlate_test(txlate):
    r = subprocess.run(["/usr/bin/python3", "xlate-test.py", "-H", txlate],
                       cwd=IPT_SRC, capture_output=True, text=True, env=ENV)
    assert r.returncode == 0 and "0 tests failed, 0 errors" in r.stdout, \
        r.stdout + r.stderr


@pytest.mark.parametrize("cmd,new_type", [("iptables-legacy", "icmp-frag-needed"),
                                          ("ip6tables-legacy", "icmp6-pkt-too-big")])
def test_reject_help_lists_the_new_type(cmd, new_type):
    out = subprocess.run([cmd, "-j", "REJECT", "--help"], capture_output=True,
                         text=True, env=ENV).stdout
    assert new_type in out and "--reject-mtu auto|N" in out
    assert "tcp-reset" in out  # and iptables' own types


@pytest.mark.parametrize("args,message", [
    (["--reject-with", "icmp-frag-needed", "--reject-mtu", "67"],
     'REJECT: --reject-mtu takes "auto" or a number from 68 to 65535, not "67"'),
    (["--reject-with", "icmp-frag-needed", "--reject-mtu", "big"], 'not "big"'),
    (["--reject-mtu", "1400"], "REJECT: --reject-mtu goes with --reject-with icmp-frag-needed"),
    (["--reject-with", "icmp-nonsense"], 'unknown reject type "icmp-nonsense"'),
])
def test_reject_bad_options_are_refused_clearly(args, message):
    r = ipt("-A", "FORWARD", "-j", "REJECT", *args)
    assert r.returncode == 2 and message in r.stderr


def test_reject_frag_needed_translation_is_refused_by_stock_nft(tmp_path):
    """nft's own `reject with icmp frag-needed` always says MTU 0: ours must
    never load into stock nft as that weaker rule."""
    r = ipt("-A", "FORWARD", "-j", "REJECT", "--reject-with", "icmp-frag-needed",
            "--reject-mtu", "1400")
    assert r.stdout.strip() == ("nft 'add rule ip filter FORWARD counter "
                                "reject with icmp frag-needed mtu 1400 # load with nft-prefrag'")
    ruleset = tmp_path / "r.nft"
    ruleset.write_text("table ip t {\n chain c {\n  type filter hook forward priority 0;\n"
                       "  reject with icmp frag-needed mtu 1400\n }\n}\n")
    r = subprocess.run(["unshare", "-n", "nft", "-c", "-f", str(ruleset)],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "unexpected mtu" in r.stderr
