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


@pytest.mark.parametrize("args,message", [
    (["--mtu", "40"], 'PREFRAG: --mtu takes "auto" or a number from 68 to 65535, not "40"'),
    (["--mtu", "65536"], "from 68 to 65535"),
    (["--mtu", "1e3"], 'not "1e3"'),
    (["--mtu", ""], "from 68 to 65535"),
    (["--df", "maybe"], 'PREFRAG: --df takes reject, keep or clear, not "maybe"'),
    (["--mtu", "1376", "--mtu", "1400"], "can only be used once"),
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
                                "oifname \"eth1\" counter prefrag mtu 1376 df clear'")


@pytest.mark.parametrize("txlate", sorted(f for f in os.listdir(LIBXT)
                                          if f.endswith(".txlate")))
def test_xlate_files_pass_iptables_xlate_test(txlate):
    r = subprocess.run(["/usr/bin/python3", "xlate-test.py", "-H",
                        os.path.join(LIBXT, txlate)],
                       cwd=IPT_SRC, capture_output=True, text=True, env=ENV)
    assert r.returncode == 0 and "0 tests failed, 0 errors" in r.stdout, \
        r.stdout + r.stderr
