"""The plugins' option tables and parsers under AddressSanitizer: every rule
of our .t files, with iptables-legacy and iptables-nft of this release, goes
through plugins built with -fsanitize=address (the runtime preloaded into
iptables, which is not built with it).  No report, no signal, and the same
exit status and words as with the plugins of make plugins.  Run on Debian
12 (make check) and in the Debian 13 root (run-in-root.sh), so both
releases' libxtables read our tables; a table handed over in the wrong
layout (iptables 1.8.11's xt_option_entry gained a member) is read past its
end, which this finds before any crash does."""
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from t_files import t_file_rules  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SYSTEM_XTLIBDIR = subprocess.run(["pkg-config", "--variable=xtlibdir", "xtables"],
                                 capture_output=True, text=True).stdout.strip()
OURS = os.path.join(TOP, "build", "libxt") + ":" + SYSTEM_XTLIBDIR
ASAN_BUILD = os.path.join(TOP, "build", "asan")
ASAN = os.path.join(ASAN_BUILD, "libxt") + ":" + SYSTEM_XTLIBDIR
RUNTIME = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                         text=True).stdout.strip()


@pytest.fixture(scope="module", autouse=True)
def asan_plugins():
    flags = "-O1 -g -fsanitize=address -fno-omit-frame-pointer"
    subprocess.run(["make", "-s", "-C", TOP, "plugins", f"BUILD={ASAN_BUILD}",
                    f"CFLAGS={flags}", "LDFLAGS=-fsanitize=address"],
                   check=True, capture_output=True)
    assert os.path.exists(RUNTIME), RUNTIME


def run(xtlibdir, args, asan=False):
    env = dict(os.environ, XTABLES_LIBDIR=xtlibdir)
    if asan:
        # iptables frees little before it exits: leaks are not what is looked for.
        env.update(LD_PRELOAD=RUNTIME, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0")
    return subprocess.run(["unshare", "-n", *args], capture_output=True, text=True, env=env)


@pytest.mark.parametrize("backend", ["legacy", "nft"])
@pytest.mark.parametrize("command,table,chain,rule", t_file_rules())
def test_every_t_file_rule_under_addresssanitizer(backend, command, table, chain, rule):
    args = [f"{command}-{backend}", "-t", table, "-A", chain, *rule.split()]
    asan, plain = run(ASAN, args, asan=True), run(OURS, args)
    assert "AddressSanitizer" not in asan.stderr, asan.stderr
    assert asan.returncode >= 0, f"killed by signal {-asan.returncode}\n{asan.stderr}"
    assert (asan.returncode, asan.stderr) == (plain.returncode, plain.stderr)
