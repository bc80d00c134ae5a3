"""The harness notices every kind of kernel report: each canary fault
(nf_prefrag_canary.c, built by `make canary`) is committed in a guest of its
own, and tests/guest/vm.py must fail that run and quote the report.  The
control (no fault) must pass, so that a harness failing every run cannot
pass these tests.

Runs on this machine (it boots the guests itself): on the default kernel
(`make check`), or with NF_PREFRAG_CANARY_KERNEL_TREE=<tree> and
NF_PREFRAG_CANARY_KERNEL=<release> on the debug kernel (`make check-debug`),
which adds the faults only a debug kernel detects (lockdep, PROVE_RCU,
kmemleak)."""
import os
import re
import subprocess
import sys

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "guest"))

import vm  # noqa: E402

TREE = os.environ.get("NF_PREFRAG_CANARY_KERNEL_TREE")
DEBUG = bool(TREE)

# fault: (what the run's report must quote (a regular expression), command before the insmod,
# seconds the command waits after it, vm.py timeout).  The stall canary
# prints an unfinished line to the console first: its report lands mid-line
# there, and with the guest locked up and then panicking, only the console
# has it.
FAULTS = {
    # A CPU that does not schedule: the soft-lockup detector or RCU's stall
    # warning, whichever fires first (RCU's, at 21 s, under emulation).
    "stall": ("soft lockup|detected stalls",
              "printf 'tests/kernel/test_x.py::test_y ' >/dev/console; ", 0, 300),
    # hung_task names tasks asleep uninterruptibly past this many seconds.
    "hung-task": ("blocked for more than",
                  "echo 5 >/proc/sys/kernel/hung_task_timeout_secs; ", 20, 300),
    # The command passes; the guest then hangs in its power-off.
    "hang-at-poweroff": ("did not finish within", "", 0, 60),
}
if DEBUG:
    FAULTS.update({
        "lock-inversion": ("possible circular locking dependency", "", 0, 900),
        "rcu": ("suspicious RCU usage", "", 0, 900),
        "leak": ("unreferenced object", "", 0, 900),
    })


def kernel():
    if DEBUG:
        return os.environ["NF_PREFRAG_CANARY_KERNEL"]
    return os.environ.get("NF_PREFRAG_KERNEL") or vm.default_kernel()


def boot_with(fault, prefix="", wait=0, timeout=300):
    kver = kernel()
    ko = os.path.join(TOP, "build", "canary", kver, "nf_prefrag_canary.ko")
    assert os.path.exists(ko), f"{ko} missing: run make canary"
    scale = 4 if DEBUG else 1
    command = f"{prefix}insmod {ko} fault={fault} && sleep {wait} && echo canary-done"
    args = [sys.executable, os.path.join(TOP, "tests", "guest", "vm.py"),
            "--kernel", kver, "--timeout", str(timeout * scale), "--quiet"]
    if DEBUG:
        args += ["--kernel-tree", TREE, "--mem", "3072", "--append", "no5lvl"]
    r = subprocess.run(args + ["--", command], capture_output=True, text=True,
                       timeout=timeout * scale + 120)
    return r.returncode, r.stdout + r.stderr


def test_control_run_passes():
    rc, out = boot_with("none")
    assert rc == 0, out[-6000:]
    assert "vm: kernel log shows trouble" not in out


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_fails_the_run(fault):
    report, prefix, wait, timeout = FAULTS[fault]
    rc, out = boot_with(fault, prefix, wait, timeout)
    assert rc != 0, f"the {fault} canary passed:\n{out[-6000:]}"
    vm_lines = "\n".join(l for l in out.splitlines() if l.startswith("vm: "))
    assert re.search(report, vm_lines), f"vm.py did not quote '{report}':\n{vm_lines}\n{out[-6000:]}"
