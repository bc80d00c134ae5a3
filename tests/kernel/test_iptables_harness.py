"""Our .t files through iptables' own iptables-test.py, against the real
kernel modules, with iptables-legacy and iptables-nft."""
import os
import re
import subprocess

import pytest

from nettest import TOP, XTLIBDIR

IPT_SRC = "/var/cache/nf-prefrag/iptables-src"
T_FILES = sorted(os.path.join(TOP, "libxt", f)
                 for f in os.listdir(os.path.join(TOP, "libxt")) if f.endswith(".t"))


@pytest.mark.parametrize("mode", ["-l", "-n"])
def test_t_files_pass_iptables_test(modules, mode):
    r = subprocess.run(["/usr/bin/python3", "iptables-test.py", "-H", mode, "-N",
                        *T_FILES], cwd=IPT_SRC, capture_output=True, text=True,
                       env=dict(os.environ, XTABLES_LIBDIR=XTLIBDIR), timeout=600)
    m = re.search(r"(\d+) test files, (\d+) unit tests, (\d+) passed", r.stdout)
    assert m, r.stdout + r.stderr
    files, tests, passed = map(int, m.groups())
    assert files == len(T_FILES) and tests > 0 and passed == tests, \
        r.stdout + r.stderr + open("/tmp/iptables-test.log").read()
