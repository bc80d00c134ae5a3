"""Benchmark (not a test): nf-prefrag against the real alternatives, measured
in one guest run, rounds interleaved, medians compared.

Topology: host A -> gateway A =(ESP tunnel, MTU 1446 inside)=> gateway B ->
host B, on a path that passes fragments (so that "no rule" works at all: the
kernel fragments each ESP packet and gateway B reassembles it).  Host A sends
TCP bulk with 1500-byte segments.  Absolute numbers under TCG emulation mean
little; ratios measured in the same run are the result.

Peers, all on gateway A:
  no rule            the kernel: encrypt whole, fragment the ESP packet
  PREFRAG fragment   -j PREFRAG --mtu auto (cut before encryption)
  PREFRAG segment    -j PREFRAG --mtu auto --tcp segment (no fragments)
  TCPMSS clamp       -j TCPMSS --clamp-mss-to-pmtu on SYNs headed into the
                     tunnel, on both gateways (each clamps what the far host
                     sends): what TCP users pick today; works only for
                     connections it saw start
  NFQUEUE            nfq-prefrag.c: each oversized packet copied to
                     userspace, fragmented there, re-injected (raw socket)
  nothing matches    a PREFRAG rule that matches no packet: its cost
DF traffic from a host whose PMTU discovery is broken (ICMP dropped):
  TCPMSS clamp DF    the clamped connection's segments fit: nothing to cut
  TCPMSS + CLEARDF DF  the same, with CLEARDF clearing DF on every segment
                     (what CLEARDF itself costs)
  CLEARDF + PREFRAG DF  CLEARDF in PREROUTING, PREFRAG fragmenting
  PREFRAG segment DF --tcp segment in PREROUTING
Then: parallel flows (1..1000), and UDP at fixed offered loads (the CPU the
guest spends per packet; never a flood, which rewards slowing the sender).
"""
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
SECONDS = 4
ROUNDS = 5  # TCG is noisy: medians of five
SHORT_ROUNDS = 3  # for the flow and UDP series
TUNNEL_MTU = 1446
PORT = 5003
IPSEC_OUT = "-m policy --dir out --pol ipsec"

PEERS = {
    "no rule": [],
    "PREFRAG fragment": [f"-t mangle -A POSTROUTING {IPSEC_OUT} -j PREFRAG --mtu auto"],
    "PREFRAG segment": [f"-t mangle -A POSTROUTING {IPSEC_OUT} -j PREFRAG --mtu auto --tcp segment"],
    "TCPMSS clamp": ["both: -t mangle -A FORWARD -o eth1 -p tcp --tcp-flags SYN,RST SYN "
                     "-j TCPMSS --clamp-mss-to-pmtu"],
    "NFQUEUE": [f"-t mangle -A FORWARD -o eth1 -m length --length {TUNNEL_MTU + 1}:65535 "
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


class Setup:
    """Gateway A's rules ("both: ..." on gateway B too), and the NFQUEUE
    peer's process, for one peer."""

    def __init__(self, t, rules, df=False):
        self.t, self.rules, self.df, self.nfq = t, rules, df, None

    def __enter__(self):
        t = self.t
        t.flush_rules()
        t.ha.sysctl("net.ipv4.ip_no_pmtu_disc", 0 if self.df else 1)
        for r in self.rules:
            gateways = t.routers() if r.startswith("both: ") else (t.ra,)
            for g in gateways:
                g.sh(f"iptables-legacy {r.removeprefix('both: ')}")
        if any("NFQUEUE" in r for r in self.rules):
            self.nfq = t.ra.popen([NFQ_PREFRAG, "0", str(TUNNEL_MTU)],
                                  stdout=subprocess.PIPE)
            assert self.nfq.stdout.readline().strip() == b"ready"
        return self

    def __exit__(self, *exc):
        if self.nfq:
            self.nfq.kill()
            self.nfq.wait()
        self.t.flush_rules()


def tcp_throughput(t, flows=1, seconds=SECONDS):
    """Mbit/s received by host B over `flows` parallel connections from host
    A, counted for `seconds`, from one second after the last one connected
    (handshakes are not what is measured)."""
    sel = selectors.DefaultSelector()
    with t.hb.entered():
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((t.HB, PORT))
        srv.listen(flows + 16)
    srv.setblocking(False)
    sel.register(srv, selectors.EVENT_READ, "accept")
    socks = [srv]
    with t.ha.entered():
        for _ in range(flows):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex((t.HB, PORT))
            sel.register(c, selectors.EVENT_WRITE, "send")
            socks.append(c)
    chunk = b"\x5a" * (1 << 16)
    accepted, received = 0, 0
    t0 = end = None
    connecting = time.monotonic() + 30  # then go on with those connected
    while end is None or time.monotonic() < end:
        if t0 is None and (accepted == flows or time.monotonic() > connecting):
            t0 = time.monotonic() + 1
            end = t0 + seconds
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


def udp_load(t, pps, seconds=SECONDS, size=1472):
    """Offer `pps` 1500-byte non-DF datagrams a second from host A; return
    (fraction delivered, guest CPU busy fraction)."""
    with t.hb.entered():
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rx.bind((t.HB, PORT + 1))
        rx.setblocking(False)
    with t.ha.entered():
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tx.setsockopt(socket.IPPROTO_IP, 10, 0)  # IP_MTU_DISCOVER: DONT
    data, sent, got = b"u" * size, 0, 0
    busy0, total0 = cpu_busy()
    start = time.monotonic()
    while True:
        now = time.monotonic()
        if now - start >= seconds:
            break
        due = int((now - start) * pps)
        while sent < due:
            tx.sendto(data, (t.HB, PORT + 1))
            sent += 1
        got += drain(rx)
        time.sleep(0.001)
    time.sleep(0.3)
    got += drain(rx)
    busy1, total1 = cpu_busy()
    tx.close()
    rx.close()
    return got / max(sent, 1), (busy1 - busy0) / max(total1 - total0, 1)


def interleaved(t, peers, measure, df=False, rounds=ROUNDS):
    """{peer: [one result per round]}, peers alternating within each round."""
    results = {name: [] for name in peers}
    for _ in range(rounds):
        for name, rules in peers.items():
            with Setup(t, rules, df):
                results[name].append(measure())
    return results


def med(v):
    return statistics.median(v)


def main():
    resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
    subprocess.run(["modprobe", "-a", "xt_PREFRAG", "xt_CLEARDF"], check=True)
    t = Tunnel(prefix="bench", drop_fragments=False)
    # Broken PMTU discovery on host A: it never learns the tunnel's MTU.
    t.ha.sh("iptables-legacy -A INPUT -p icmp --icmp-type fragmentation-needed -j DROP")
    cpus = os.cpu_count()
    with Setup(t, []):
        tcp_throughput(t)  # warm-up: routes, SAs, crypto

    tcp = interleaved(t, PEERS, lambda: tcp_throughput(t))
    tcp.update(interleaved(t, DF_PEERS, lambda: tcp_throughput(t), df=True))
    base = med(tcp["no rule"])

    print(__doc__)
    print(f"== TCP bulk, 1 flow, {cpus} vCPU(s), {ROUNDS} rounds of {SECONDS:g} s")
    print(f"{'peer':22s} {'Mbit/s (rounds)':32s} {'median':>7s} {'÷ no rule':>10s}")
    for name, v in tcp.items():
        rounds = ", ".join(f"{x:.1f}" for x in v)
        print(f"{name:22s} {rounds:32s} {med(v):7.1f} {med(v) / base:10.2f}")
    seg = med(tcp["PREFRAG segment"])
    print("\nratios (target):")
    for label, num, den, target in (
            ("PREFRAG segment / no rule", seg, base, "≥ 0.95"),
            ("PREFRAG segment / TCPMSS clamp", seg, med(tcp["TCPMSS clamp"]), "≥ 0.95"),
            ("PREFRAG fragment / no rule", med(tcp["PREFRAG fragment"]), base, "≥ 0.85"),
            ("PREFRAG fragment / NFQUEUE", med(tcp["PREFRAG fragment"]),
             med(tcp["NFQUEUE"]), "≥ 10"),
            ("PREFRAG segment / NFQUEUE", seg, med(tcp["NFQUEUE"]), "≥ 10"),
            ("PREFRAG segment DF / TCPMSS clamp DF", med(tcp["PREFRAG segment DF"]),
             med(tcp["TCPMSS clamp DF"]), "≥ 0.95"),
            ("TCPMSS + CLEARDF DF / TCPMSS clamp DF", med(tcp["TCPMSS + CLEARDF DF"]),
             med(tcp["TCPMSS clamp DF"]), "≥ 0.97: CLEARDF costs ≤ 3 %"),
            ("nothing matches / no rule", med(tcp["nothing matches"]), base, "≥ 0.99")):
        ratio = f"{num / den:6.2f}" if den else "   n/a"
        print(f"  {label:44s} {ratio}   ({target})")

    print(f"\n== TCP bulk, parallel flows, {cpus} vCPU(s), {SHORT_ROUNDS} rounds")
    print(f"{'flows':>6s} {'no rule':>9s} {'segment':>9s} {'fragment':>9s}"
          f" {'seg ÷ none':>11s} {'frag ÷ none':>12s}")
    flow_peers = {k: PEERS[k] for k in ("no rule", "PREFRAG segment", "PREFRAG fragment")}
    for flows in (1, 10, 100, 1000):
        r = interleaved(t, flow_peers, lambda: tcp_throughput(t, flows), rounds=SHORT_ROUNDS)
        n, s, f = (med(r[k]) for k in flow_peers)
        n = n or float("nan")
        print(f"{flows:6d} {n:9.1f} {s:9.1f} {f:9.1f} {s / n:11.2f} {f / n:12.2f}")

    print(f"\n== UDP, 1500-byte datagrams at fixed offered loads, {cpus} vCPU(s), "
          f"{SHORT_ROUNDS} rounds")
    print(f"{'pps':>6s} {'peer':18s} {'delivered':>10s} {'guest CPU':>10s}")
    udp_peers = {k: PEERS[k] for k in ("no rule", "PREFRAG fragment", "NFQUEUE")}
    for pps in (300, 1000):
        r = interleaved(t, udp_peers, lambda: udp_load(t, pps), rounds=SHORT_ROUNDS)
        for name, v in r.items():
            print(f"{pps:6d} {name:18s} {med([x[0] for x in v]):10.1%}"
                  f" {med([x[1] for x in v]):10.1%}")

    print(f"\ngateway A counters: {t.ra.counters()}")
    t.delete()


if __name__ == "__main__":
    main()
