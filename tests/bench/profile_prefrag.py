"""Profile (not a test): where the instructions go when PREFRAG fragments,
against no rule, in the benchmark's tunnel (bench_prefrag.py).  Run by
`make profile` in a guest whose clock counts instructions (vm.py --icount),
so that perf's cpu-clock samples are instructions: 4 ns of guest time each.

For each peer, one TCP bulk transfer of a fixed size with `perf record -a`
over the whole guest (both gateways and hosts: one kernel); the table
gives, per symbol, the samples per MiB delivered, for both peers and their
difference, largest first.
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import bench_prefrag as bench  # noqa: E402
from nettest import tcp_transfer  # noqa: E402
from topology import Tunnel  # noqa: E402

SIZE = 32 << 20
TOP_SYMBOLS = 40


def profile(t, peer, workdir):
    data = os.path.join(workdir, peer.replace(" ", "-") + ".data")
    with bench.Setup(t, peer):
        perf = subprocess.Popen(["perf", "record", "-a", "-e", "cpu-clock", "-F", "2000",
                                 "-o", data], stdout=subprocess.DEVNULL,
                                stderr=open(data + ".log", "w"))
        # perf takes a while to start (it reads every process's maps):
        # measure once its file has its header.
        while not os.path.exists(data) or os.path.getsize(data) == 0:
            time.sleep(0.1)
        time.sleep(2)
        got = tcp_transfer(t.ha, t.hb, t.HB, SIZE, port=5030, timeout=600)
        perf.send_signal(2)
        perf.wait()
    assert got == (SIZE, True), got
    out = subprocess.run(["perf", "report", "-i", data, "--stdio", "--sort", "symbol",
                          "-F", "sample,symbol", "--percent-limit", "0"],
                         capture_output=True, text=True).stdout
    samples = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].isdigit() and parts[1].startswith("["):
            samples[parts[2]] = samples.get(parts[2], 0) + int(parts[0])
    assert samples, open(data + ".log").read() + out[:2000]
    return {sym: n / (SIZE >> 20) for sym, n in samples.items()}


def main():
    subprocess.run(["modprobe", "-a", "xt_PREFRAG", "xt_CLEARDF"], check=True)
    t = Tunnel(prefix="prof", drop_fragments=False)
    t.ha.sh("iptables-legacy -A INPUT -p icmp --icmp-type fragmentation-needed -j DROP")
    t.ha.sysctl("net.ipv4.ip_no_pmtu_disc", 1)
    workdir = tempfile.mkdtemp(prefix="nf-prefrag-profile.")
    with bench.Setup(t, "no rule"):
        tcp_transfer(t.ha, t.hb, t.HB, 1 << 20, port=5030, timeout=600)  # warm-up
    base = profile(t, "no rule", workdir)
    frag = profile(t, "PREFRAG fragment", workdir)
    print(__doc__)
    print(f"samples per MiB delivered (one sample: 500 µs of guest time, "
          f"125 000 instructions); total: no rule {sum(base.values()):.0f}, "
          f"PREFRAG fragment {sum(frag.values()):.0f}")
    print(f"{'symbol':48s} {'no rule':>9s} {'fragment':>9s} {'extra':>9s}")
    rows = sorted(set(base) | set(frag), key=lambda s: frag.get(s, 0) - base.get(s, 0),
                  reverse=True)
    for sym in rows[:TOP_SYMBOLS]:
        b, f = base.get(sym, 0), frag.get(sym, 0)
        print(f"{sym[:48]:48s} {b:9.1f} {f:9.1f} {f - b:9.1f}")
    t.delete()


if __name__ == "__main__":
    main()
