"""Runs last: after all that traffic, the modules unload cleanly."""
import subprocess


def test_modules_unload_cleanly(modules):
    subprocess.run("for n in $(ip netns list | cut -d' ' -f1); do ip netns del $n; done",
                   shell=True, check=True)
    subprocess.run("iptables-legacy -t mangle -F; iptables-legacy -t raw -F; "
                   "iptables-nft -t mangle -F 2>/dev/null; true", shell=True)
    # netns teardown is asynchronous: the hooks go with it.
    for _ in range(50):
        r = subprocess.run(["rmmod", "xt_PREFRAG", "nf_prefrag"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            break
        subprocess.run(["sleep", "0.2"])
    assert r.returncode == 0, r.stderr
    lsmod = subprocess.run(["lsmod"], capture_output=True, text=True).stdout
    assert "nf_prefrag" not in lsmod
