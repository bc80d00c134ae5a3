"""Our .t files through iptables' own iptables-test.py, against the real
kernel modules, with iptables-legacy and iptables-nft."""
import os
import re
import subprocess

import pytest

from nettest import TOP, XTLIBDIR, scaled

IPT_SRC = "/var/cache/nf-prefrag/iptables-src"
T_FILES = sorted(os.path.join(TOP, "libxt", f)
                 for f in os.listdir(os.path.join(TOP, "libxt")) if f.endswith(".t"))


# iptables' own REJECT tests, unmodified: our plugin must be a superset.
STOCK_T_FILES = [os.path.join(IPT_SRC, "extensions", f)
                 for f in ("libipt_REJECT.t", "libip6t_REJECT.t")]


def iptables_test(mode, files):
    r = subprocess.run(["/usr/bin/python3", "iptables-test.py", "-H", mode, "-N",
                        *files], cwd=IPT_SRC, capture_output=True, text=True,
                       env=dict(os.environ, XTABLES_LIBDIR=XTLIBDIR), timeout=scaled(600))
    m = re.search(r"(\d+) test files, (\d+) unit tests, (\d+) passed", r.stdout)
    assert m, r.stdout + r.stderr
    n_files, tests, passed = map(int, m.groups())
    assert n_files == len(files) and tests > 0 and passed == tests, \
        r.stdout + r.stderr + open("/tmp/iptables-test.log").read()


@pytest.fixture
def reject_v1():
    subprocess.run(["modprobe", "xt_REJECT_MTU"], check=True)


@pytest.mark.parametrize("mode", ["-l", "-n"])
def test_t_files_pass_iptables_test(modules, reject_v1, mode):
    iptables_test(mode, T_FILES)


@pytest.mark.parametrize("mode", ["-l", "-n"])
def test_iptables_own_reject_t_files_pass_with_our_plugin(modules, reject_v1, mode):
    iptables_test(mode, STOCK_T_FILES)
