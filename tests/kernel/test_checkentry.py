"""The modules' own checks: target blobs that no plugin would build, handed
to the kernel directly (tests/tools/xt-bad-blob.c, through libiptc), are
refused with EINVAL and a rate-limited log line that names the problem, and
nothing is added."""
import os
import struct
import subprocess

import pytest

from nettest import TOP, Netns

BAD_BLOB = os.path.join(TOP, "build", "tests", "xt-bad-blob")


def prefrag(mtu=0, df=0, flags=0):
    return struct.pack("<HBB", mtu, df, flags)


def cleardf(min_len=0, flags=0, reserved=0):
    return struct.pack("<HBB", min_len, flags, reserved)


def reject(with_, mtu):
    return struct.pack("<II", with_, mtu)


# (family, table, chain, target, revision, blob, what the kernel logs)
CASES = {
    "prefrag-mtu-below-ipv4-minimum":
        ("4", "mangle", "POSTROUTING", "PREFRAG", 0, prefrag(mtu=40),
         "mtu 40 is below the IPv4 minimum of 68"),
    "prefrag-mtu-below-ipv6-minimum":
        ("6", "mangle", "POSTROUTING", "PREFRAG", 0, prefrag(mtu=1000),
         "mtu 1000 is below the IPv6 minimum of 1280"),
    "prefrag-unknown-df-policy":
        ("4", "mangle", "POSTROUTING", "PREFRAG", 0, prefrag(df=7),
         "unknown DF policy 7"),
    "prefrag-df-policy-on-ipv6":
        ("6", "mangle", "POSTROUTING", "PREFRAG", 0, prefrag(df=2),
         "--df is for IPv4 only"),
    "prefrag-unknown-flags":
        ("4", "mangle", "POSTROUTING", "PREFRAG", 0, prefrag(flags=0x82),
         "unknown flags 0x82"),
    "prefrag-nat-table":
        ("4", "nat", "POSTROUTING", "PREFRAG", 0, prefrag(),
         "only valid in the raw, mangle and filter tables, not in nat"),
    "prefrag-wrong-size":
        ("4", "mangle", "POSTROUTING", "PREFRAG", 0, prefrag() + b"\0" * 8,
         "PREFRAG.0 target: invalid size"),
    "cleardf-unknown-flags":
        ("4", "mangle", "PREROUTING", "CLEARDF", 0, cleardf(flags=0x40),
         "unknown flags 0x40"),
    "cleardf-reserved-byte":
        ("4", "mangle", "PREROUTING", "CLEARDF", 0, cleardf(reserved=1),
         "reserved byte 1: must be 0"),
    "reject-unknown-type":
        ("4", "filter", "FORWARD", "REJECT", 1, reject(99, 0), "unknown reject type 99"),
    "reject-mtu-below-minimum":
        ("4", "filter", "FORWARD", "REJECT", 1, reject(9, 40), "mtu 40 is outside"),
    "reject-mtu-with-another-type":
        ("4", "filter", "FORWARD", "REJECT", 1, reject(3, 1400),
         "an MTU only goes with the too-big type"),
    "reject-mtu-auto-in-input":
        ("4", "filter", "INPUT", "REJECT", 1, reject(9, 0), "mtu auto needs a route"),
    "reject-ipv6-mtu-below-minimum":
        ("6", "filter", "FORWARD", "REJECT", 1, reject(9, 1000), "mtu 1000 is outside"),
}


@pytest.fixture(scope="module")
def ns(modules):
    subprocess.run(["modprobe", "-a", "xt_REJECT_MTU"], check=True)
    n = Netns("blob")
    # libiptc loads no modules: let iptables load the tables it will use.
    n.sh("for t in mangle nat filter; do iptables-legacy -t $t -S; "
         "ip6tables-legacy -t $t -S; done >/dev/null")
    yield n
    n.delete()


def save(ns):
    """The rules, without the save's time stamps."""
    out = ns.sh("iptables-legacy-save; ip6tables-legacy-save")
    return [l for l in out.splitlines() if not l.startswith("#")]


def blob(ns, fam, table, chain, target, rev, data, times=1):
    return ns.run([BAD_BLOB, fam, table, chain, target, str(rev), data.hex(), str(times)],
                  check=False)


@pytest.mark.parametrize("case", CASES)
def test_kernel_refuses_bad_blob(ns, kmsg, case):
    fam, table, chain, target, rev, data, logged = CASES[case]
    before = save(ns)
    r = blob(ns, fam, table, chain, target, rev, data)
    assert r.returncode == 1 and r.stdout.startswith("refused: EINVAL"), r.stdout + r.stderr
    assert logged in kmsg()
    assert save(ns) == before, "nothing was added"


def test_good_blobs_are_accepted(ns):
    """The tool itself works: what the plugins would build goes in."""
    for fam, table, chain, target, rev, data in (
            ("4", "mangle", "POSTROUTING", "PREFRAG", 0, prefrag(mtu=1400, df=2, flags=1)),
            ("6", "mangle", "POSTROUTING", "PREFRAG", 0, prefrag(flags=1)),
            ("4", "mangle", "PREROUTING", "CLEARDF", 0, cleardf(1400, 1)),
            ("4", "filter", "FORWARD", "REJECT", 1, reject(9, 1400))):
        r = blob(ns, fam, table, chain, target, rev, data)
        assert r.stdout.strip() == "accepted", r.stdout + r.stderr
    assert "--mtu 1400 --df clear --tcp segment" in ns.sh("iptables-legacy-save")
    ns.sh("for t in mangle filter; do iptables-legacy -t $t -F; ip6tables-legacy -t $t -F; done")


def test_a_revision_the_kernel_lacks_is_refused(ns):
    """x_tables' word for "this target, but not that revision"."""
    r = blob(ns, "4", "mangle", "POSTROUTING", "PREFRAG", 7, prefrag())
    assert r.returncode == 1 and r.stdout.startswith("refused: EPROTOTYPE"), r.stdout


def test_refusals_are_logged_rate_limited(ns, kmsg):
    """A loop of bad rules cannot flood the kernel log: the default burst
    (10 lines in 5 s) passes, the rest is suppressed.  The loop runs in one
    process, well inside 5 s even on the debug kernel."""
    r = blob(ns, "4", "mangle", "POSTROUTING", "PREFRAG", 0, prefrag(df=9), times=40)
    assert r.stdout.count("refused: EINVAL") == 40, r.stdout
    assert 0 < kmsg().count("unknown DF policy 9") <= 10
