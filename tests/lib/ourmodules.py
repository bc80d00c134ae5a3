"""Our kernel modules, as the guest tests unload them."""
import subprocess
import time

OUR_MODULES = ["xt_REJECT_MTU", "xt_CLEARDF", "xt_PREFRAG", "nf_prefrag"]  # users first


def loaded_ours():
    with open("/proc/modules") as f:
        loaded = {line.split()[0] for line in f}
    return [m for m in OUR_MODULES if m in loaded]


def unload_ours():
    """rmmod those of our modules that are loaded, and return the result.
    Waits for what is released later: netns teardown takes its hooks with it
    asynchronously, nf_tables frees rules after a grace period."""
    mods = loaded_ours()
    r = subprocess.CompletedProcess([], 0, "", "")
    for _ in range(50):
        if not mods:
            break
        r = subprocess.run(["rmmod"] + mods, capture_output=True, text=True)
        if r.returncode == 0:
            break
        time.sleep(0.2)
        mods = loaded_ours()
    if r.returncode:
        r.stderr += open("/proc/modules").read()
    return r
