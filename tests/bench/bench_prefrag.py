"""Benchmark (not a test): nf-prefrag against the real alternatives, measured
in one guest run, rounds interleaved, medians compared.

Topology: host A -> gateway A =(ESP tunnel, MTU 1446 inside)=> gateway B ->
host B, on a path that passes fragments (so that "no rule" works at all: the
kernel fragments each ESP packet and gateway B reassembles it).  Host A sends
TCP bulk with 1500-byte segments.  Absolute numbers under TCG emulation mean
little; ratios measured in the same run are the result.

The clock (NF_PREFRAG_BENCH_CLOCK): "instructions" when QEMU counts them
(vm.py --icount, one vCPU: guest time is 4 ns per instruction and skips
idle time, so Mbit/s are bytes per instruction, the same whatever the host
is doing, and rounds agree within about 1 %), or "wall" (the host's time:
copies, cache misses and context switches cost what they cost, and the
host's noise is in every figure).  Each ratio is the median of its
per-round ratios (the peers of a round run one after the other), printed
with a 95 % confidence interval for that median (from the order statistics
of the rounds: with 9 rounds, the second lowest to the second highest) and
a verdict: met or missed when the whole interval is on one side of the
target, else unresolved.

Peers, all on gateway A:
  no rule            the kernel: encrypt whole, fragment the ESP packet
  PREFRAG fragment   -j PREFRAG --mtu auto (cut before encryption)
  PREFRAG segment    -j PREFRAG --mtu auto --tcp segment (no fragments)
  TCPMSS clamp       -j TCPMSS --clamp-mss-to-pmtu on SYNs headed into the
                     tunnel, on both gateways (each clamps what the far host
                     sends): what TCP users pick today; works only for
                     connections it saw start
  TCPMSS + segment   both: clamping for the connections it saw start, and
                     --tcp segment for what escapes it (the recipe's pair)
  NFQUEUE            nfq-prefrag.c: each oversized packet copied to
                     userspace, fragmented there, re-injected (raw socket)
  NFQUEUE accept     the same queue, every packet accepted as it is: the
                     round trip to userspace alone
  nothing matches    a PREFRAG rule that matches no packet: its cost
DF traffic from a host whose PMTU discovery is broken (ICMP dropped):
  TCPMSS clamp DF    the clamped connection's segments fit: nothing to cut
  TCPMSS + CLEARDF DF  the same, with CLEARDF clearing DF on every segment
                     (what CLEARDF itself costs)
  CLEARDF + PREFRAG DF  CLEARDF in PREROUTING, PREFRAG fragmenting
  PREFRAG segment DF --tcp segment in PREROUTING
With NF_PREFRAG_BENCH_BEFORE (a directory of modules built from an
earlier commit: make bench BEFORE=rev), "(before)" peers load those.
IPv6, forwarded TCP from host A (whose PMTU discovery is broken too: it
drops "packet too big"), where the kernel's own path has no way through:
  IPv6 TCPMSS clamp     ip6tables TCPMSS --clamp-mss-to-pmtu on both gateways
  IPv6 PREFRAG segment  ip6tables PREFRAG --mtu auto --tcp segment in
                        PREROUTING (forwarding refuses what is too big
                        before the later hooks)
Then: parallel flows (1..100), and UDP at fixed offered loads (the CPU the
guest spends per datagram; never a flood, which rewards slowing the
sender), from host A (IPv4, forwarded) and from gateway A itself (IPv6 sent
by a socket that lets the kernel fragment: PREFRAG cuts it before ESP).
"""
import math
import os
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from topology import Tunnel  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NFQ_PREFRAG = os.path.join(TOP, "build", "bench", "nfq-prefrag")
# Rounds and their length: NF_PREFRAG_BENCH_ROUNDS=1 NF_PREFRAG_BENCH_SECONDS=1
# tries the benchmark itself out in minutes.
SECONDS = float(os.environ.get("NF_PREFRAG_BENCH_SECONDS", 4))
# 9: enough for a 95 % interval of the median inside the range.
ROUNDS = int(os.environ.get("NF_PREFRAG_BENCH_ROUNDS", 9))
SHORT_ROUNDS = min(ROUNDS, 3)  # for the flow and UDP series
CLOCK = os.environ.get("NF_PREFRAG_BENCH_CLOCK", "wall")
BEFORE = os.environ.get("NF_PREFRAG_BENCH_BEFORE", "")
MODULES = ("xt_PREFRAG", "xt_CLEARDF", "xt_REJECT_MTU", "nf_prefrag")
NS_PER_INSN = 4  # -icount shift=2
TUNNEL_MTU = 1446
PORT = 5003
IPSEC_OUT = "-m policy --dir out --pol ipsec"

PEERS = {
    "no rule": [],
    "PREFRAG fragment": [f"-t mangle -A POSTROUTING {IPSEC_OUT} -j PREFRAG --mtu auto"],
    "PREFRAG segment": [f"-t mangle -A POSTROUTING {IPSEC_OUT} -j PREFRAG --mtu auto --tcp segment"],
    "TCPMSS clamp": ["both: -t mangle -A FORWARD -o eth1 -p tcp --tcp-flags SYN,RST SYN "
                     "-j TCPMSS --clamp-mss-to-pmtu"],
    "TCPMSS + segment": ["both: -t mangle -A FORWARD -o eth1 -p tcp --tcp-flags SYN,RST SYN "
                         "-j TCPMSS --clamp-mss-to-pmtu",
                         f"-t mangle -A POSTROUTING {IPSEC_OUT} -j PREFRAG --mtu auto --tcp segment"],
    "NFQUEUE": [f"-t mangle -A FORWARD -o eth1 -m length --length {TUNNEL_MTU + 1}:65535 "
                "-j NFQUEUE --queue-num 0"],
    "NFQUEUE accept": [f"-t mangle -A FORWARD -o eth1 -m length --length {TUNNEL_MTU + 1}:65535 "
                       "-j NFQUEUE --queue-num 0"],
    "nothing matches": ["-t mangle -A POSTROUTING -d 192.0.2.0/24 -j PREFRAG --mtu auto"],
}
DF_PEERS = {
    "TCPMSS clamp DF": PEERS["TCPMSS clamp"],
    "TCPMSS + CLEARDF DF": PEERS["TCPMSS clamp"] + ["-t mangle -A PREROUTING -i eth0 -j CLEARDF"],
    "CLEARDF + PREFRAG DF": ["-t mangle -A PREROUTING -i eth0 -j CLEARDF",
                             f"-t mangle -A POSTROUTING {IPSEC_OUT} -j PREFRAG --mtu auto"],
    "PREFRAG segment DF": ["-t mangle -A PREROUTING -i eth0 -j PREFRAG --mtu auto --tcp segment"],
}


IPV6_PEERS = {
    "IPv6 TCPMSS clamp": ["both: 6: -t mangle -A FORWARD -o eth1 -p tcp --tcp-flags SYN,RST SYN "
                          "-j TCPMSS --clamp-mss-to-pmtu"],
    "IPv6 PREFRAG segment": ["6: -t mangle -A PREROUTING -i eth0 -p tcp "
                             "-j PREFRAG --mtu auto --tcp segment"],
}
LOCAL6_PEERS = {
    "IPv6 local, no rule": [],
    "IPv6 local, PREFRAG": [f"6: -t mangle -A POSTROUTING {IPSEC_OUT} -j PREFRAG --mtu auto"],
}

if BEFORE:
    PEERS["PREFRAG fragment (before)"] = PEERS["PREFRAG fragment"]
    PEERS["PREFRAG segment (before)"] = PEERS["PREFRAG segment"]


def load_modules(directory=None):
    """Our modules from the module tree, or from @directory (insmod, with
    the kernel's modules they need loaded by modprobe of ours first)."""
    subprocess.run(["rmmod", *MODULES], capture_output=True)
    subprocess.run(["modprobe", "-a", "xt_PREFRAG", "xt_CLEARDF", "xt_REJECT_MTU"], check=True)
    if directory:
        subprocess.run(["rmmod", *MODULES], check=True)
        for m in reversed(MODULES):
            subprocess.run(["insmod", os.path.join(directory, m + ".ko")], check=True)


class Setup:
    """Gateway A's rules ("both: ..." on gateway B too), the NFQUEUE peer's
    process, and the modules (before or now), for the peer @name."""

    def __init__(self, t, name, df=False):
        self.t, self.name, self.df, self.nfq = t, name, df, None
        self.rules = {**PEERS, **DF_PEERS, **IPV6_PEERS, **LOCAL6_PEERS}[name]

    def __enter__(self):
        t = self.t
        t.flush_rules()
        t.ha.sysctl("net.ipv4.ip_no_pmtu_disc", 0 if self.df else 1)
        if self.name.endswith("(before)"):
            load_modules(BEFORE)
        for r in self.rules:
            gateways = t.routers() if r.startswith("both: ") else (t.ra,)
            r = r.removeprefix("both: ")
            cmd = "ip6tables-legacy" if r.startswith("6: ") else "iptables-legacy"
            for g in gateways:
                g.sh(f"{cmd} {r.removeprefix('6: ')}")
        if any("NFQUEUE" in r for r in self.rules):
            mtu = 65535 if self.name == "NFQUEUE accept" else TUNNEL_MTU
            self.nfq = t.ra.popen([NFQ_PREFRAG, "0", str(mtu)], stdout=subprocess.PIPE)
            assert self.nfq.stdout.readline().strip() == b"ready"
        return self

    def __exit__(self, *exc):
        if self.nfq:
            self.nfq.kill()
            self.nfq.wait()
        self.t.flush_rules()
        if self.name.endswith("(before)"):
            load_modules()


def tx_packets(ns, ifname="eth1"):
    """Packets @ns has sent on @ifname (/proc/net/dev of its namespace)."""
    with ns.entered():
        with open("/proc/thread-self/net/dev") as f:
            for line in f:
                name, _, fields = line.partition(":")
                if name.strip() == ifname:
                    return int(fields.split()[9])
    raise LookupError(f"no {ifname} in {ns.name}")


def tcp_throughput(t, flows=1, seconds=SECONDS, v6=False, wire=None):
    """Mbit/s received by host B over `flows` parallel connections from host
    A, counted for `seconds`, from one second after the last one connected
    (handshakes are not what is measured).  @wire, a list, gets the packets
    gateway A sent into the path (ESP packets, or their fragments) per MiB
    that host B received in that time."""
    family, dst = (socket.AF_INET6, t.HB6) if v6 else (socket.AF_INET, t.HB)
    sel = selectors.DefaultSelector()
    with t.hb.entered():
        srv = socket.socket(family)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((dst, PORT))
        srv.listen(flows + 16)
    srv.setblocking(False)
    sel.register(srv, selectors.EVENT_READ, "accept")
    socks = [srv]
    with t.ha.entered():
        for _ in range(flows):
            c = socket.socket(family)
            c.setblocking(False)
            c.connect_ex((dst, PORT))
            sel.register(c, selectors.EVENT_WRITE, "send")
            socks.append(c)
    chunk = b"\x5a" * (1 << 16)
    accepted, received = 0, 0
    t0 = end = sent0 = None
    connecting = time.monotonic() + 30  # then go on with those connected
    while end is None or time.monotonic() < end:
        if t0 is None and (accepted == flows or time.monotonic() > connecting):
            t0 = time.monotonic() + 1
            end = t0 + seconds
        if sent0 is None and t0 is not None and time.monotonic() >= t0:
            sent0 = tx_packets(t.ra)
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                if key.data == "accept":
                    conn, _ = s.accept()
                    conn.setblocking(False)
                    sel.register(conn, selectors.EVENT_READ, "recv")
                    socks.append(conn)
                    accepted += 1
                elif key.data == "send":
                    s.send(chunk)
                else:
                    n = len(s.recv(1 << 18))
                    if t0 is not None and time.monotonic() >= t0:
                        received += n
            except (BlockingIOError, ConnectionError):
                pass
    if wire is not None:
        wire.append((tx_packets(t.ra) - sent0) / max(received / 2 ** 20, 1e-9))
    for s in socks:
        s.close()
    sel.close()
    return received * 8 / seconds / 1e6


def cpu_busy():
    """(busy, total) jiffies of the guest, from /proc/stat."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(f) - f[3] - f[4], sum(f)


def drain(sock):
    """How many datagrams were waiting (and are read now)."""
    n = 0
    try:
        while True:
            sock.recv(2048)
            n += 1
    except BlockingIOError:
        return n


def udp_load(t, pps, seconds=SECONDS, local6=False):
    """Offer `pps` 1500-byte datagrams a second that the kernel may fragment,
    IPv4 from host A, or (@local6) IPv6 from gateway A; return (fraction
    delivered, guest CPU busy fraction, busy seconds, datagrams sent)."""
    family, dst, sender, size = ((socket.AF_INET6, t.HB6, t.ra, 1452) if local6
                                 else (socket.AF_INET, t.HB, t.ha, 1472))
    with t.hb.entered():
        rx = socket.socket(family, socket.SOCK_DGRAM)
        rx.bind((dst, PORT + 1))
        rx.setblocking(False)
    with sender.entered():
        tx = socket.socket(family, socket.SOCK_DGRAM)
    # IPV6_MTU_DISCOVER (23) or IP_MTU_DISCOVER (10): DONT (0); Python
    # has no names for them.
    tx.setsockopt(*((socket.IPPROTO_IPV6, 23) if local6 else (socket.IPPROTO_IP, 10)), 0)
    data, sent, got = b"u" * size, 0, 0
    busy0, total0 = cpu_busy()
    start = time.monotonic()
    while True:
        now = time.monotonic()
        if now - start >= seconds:
            break
        due = int((now - start) * pps)
        while sent < due:
            tx.sendto(data, (dst, PORT + 1))
            sent += 1
        got += drain(rx)
        time.sleep(0.001)
    time.sleep(0.3)
    got += drain(rx)
    busy1, total1 = cpu_busy()
    tx.close()
    rx.close()
    hz = os.sysconf("SC_CLK_TCK")
    return (got / max(sent, 1), (busy1 - busy0) / max(total1 - total0, 1),
            (busy1 - busy0) / hz, sent)


def interleaved(t, peers, measure, df=False, rounds=ROUNDS):
    """{peer: [one result per round]}, peers alternating within each round;
    measure(peer) measures one."""
    results = {name: [] for name in peers}
    for _ in range(rounds):
        for name in peers:
            with Setup(t, name, df):
                results[name].append(measure(name))
    return results


def med(v):
    return statistics.median(v)


def median_interval(v):
    """A 95 % confidence interval for the median of @v, from its order
    statistics: [v(k), v(n+1-k)] with the largest k for which the binomial
    tail P(Bin(n, 1/2) < k) stays within 2.5 % (the whole range below 6
    values)."""
    v, n = sorted(v), len(v)
    k, tail = 0, 0.0
    while k < n // 2:
        tail += math.comb(n, k) / 2 ** n  # P(Bin(n, 1/2) < k + 1)
        if tail > 0.025:
            break
        k += 1
    k = max(k, 1)
    return v[k - 1], v[n - k]


def ratio_line(label, num, den, target=None):
    """Median of the per-round ratios, its 95 % interval, and the verdict
    against @target (the lowest ratio wanted)."""
    per_round = [a / b for a, b in zip(num, den) if b]
    if not per_round:
        return f"  {label:44s}    n/a"
    r, (lo, hi) = med(per_round), median_interval(per_round)
    line = f"  {label:44s} {r:6.2f}  [{lo:.2f} .. {hi:.2f}]"
    if target is not None:
        verdict = "met" if lo >= target else "missed" if hi < target else "unresolved"
        line += f"   ≥ {target:.2f}: {verdict}"
    return line


def main():
    resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
    subprocess.run(["modprobe", "-a", "xt_PREFRAG", "xt_CLEARDF"], check=True)
    t = Tunnel(prefix="bench", drop_fragments=False, ipv6=True)
    # Broken PMTU discovery on host A: it never learns the tunnel's MTU.
    t.ha.sh("iptables-legacy -A INPUT -p icmp --icmp-type fragmentation-needed -j DROP")
    t.ha.sh("ip6tables-legacy -A INPUT -p icmpv6 --icmpv6-type packet-too-big -j DROP")
    cpus = os.cpu_count()
    with Setup(t, "no rule"):
        tcp_throughput(t)  # warm-up: routes, SAs, crypto

    wire = {}  # {peer: [packets into the path per MiB, per round]}

    def bulk(name, **kw):
        return tcp_throughput(t, wire=wire.setdefault(name, []), **kw)

    tcp = interleaved(t, PEERS, bulk)
    tcp.update(interleaved(t, DF_PEERS, bulk, df=True))
    tcp.update(interleaved(t, IPV6_PEERS, lambda name: bulk(name, v6=True)))
    base = med(tcp["no rule"])

    print(__doc__)
    print(f"== clock: {CLOCK}")
    print(f"== TCP bulk, 1 flow, {cpus} vCPU(s), {ROUNDS} rounds of {SECONDS:g} s")
    print(f"{'peer':26s} {'Mbit/s (rounds)':56s} {'median':>7s} {'÷ no rule':>10s}"
          f" {'packets/MiB':>12s}")
    for name, v in tcp.items():
        rounds = ", ".join(f"{x:.1f}" for x in v)
        print(f"{name:26s} {rounds:56s} {med(v):7.1f} {med(v) / base:10.2f}"
              f" {med(wire[name]):12.0f}")
    print("(packets/MiB: what gateway A sent into the path per MiB delivered, median)")
    print("\nratios [95 % interval of the median] and targets:")
    for label, num, den, target in (
            ("PREFRAG segment / no rule", "PREFRAG segment", "no rule", 1.0),
            # Without a target: re-segmenting what the sender cut too big
            # sends more packets than a sender told the MSS (the packet
            # ratio below says how many more).
            ("PREFRAG segment / TCPMSS clamp", "PREFRAG segment", "TCPMSS clamp", None),
            ("TCPMSS + segment / TCPMSS clamp", "TCPMSS + segment", "TCPMSS clamp", 0.99),
            ("PREFRAG fragment / no rule", "PREFRAG fragment", "no rule", 0.90),
            ("PREFRAG fragment / NFQUEUE", "PREFRAG fragment", "NFQUEUE", None),
            ("PREFRAG fragment / NFQUEUE accept", "PREFRAG fragment", "NFQUEUE accept", None),
            ("no rule / NFQUEUE accept", "no rule", "NFQUEUE accept", None),
            ("PREFRAG segment DF / TCPMSS clamp DF", "PREFRAG segment DF", "TCPMSS clamp DF", None),
            ("TCPMSS + CLEARDF DF / TCPMSS clamp DF: CLEARDF", "TCPMSS + CLEARDF DF",
             "TCPMSS clamp DF", 0.97),
            ("nothing matches / no rule", "nothing matches", "no rule", 0.99),
            ("IPv6 PREFRAG segment / IPv6 TCPMSS clamp", "IPv6 PREFRAG segment",
             "IPv6 TCPMSS clamp", None),
            ("PREFRAG fragment / (before)", "PREFRAG fragment", "PREFRAG fragment (before)", None),
            ("PREFRAG segment / (before)", "PREFRAG segment", "PREFRAG segment (before)", None)):
        if num in tcp and den in tcp:
            print(ratio_line(label, tcp[num], tcp[den], target))
    print("packets into the path, per MiB:")
    for label, num, den in (("PREFRAG segment / TCPMSS clamp", "PREFRAG segment", "TCPMSS clamp"),
                            ("PREFRAG fragment / no rule", "PREFRAG fragment", "no rule")):
        print(ratio_line(label, wire[num], wire[den]))

    print(f"\n== TCP bulk, parallel flows, {cpus} vCPU(s), {SHORT_ROUNDS} rounds")
    flow_peers = {k: PEERS[k] for k in ("no rule", "PREFRAG segment", "PREFRAG fragment",
                                        "TCPMSS clamp", "TCPMSS + segment")}
    print(f"{'flows':>6s} {'no rule':>9s} {'segment':>9s} {'fragment':>9s} {'TCPMSS':>9s}"
          f" {'TCPMSS+seg':>11s} {'seg ÷ none':>11s} {'frag ÷ none':>12s} {'seg ÷ TCPMSS':>13s}"
          f" {'both ÷ TCPMSS':>14s} {'seg pkts ÷ TCPMSS':>18s}")
    for flows in (1, 10, 100):
        w = {}
        r = interleaved(t, flow_peers, lambda name: tcp_throughput(
            t, flows, wire=w.setdefault(name, [])), rounds=SHORT_ROUNDS)
        n, s, f, m, b = (med(r[k]) or float("nan") for k in flow_peers)
        packets = med(w["PREFRAG segment"]) / (med(w["TCPMSS clamp"]) or float("nan"))
        print(f"{flows:6d} {n:9.1f} {s:9.1f} {f:9.1f} {m:9.1f} {b:11.1f}"
              f" {s / n:11.2f} {f / n:12.2f} {s / m:13.2f} {b / m:14.2f} {packets:18.2f}")

    print(f"\n== UDP, 1500-byte datagrams at fixed offered loads, {cpus} vCPU(s), "
          f"{SHORT_ROUNDS} rounds")
    per = "instructions" if CLOCK == "instructions" else "µs of CPU"
    print(f"{'pps':>6s} {'peer':22s} {'delivered':>10s} {'guest CPU':>10s} {per + ' per datagram':>26s}")
    series = [(pps, ("no rule", "PREFRAG fragment", "NFQUEUE"), False) for pps in (300, 1000)]
    series.append((300, tuple(LOCAL6_PEERS), True))
    for pps, udp_peers, local6 in series:
        r = interleaved(t, udp_peers, lambda name: udp_load(t, pps, local6=local6),
                        rounds=SHORT_ROUNDS)
        for name, v in r.items():
            busy_s = med([x[2] for x in v]) / max(med([x[3] for x in v]), 1)
            cost = busy_s * 1e9 / NS_PER_INSN if CLOCK == "instructions" else busy_s * 1e6
            print(f"{pps:6d} {name:22s} {med([x[0] for x in v]):10.1%}"
                  f" {med([x[1] for x in v]):10.1%} {cost:26.0f}")

    print(f"\ngateway A counters: {t.ra.counters()}")
    t.delete()


if __name__ == "__main__":
    main()
