"""Our kernel modules, as the guest tests unload them."""
import os
import subprocess
import time

from nettest import scaled

OUR_MODULES = ["xt_REJECT_MTU", "xt_CLEARDF", "xt_PREFRAG", "nf_prefrag"]  # users first


def loaded_ours():
    with open("/proc/modules") as f:
        loaded = {line.split()[0] for line in f}
    return [m for m in OUR_MODULES if m in loaded]


def unload_ours():
    """rmmod those of our modules that are loaded, and return the result.
    Waits for what is released later: netns teardown takes its rules with it
    asynchronously (cleanup_net, a work queue: once in CI, with another guest
    beside, the selftests' last namespace still held its rules 20 s after it
    was deleted), and
    nf_tables frees rules after a grace period."""
    mods = loaded_ours()
    r = subprocess.CompletedProcess([], 0, "", "")
    deadline = time.monotonic() + scaled(90)
    while mods:
        r = subprocess.run(["rmmod"] + mods, capture_output=True, text=True)
        if r.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
        mods = loaded_ours()
    if r.returncode:
        r.stderr += open("/proc/modules").read() + why_still_in_use()
    return r


def why_still_in_use():
    """What can keep rules alive after their namespaces were deleted: a
    process still inside one, or a namespace whose teardown is stuck (the
    kernel log says "waiting for <dev> to become free")."""
    init = os.readlink("/proc/1/ns/net")
    inside = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            ns = os.readlink(f"/proc/{pid}/ns/net")
            comm = open(f"/proc/{pid}/comm").read().strip()
        except OSError:
            continue
        if ns != init:
            inside.append(f"{pid} {comm} {ns}")
    dmesg = subprocess.run(["dmesg"], capture_output=True, text=True).stdout
    return ("\nprocesses in other namespaces:\n" + "\n".join(inside or ["none"]) +
            "\nnamed namespaces: " + subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                     text=True).stdout +
            "\nkernel log, last lines:\n" + "\n".join(dmesg.splitlines()[-25:]))
