"""The kernel's own network selftests, from the release's kernel source
package (linux-source-6.1 on Debian 12; tests/selftests/prepare.sh): a
subset of pmtu.sh, and ip_defrag.sh.  They
run twice, on the stock kernel (none of our modules loaded), then with our
modules and our rules in every namespace they create (tests/selftests/ip
and rules.sh: every action, matching nothing, and PREFRAG on every packet
with an MTU no packet reaches).  The results must be identical.

`make check-debug` sets NF_PREFRAG_SELFTESTS=with-ours-only: there the
selftests run once, with our rules, for KASAN, lockdep and kmemleak to
watch, and only the ESP ones of pmtu.sh (DEBUG_PMTU_TESTS), each of which
must pass (tried up to three times: under KASAN they may miss their own
deadlines).  The stock pass with retries added more than an hour there;
the comparison is `make check`'s, on the stock kernels."""
import os
import re
import subprocess
import time

import pytest

from nettest import TOP, scaled
from ourmodules import loaded_ours, unload_ours

pytestmark = pytest.mark.runs_last(1)  # it unloads our modules

SELFTESTS = os.path.join(TOP, "build", "selftests", "net")
SHIM = os.path.join(TOP, "tests", "selftests")
WITH_OURS_ONLY = os.environ.get("NF_PREFRAG_SELFTESTS") == "with-ours-only"

# What bears on us, and fits in a few minutes of emulation: PMTU exceptions
# from routers, over vti with ESP (plain and in UDP), MTUs of vti devices,
# route changes.  (IP-in-IP, DSCP and the exception list add minutes and
# no hook of ours that these do not pass.)
PMTU_TESTS = [
    "pmtu_ipv4_exception", "pmtu_ipv6_exception",
    "pmtu_vti4_exception", "pmtu_vti6_exception",
    "pmtu_vti4_udp_exception", "pmtu_vti6_udp_exception",
    "pmtu_vti4_default_mtu", "pmtu_vti6_link_change_mtu",
    "pmtu_ipv4_route_change", "pmtu_ipv6_route_change",
]
# Under KASAN and lockdep one test of pmtu.sh takes minutes
# (pmtu_ipv4_exception, run twice by pmtu.sh, legacy routes and nexthop
# objects: 9 minutes alone, more than 40 beside two other guests):
# check-debug keeps those whose packets cross an SA, where PREFRAG sits.
DEBUG_PMTU_TESTS = [
    "pmtu_vti4_exception", "pmtu_vti6_exception",
    "pmtu_vti4_udp_exception", "pmtu_vti6_udp_exception",
]
SELECTED_PMTU_TESTS = DEBUG_PMTU_TESTS if WITH_OURS_ONLY else PMTU_TESTS


def run_selftests(tmp_path, with_ours):
    """{test: result}, and what the selftests printed."""
    env = dict(os.environ, NF_PREFRAG_SHIM_LOG=str(tmp_path / "shim.log"))
    if with_ours:
        env["PATH"] = SHIM + ":" + env["PATH"]
    results, log = {}, ""
    for name in SELECTED_PMTU_TESTS + ["ip_defrag"]:
        # bash: pmtu.sh became a bash script after 6.1.
        cmd = ["bash", "./ip_defrag.sh"] if name == "ip_defrag" else ["bash", "./pmtu.sh", name]
        # Under emulation a test may miss its own deadlines (ip_defrag.sh
        # waits one second for each datagram; prepare.sh gives its fragment
        # queues five): a failure is tried twice more, the same way in both
        # runs.
        for attempt in range(1, 4):
            started = time.monotonic()
            r = subprocess.run(cmd, cwd=SELFTESTS, env=env, capture_output=True, text=True,
                               timeout=scaled(600))
            log += (f"== {name}, attempt {attempt} ({time.monotonic() - started:.0f} s)\n"
                    f"{r.stdout}{r.stderr}")
            if r.returncode == 0:
                break
        # pmtu.sh: "TEST: <what> [ OK ]" lines; ip_defrag.sh: one line per step.
        results[name] = (r.returncode, re.findall(r"^TEST: .*|^ipv.*|^all tests done",
                                                  r.stdout, re.M))
    return results, log


def test_selftests_cannot_tell_our_modules_are_there(modules, tmp_path):
    assert os.path.exists(os.path.join(SELFTESTS, "pmtu.sh")), \
        "run tests/selftests/prepare.sh first (tests/run-tests.sh does)"
    r = unload_ours()
    assert r.returncode == 0, r.stderr
    # Stock REJECT too: with it loaded, the kernel would not load ours for
    # REJECT revision 1 (the modprobe.d file loads both together).
    subprocess.run(["rmmod", "ipt_REJECT", "ip6t_REJECT"], capture_output=True)
    if not WITH_OURS_ONLY:
        stock, stock_log = run_selftests(tmp_path, with_ours=False)
        print("stock kernel:\n" + stock_log)
        assert not loaded_ours()

    ours, ours_log = run_selftests(tmp_path, with_ours=True)
    print("with our modules and rules:\n" + ours_log)
    shim_log = (tmp_path / "shim.log").read_text()
    assert "rules failed" not in shim_log, shim_log
    assert shim_log.count("rules loaded") >= 2 * len(SELECTED_PMTU_TESTS), shim_log
    assert loaded_ours() == ["xt_REJECT_MTU", "xt_CLEARDF", "xt_PREFRAG", "nf_prefrag"]
    if WITH_OURS_ONLY:
        # No stock run to compare with: each selftest must pass by itself.
        failed = {name: lines for name, (status, lines) in ours.items() if status != 0}
        assert not failed, f"{failed}\n{ours_log}"
        assert all(lines for _, lines in ours.values()), ours_log
        return

    assert ours == stock
    # They ran, and mostly passed: a comparison of two empty runs proves nothing.
    passed = [name for name, (status, _) in stock.items() if status == 0]
    assert len(passed) >= len(stock) // 2, stock_log
    assert stock["ip_defrag"][0] == 0, stock_log
