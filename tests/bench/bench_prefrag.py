"""Benchmark (not a test): forwarding throughput of oversized non-DF traffic
through an ESP tunnel, with PREFRAG against no rule, measured in one guest run.

Method: the tunnel topology with a path that passes fragments (so that the
no-rule case works at all: the ESP packets are fragmented after encryption
and reassembled by the peer gateway).  Host A sends TCP without DF
(ip_no_pmtu_disc=1), so every full-size segment is too big for the tunnel:
with no rule the kernel fragments each ESP packet; with PREFRAG --mtu auto
the gateway cuts the inner packet (GSO aggregates segmented first) and
encrypts each piece.  Rounds alternate between the two setups; the medians
are compared.  Absolute numbers under TCG emulation mean little; the ratio,
measured in the same run, is the result.
"""
import os
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from topology import Tunnel  # noqa: E402
import subprocess  # noqa: E402

SECONDS = 4
ROUNDS = 3
PORT = 5003


def tcp_throughput(t):
    """Mbit/s of one TCP transfer from host A to host B lasting SECONDS."""
    with t.hb.entered():
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((t.HB, PORT))
        srv.listen(1)
    received = {}

    def sink():
        conn, _ = srv.accept()
        n = 0
        buf = bytearray(1 << 16)
        start = None
        while True:
            k = conn.recv_into(buf)
            if not k:
                break
            if start is None:
                start = time.monotonic()
            n += k
        received["bytes"], received["secs"] = n, time.monotonic() - (start or 0)
        conn.close()

    th = threading.Thread(target=sink)
    th.start()
    with t.ha.entered():
        cli = socket.create_connection((t.HB, PORT), timeout=30)
    chunk = b"\x5a" * (1 << 16)
    end = time.monotonic() + SECONDS
    while time.monotonic() < end:
        cli.sendall(chunk)
    cli.close()
    th.join(60)
    srv.close()
    return received["bytes"] * 8 / received["secs"] / 1e6


def main():
    subprocess.run(["modprobe", "xt_PREFRAG"], check=True)
    t = Tunnel(prefix="bench", drop_fragments=False)
    t.ha.sysctl("net.ipv4.ip_no_pmtu_disc", 1)
    rule = "-t mangle -A POSTROUTING -m policy --dir out --pol ipsec -j PREFRAG --mtu auto"
    results = {"no rule": [], "PREFRAG": []}
    tcp_throughput(t)  # warm-up: routes, SAs, crypto
    for _ in range(ROUNDS):
        t.flush_rules()
        results["no rule"].append(tcp_throughput(t))
        t.ra.sh(f"iptables-legacy {rule}")
        results["PREFRAG"].append(tcp_throughput(t))
    t.flush_rules()
    print(__doc__)
    for k, v in results.items():
        print(f"{k:8s}: " + ", ".join(f"{x:.1f}" for x in v)
              + f" Mbit/s (median {statistics.median(v):.1f})")
    ratio = statistics.median(results["PREFRAG"]) / statistics.median(results["no rule"])
    print(f"PREFRAG / no rule throughput ratio: {ratio:.2f}")
    print(f"gateway A counters: {t.ra.counters()}")
    t.delete()


if __name__ == "__main__":
    main()
