"""REJECT revision 1 (xt_REJECT_MTU): "fragmentation needed" / "packet too
big" carrying the MTU, seen from senders remote, local and on loopback.

    h1 ---- r ---- h2     (dual stack, no IPsec)
"""
import errno
import socket
import subprocess
import time

import pytest

from nettest import (ICMP, PMTUDISC_DO, PMTUDISC_PROBE, capture, icmp_too_big, ping,
                     scaled, tcp_transfer, udp_exchange, udp_socket)

IP_MTU, IPV6_MTU = 14, 24
FRAG_NEEDED = "-j REJECT --reject-with icmp-frag-needed"
PKT_TOO_BIG = "-j REJECT --reject-with icmp6-pkt-too-big"


def route_mtu(ns, dst):
    """The path MTU the kernel keeps for dst: (mtu, locked) or None."""
    out = ns.sh(f"ip {'-6 ' if ':' in dst else ''}route get {dst}")
    words = out.split()
    if "mtu" not in words:
        return None
    i = words.index("mtu")
    if words[i + 1] == "lock":
        return int(words[i + 2]), True
    return int(words[i + 1]), False


def sender_learns(ns, dst, port, too_big, mtu):
    """A connected DF datagram socket sends `too_big` bytes once; returns
    (first send's error, seconds until its path MTU is `mtu`, whether the
    next oversized send fails with EMSGSIZE at once)."""
    v6 = ":" in dst
    level, opt = (socket.IPPROTO_IPV6, IPV6_MTU) if v6 else (socket.IPPROTO_IP, IP_MTU)
    with ns.entered():
        s = udp_socket(dst, PMTUDISC_DO)
        s.connect((dst, port))
    with s:
        t0 = time.monotonic()
        try:
            s.send(b"x" * too_big)
            first = None
        except OSError as e:
            first = e.errno
        learnt = None
        while time.monotonic() - t0 < scaled(2):
            if s.getsockopt(level, opt) == mtu:
                learnt = time.monotonic() - t0
                break
            time.sleep(0.005)
        try:
            s.send(b"x" * too_big)
            refused = False
        except OSError as e:
            refused = e.errno == errno.EMSGSIZE
    return first, learnt, refused


# ------------------------------------------------------------------ IPv4

def test_frag_needed_carries_mtu_and_remote_sender_learns_it(net):
    net.r.sh(f"iptables-legacy -A FORWARD {FRAG_NEEDED} --reject-mtu 1400")
    with capture(net.h1, "eth0", f"{net.tmp}/h1.pcap", "icmp") as wire:
        assert ping(net.h1, net.H2, 1472, count=1, df=True) == 100.0
    assert icmp_too_big(wire) == [1400]
    assert route_mtu(net.h1, net.H2) == (1400, False)
    # What fits goes on to the next rule: 1400 bytes on the wire cross.
    assert ping(net.h1, net.H2, 1372, count=2, df=True) == 0.0
    assert net.r.counters()["ipv4_icmp_too_big_sent"] == 1


def test_auto_takes_the_mtu_of_the_route(net):
    net.r.sh("ip route replace 10.1.2.0/24 dev eth1 mtu 1350")
    try:
        # ip_forward() answers for DF packets itself; without DF the
        # rule is the one that refuses, with the route's MTU.
        net.r.sh(f"iptables-legacy -A FORWARD {FRAG_NEEDED}")
        with capture(net.h1, "eth0", f"{net.tmp}/h1.pcap", "icmp") as wire:
            assert ping(net.h1, net.H2, 1400, count=1, df=False) == 100.0
        assert icmp_too_big(wire) == [1350]
    finally:
        net.r.sh("ip route replace 10.1.2.0/24 dev eth1")


def test_mtu_below_552_is_raised_and_locked_by_linux(net, kmsg):
    r = net.r.run(f"iptables-legacy -A FORWARD {FRAG_NEEDED} --reject-mtu 500")
    assert "below 552 as 552, and lock it" in r.stderr
    assert "mtu 500: Linux senders use 552 instead" in kmsg()
    with capture(net.h1, "eth0", f"{net.tmp}/h1.pcap", "icmp") as wire:
        ping(net.h1, net.H2, 1000, count=1, df=True)
    assert icmp_too_big(wire) == [500]
    assert route_mtu(net.h1, net.H2) == (552, True)


def test_remote_mtus_from_552_up_are_taken_as_sent(net):
    net.r.sh(f"iptables-legacy -A FORWARD {FRAG_NEEDED} --reject-mtu 552")
    ping(net.h1, net.H2, 1000, count=1, df=True)
    assert route_mtu(net.h1, net.H2) == (552, False)


def test_local_udp_socket_learns_the_mtu_at_once(net, report):
    net.h1.sh(f"iptables-legacy -A OUTPUT -p udp {FRAG_NEEDED} --reject-mtu 1300")
    first, learnt, refused = sender_learns(net.h1, net.H2, 9, 1400, 1300)
    # The rule drops the first datagram (the send itself reports it), and
    # the ICMP is already processed when send() returns.
    assert first == errno.EPERM
    assert learnt is not None and learnt < scaled(0.5) and refused
    report(f"IPv4 local socket: IP_MTU 1300 after {learnt * 1000:.1f} ms")
    res = udp_exchange(net.h1, net.h2, net.H2, [1272], df=True)
    assert res[1272][0]


def test_loopback_sender_learns_the_mtu_at_once(net, report):
    """Over loopback the ICMP comes straight back too: the local route gets
    the MTU (`cache <local> mtu 1300`) and the socket fails at once, with no
    timeout (unlike a firewall that can only drop)."""
    net.h1.sh(f"iptables-legacy -A OUTPUT -o lo -p udp {FRAG_NEEDED} --reject-mtu 1300")
    first, learnt, refused = sender_learns(net.h1, "127.0.0.1", 9, 1400, 1300)
    assert first == errno.EPERM and learnt is not None and learnt < scaled(0.5) and refused
    assert route_mtu(net.h1, "127.0.0.1") == (1300, False)
    report(f"IPv4 loopback: IP_MTU 1300 after {learnt * 1000:.1f} ms")


@pytest.mark.parametrize("where", ["forwarded", "loopback"])
def test_tcp_through_frag_needed_completes(net, where, report):
    """GSO aggregates are judged by their segments: once TCP has lowered its
    MSS they fit and pass; the transfer does not stall."""
    if where == "forwarded":
        net.r.sh(f"iptables-legacy -A FORWARD -p tcp {FRAG_NEEDED} --reject-mtu 1300")
        src, dst_ns, dst, ns = net.h1, net.h2, net.H2, net.r
    else:
        net.h1.sh(f"iptables-legacy -A OUTPUT -o lo -p tcp {FRAG_NEEDED} --reject-mtu 1300")
        src, dst_ns, dst, ns = net.h1, net.h1, "127.0.0.1", net.h1
    t0 = time.monotonic()
    assert tcp_transfer(src, dst_ns, dst, 2 << 20, port=5010, timeout=60) == (2 << 20, True)
    report(f"TCP {where}, 2 MiB through frag-needed 1300: {time.monotonic() - t0:.1f} s")
    assert ns.counters()["ipv4_icmp_too_big_sent"] >= 1


def test_flood_of_oversized_packets_yields_bounded_icmp(net):
    net.r.sysctl("net.netfilter.nf_prefrag_icmp_rate", 20)
    net.r.sysctl("net.netfilter.nf_prefrag_icmp_burst", 5)
    net.r.sh(f"iptables-legacy -A FORWARD {FRAG_NEEDED} --reject-mtu 1400")
    try:
        with net.h1.entered():
            s = udp_socket(net.H2, PMTUDISC_PROBE)  # DF, ignores what it learns
        with capture(net.h1, "eth0", f"{net.tmp}/h1.pcap", "icmp") as wire:
            with s:
                for _ in range(400):
                    s.sendto(b"x" * 1472, (net.H2, 9))
                    time.sleep(0.002)
        # The bucket's bound over the time the messages span, as the kernel
        # timed them (the capture's clock, not the sender's loop): the
        # burst, then 20 a second, and one for a partly refilled token.
        too_big = [p for p in wire if icmp_too_big([p])]
        sent = len(too_big)
        span = too_big[-1].time - too_big[0].time if too_big else 0
        assert 5 <= sent <= 5 + 20 * span + 1, (sent, span)
        c = net.r.counters()
        assert c["ipv4_icmp_too_big_ratelimited"] >= 400 - sent - 5
    finally:
        net.r.sysctl("net.netfilter.nf_prefrag_icmp_rate", 1000)
        net.r.sysctl("net.netfilter.nf_prefrag_icmp_burst", 50)


def test_revision_0_types_work_through_revision_1(net):
    users = int(open("/sys/module/xt_REJECT_MTU/refcnt").read())
    net.r.sh("iptables-legacy -A FORWARD -p icmp -j REJECT --reject-with icmp-host-prohibited && "
             "iptables-legacy -A FORWARD -p tcp -j REJECT --reject-with tcp-reset")
    assert int(open("/sys/module/xt_REJECT_MTU/refcnt").read()) == users + 2
    with capture(net.h1, "eth0", f"{net.tmp}/h1.pcap", "icmp") as wire:
        ping(net.h1, net.H2, 56, count=1)
    assert [p.icmp()[:2] for p in wire if p.proto == ICMP and p.icmp()[0] == 3] == [(3, 10)]
    with net.h1.entered():
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((net.H2, 80), timeout=5)


def test_bad_reject_rules_refused_clearly(net, kmsg):
    for rule, message in (
            (f"{FRAG_NEEDED} --reject-mtu 67", "from 68 to 65535"),
            ("-j REJECT --reject-mtu 1400", "goes with --reject-with icmp-frag-needed"),
            ("-j REJECT --reject-with icmp-nonsense", 'unknown reject type "icmp-nonsense"')):
        r = net.r.run(f"iptables-legacy -A FORWARD {rule}", check=False)
        assert r.returncode != 0 and message in r.stderr, r.stderr
    r = net.r.run(f"iptables-legacy -A INPUT {FRAG_NEEDED}", check=False)
    assert r.returncode != 0
    assert "mtu auto needs a route: not in INPUT" in kmsg()
    r = net.r.run(f"ip6tables-legacy -A FORWARD {PKT_TOO_BIG} --reject-mtu 1279", check=False)
    assert r.returncode != 0 and "from 1280 to 65535" in r.stderr


# ------------------------------------------------------------------ IPv6

def test_pkt_too_big_carries_mtu_and_remote_sender_learns_it(net):
    net.r.sh(f"ip6tables-legacy -A FORWARD {PKT_TOO_BIG} --reject-mtu 1400")
    with capture(net.h1, "eth0", f"{net.tmp}/h1.pcap", "icmp6", v6=True) as wire:
        assert ping(net.h1, net.H2_6, 1452, count=1, df=True) == 100.0
    assert icmp_too_big(wire, v6=True) == [1400]
    assert route_mtu(net.h1, net.H2_6) == (1400, False)
    assert ping(net.h1, net.H2_6, 1352, count=2, df=True) == 0.0
    assert net.r.counters()["ipv6_icmp_too_big_sent"] == 1


def test_ipv6_local_udp_socket_learns_the_mtu_at_once(net, report):
    net.h1.sh(f"ip6tables-legacy -A OUTPUT -p udp {PKT_TOO_BIG} --reject-mtu 1300")
    first, learnt, refused = sender_learns(net.h1, net.H2_6, 9, 1400, 1300)
    assert first == errno.EPERM and learnt is not None and learnt < scaled(0.5) and refused
    report(f"IPv6 local socket: IPV6_MTU 1300 after {learnt * 1000:.1f} ms")


def test_ipv6_loopback_sender_learns_the_mtu(net, report):
    net.h1.sh(f"ip6tables-legacy -A OUTPUT -o lo -p udp {PKT_TOO_BIG} --reject-mtu 1300")
    first, learnt, refused = sender_learns(net.h1, "::1", 9, 1400, 1300)
    report(f"IPv6 loopback: first send errno {first}, IPV6_MTU 1300 after "
           f"{'never' if learnt is None else f'{learnt * 1000:.1f} ms'}, "
           f"next oversized send {'refused' if refused else 'sent'}")
    assert first == errno.EPERM and learnt is not None and refused


# ------------------------------------------- without our kernel module

def test_new_options_name_the_module_when_it_is_missing(net):
    """Stock ipt_REJECT loaded, ours not: old types work, new ones say
    what to load.  (Last in this file: it unloads our module.)"""
    net.flush_rules()
    subprocess.run(["modprobe", "ipt_REJECT"], check=True)
    subprocess.run(["rmmod", "xt_REJECT_MTU"], check=True)
    try:
        r = net.r.run(f"iptables-legacy -A FORWARD {FRAG_NEEDED} --reject-mtu 1400", check=False)
        assert r.returncode != 0
        assert "needs REJECT revision 1 from nf-prefrag's kernel module xt_REJECT_MTU" in r.stderr
        assert "modprobe xt_REJECT_MTU" in r.stderr
        net.r.sh("iptables-legacy -A FORWARD -j REJECT --reject-with icmp-host-prohibited")
        assert "--reject-with icmp-host-prohibited" in net.r.sh("iptables-legacy -S FORWARD")
    finally:
        net.flush_rules()
        subprocess.run(["modprobe", "xt_REJECT_MTU"], check=True)


def test_rules_from_before_our_module_round_trip_with_iptables_nft(net):
    """A REJECT rule added while only the stock module was loaded stays
    revision 0 in the kernel.  iptables-nft (Debian's default iptables)
    lists it as it was written, beside our revision 1 rules, and its save
    restores.  (iptables-legacy, 1.8.9 and 1.8.11 alike, lists it as
    "[unsupported revision]": README, REJECT with the MTU.)"""
    net.flush_rules()
    subprocess.run(["rmmod", "xt_REJECT_MTU"], capture_output=True)
    subprocess.run(["modprobe", "ipt_REJECT"], check=True)
    subprocess.run(["rmmod", "xt_REJECT_MTU"], capture_output=True)  # the modprobe.d file
    try:
        net.r.sh("iptables-nft -A FORWARD -p udp --dport 9 -j REJECT "
                 "--reject-with icmp-host-prohibited")
        subprocess.run(["modprobe", "xt_REJECT_MTU"], check=True)
        net.r.sh(f"iptables-nft -A FORWARD -p udp --dport 10 {FRAG_NEEDED} --reject-mtu 1400")
        rules = net.r.sh("iptables-nft -S FORWARD")
        assert "--dport 9 -j REJECT --reject-with icmp-host-prohibited" in rules, rules
        assert "--dport 10 -j REJECT --reject-with icmp-frag-needed --reject-mtu 1400" in rules
        saved = net.r.sh("iptables-nft-save -t filter")
        net.r.sh("iptables-nft-restore", input=saved)
        assert net.r.sh("iptables-nft -S FORWARD") == rules
    finally:
        net.r.sh("nft flush ruleset")
        net.flush_rules()
        subprocess.run(["modprobe", "xt_REJECT_MTU"], check=True)
