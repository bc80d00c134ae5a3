#!/usr/bin/python3
"""Fuzz packets for nf-prefrag, built with scapy on the host (scapy is slow
under emulation), replayed in the guest by tests/kernel/test_fuzz.py.

    gen_packets.py --seed S --count N --out FILE

The same seed always gives the same packets: a failure names its seed.
Output: records of (family: 1 byte, 4 or 6; length: 2 bytes, big endian;
the IP packet).  Addresses are the tunnel topology's (tests/lib/topology.py):
host A sends them to host B through both gateways, or to gateway A itself.
"""
import argparse
import random
import struct
import sys

from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption
from scapy.layers.inet6 import (ICMPv6PacketTooBig, IPv6, IPv6ExtHdrFragment,
                                IPv6ExtHdrHopByHop, IPv6ExtHdrRouting,
                                IPv6ExtHdrDestOpt)
from scapy.packet import Raw

HA, HB, RA = "10.0.1.2", "10.0.4.2", "10.0.1.1"
HA6, HB6, RA6 = "fd00:1::2", "fd00:4::2", "fd00:1::1"
TUNNEL_MTU = 1446
MAX_LEN = 8900  # host A's link MTU in the fuzz topology is 9000


def around_mtu(rng):
    """Sizes where the decisions are made."""
    return rng.choice([rng.randint(0, 64), rng.randint(1200, 1600),
                       TUNNEL_MTU + rng.randint(-60, 60), rng.randint(1600, 8000),
                       rng.choice([1280, 1300, 1376, 1400, 1446, 1447, 1500, 2896, 2897])])


def payload(rng, n):
    chunk = bytes(rng.getrandbits(8) for _ in range(min(n, 64)))
    return Raw((chunk * (n // 64 + 1))[:n])


def l4(rng, size):
    """A TCP, UDP, ICMP or other payload of about @size bytes."""
    kind = rng.choice(["tcp", "tcp", "udp", "icmp", "gre", "esp", "raw"])
    body = payload(rng, max(0, size))
    if kind == "tcp":
        opts = rng.choice([[], [("MSS", 1460)], [("NOP", None), ("NOP", None),
                          ("Timestamp", (rng.getrandbits(32), 0))],
                          [("SAckOK", b"")], [("SAck", (1000, 2000, 3000, 4000))],
                          [(19, b"\x00" * 16)]])  # TCP-MD5
        t = TCP(sport=rng.randint(1, 65535), dport=rng.choice([22, 80, 5002, rng.randint(1, 65535)]),
                seq=rng.getrandbits(32), ack=rng.getrandbits(32),
                flags=rng.getrandbits(8), urgptr=rng.choice([0, rng.getrandbits(16)]),
                options=opts)
        if rng.random() < 0.1:
            t.dataofs = rng.randint(0, 15)  # wrong header lengths
        if rng.random() < 0.1:
            t.chksum = rng.getrandbits(16)
        return t / body
    if kind == "udp":
        u = UDP(sport=rng.randint(1, 65535), dport=rng.randint(1, 65535))
        if rng.random() < 0.1:
            u.len = rng.getrandbits(16)
        return u / body
    if kind == "icmp":
        return ICMP(type=rng.choice([0, 8, 3, 11, 12, rng.randint(0, 255)]),
                    code=rng.randint(0, 5)) / body
    return body  # gre, esp, raw: protocol number set by the caller


PROTO = {"gre": 47, "esp": 50, "raw": 253}


def ipv4(rng):
    size = around_mtu(rng)
    inner = l4(rng, size)
    ip = IP(src=HA, dst=rng.choice([HB, HB, HB, RA, "10.0.4.99", "192.0.2.1"]),
            ttl=rng.choice([64, 64, 1, 0, 2]), id=rng.getrandbits(16),
            flags=rng.choice([0, 2, 2, 1, 3]), tos=rng.getrandbits(8))
    if not isinstance(inner, (TCP, UDP, ICMP)):
        ip.proto = rng.choice(list(PROTO.values()))
    if rng.random() < 0.15:
        ip.options = [IPOption(b"\x01" * rng.randint(1, 40))]
    pkt = ip / inner
    if isinstance(inner, TCP) and rng.random() < 0.03:
        # Whole, in order, in 24-byte pieces: reassembled, then met by
        # "tcp segment" rules, which must not cut it any smaller.
        return [bytes(f) for f in tiny_fragments4(pkt)]
    if rng.random() < 0.2:  # fragments of every kind
        frags = fragment4(rng, pkt)
        return [bytes(f) for f in frags]
    raw = bytearray(bytes(pkt))
    r = rng.random()
    if r < 0.05:
        raw[0] = 0x40 | rng.randint(0, 15)  # IHL 0..15
    elif r < 0.10:
        struct.pack_into("!H", raw, 2, rng.getrandbits(16))  # total length
    elif r < 0.15:
        struct.pack_into("!H", raw, 10, rng.getrandbits(16))  # checksum
    elif r < 0.18:
        raw = raw[:rng.randint(1, len(raw))]  # truncated
    return [bytes(raw)]


def few_pieces(data, step):
    """@step, or larger (a multiple of 8): at most 16 pieces of @data."""
    return max(step, (len(data) // 16 + 7) & ~7)


def fragment4(rng, pkt):
    """First, middle, last, overlapping, tiny, MF with DF."""
    whole = bytes(pkt)
    hl = (whole[0] & 15) * 4
    data = whole[hl:]
    if not data:
        return [pkt]
    step = few_pieces(data, rng.choice([8, 16, 24, 512, 1000, 1400, 1480]))
    frags, off = [], 0
    while off < len(data):
        n = min(step, len(data) - off)
        f = IP(whole[:hl])
        f.frag = off // 8
        f.flags = (1 if off + n < len(data) else 0) | rng.choice([0, 0, 2])
        f.len, f.chksum = None, None
        frags.append(f / Raw(data[off:off + n]))
        off += n if rng.random() > 0.1 else max(8, n // 2)  # overlaps
    if rng.random() < 0.3:
        rng.shuffle(frags)
    if rng.random() < 0.3:
        frags = frags[:rng.randint(1, len(frags))]  # some missing
    return frags


def tiny_fragments4(pkt):
    """@pkt (DF cleared) in fragments of 24 bytes of data each."""
    whole = bytes(pkt)
    hl = (whole[0] & 15) * 4
    data, frags = whole[hl:], []
    for off in range(0, len(data), 24):
        f = IP(whole[:hl])
        f.frag, f.flags = off // 8, 1 if off + 24 < len(data) else 0
        f.len, f.chksum = None, None
        frags.append(f / Raw(data[off:off + 24]))
    return frags


def ipv6(rng):
    size = around_mtu(rng)
    inner = l4(rng, size)
    hdrs = IPv6(src=HA6, dst=rng.choice([HB6, HB6, RA6, "fd00:4::99"]),
                hlim=rng.choice([64, 1, 0]))
    chain = []
    for _ in range(rng.choice([0, 0, 1, 2])):
        chain.append(rng.choice([IPv6ExtHdrHopByHop(), IPv6ExtHdrDestOpt(),
                                 IPv6ExtHdrRouting(addresses=[HB6], segleft=0)]))
    pkt = hdrs
    for h in chain:
        pkt = pkt / h
    if not isinstance(inner, (TCP, UDP, ICMP)):
        inner = Raw(bytes(inner))
    pkt = pkt / inner
    if rng.random() < 0.2 and len(pkt[IPv6].payload):
        fid = rng.getrandbits(32)
        raw = bytes(pkt[IPv6].payload)
        step = few_pieces(raw, rng.choice([8, 64, 1232, 1440]))
        out, off = [], 0
        while off < len(raw):
            n = min(step, len(raw) - off)
            f = IPv6(src=hdrs.src, dst=hdrs.dst, hlim=hdrs.hlim) / IPv6ExtHdrFragment(
                id=fid, offset=off // 8, m=int(off + n < len(raw)), nh=hdrs.nh) / Raw(raw[off:off + n])
            out.append(bytes(f))
            off += n
        return out
    raw = bytearray(bytes(pkt))
    if rng.random() < 0.1:
        struct.pack_into("!H", raw, 4, rng.getrandbits(16))  # payload length
    return [bytes(raw)]


def icmp_quoting(rng):
    """ICMP errors that quote a malformed or oversized packet."""
    if rng.random() < 0.5:
        quoted = ipv4(rng)[0][:rng.choice([28, 68, 576])]
        return [(4, bytes(IP(src=HA, dst=rng.choice([HB, RA])) /
                          ICMP(type=rng.choice([3, 11]), code=rng.choice([0, 1, 4]),
                               nexthopmtu=rng.choice([0, 68, 1400, 1446])) / Raw(quoted)))]
    quoted = ipv6(rng)[0][:rng.choice([48, 1232])]
    return [(6, bytes(IPv6(src=HA6, dst=rng.choice([HB6, RA6])) /
                      ICMPv6PacketTooBig(mtu=rng.choice([0, 1280, 1400])) / Raw(quoted)))]


def packets(seed, count):
    rng = random.Random(seed)
    n = 0
    while n < count:
        r = rng.random()
        if r < 0.55:
            batch = [(4, p) for p in ipv4(rng)]
        elif r < 0.9:
            batch = [(6, p) for p in ipv6(rng)]
        else:
            batch = icmp_quoting(rng)
        for fam, p in batch:
            if 0 < len(p) <= MAX_LEN and n < count:
                n += 1
                yield fam, p


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with open(a.out, "wb") as f:
        for fam, p in packets(a.seed, a.count):
            f.write(struct.pack("!BH", fam, len(p)) + p)
    print(f"gen_packets: {a.count} packets, seed {a.seed}, in {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
