"""What a user and a packager see of the built tools, on the host: no
kernel module needed.  (The packages' install, upgrade and removal are
tried in a fresh Debian root: tests/distro/.)"""
import glob
import json
import os
import subprocess

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
XTLIBDIR = os.path.join(TOP, "build", "libxt") + ":" + subprocess.run(
    ["pkg-config", "--variable=xtlibdir", "xtables"],
    capture_output=True, text=True).stdout.strip()
ENV = dict(os.environ, XTABLES_LIBDIR=XTLIBDIR)
NFT_PREFRAG = os.path.join(TOP, "build", "nft", "nft-prefrag")
VERSION = subprocess.run(["sh", os.path.join(TOP, "scripts/version.sh")],
                         capture_output=True, text=True).stdout.strip()


def test_nft_prefrag_help_and_version():
    r = subprocess.run([NFT_PREFRAG, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "usage: nft-prefrag" in r.stdout and r.stderr == ""
    r = subprocess.run([NFT_PREFRAG, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == f"nft-prefrag {VERSION}\n"
    r = subprocess.run([NFT_PREFRAG, "--bogus"], capture_output=True, text=True)
    assert r.returncode == 2 and "usage" in r.stderr


def test_nf_prefrag_usage_errors_say_what_is_wrong():
    doctor = os.path.join(TOP, "build", "doctor", "nf-prefrag")
    r = subprocess.run([doctor, "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout == f"nf-prefrag {VERSION}\n"
    for args, message in ((["doctr"], 'unknown command "doctr"'),
                          ([], "Usage: nf-prefrag doctor"),
                          (["doctor", "--jsn"], "unrecognized option '--jsn'"),
                          (["doctor", "extra"], 'unexpected argument "extra"'),
                          (["doctor", "--netns", "no-such-ns"],
                           'no network namespace "no-such-ns" (ip netns list shows them)')):
        r = subprocess.run([doctor, *args], capture_output=True, text=True)
        assert r.returncode == 2 and message in r.stderr and r.stdout == "", (args, r.stderr)


def test_nf_prefrag_doctor_on_a_kernel_without_our_modules():
    """This machine's kernel has none of our modules (the suite loads them
    in the guest only): doctor says so, as a problem, in both outputs."""
    doctor = os.path.join(TOP, "build", "doctor", "nf-prefrag")
    text = subprocess.run([doctor, "doctor"], capture_output=True, text=True)
    js = subprocess.run([doctor, "doctor", "--json"], capture_output=True, text=True)
    assert text.returncode == js.returncode == 1, text.stdout + text.stderr
    ids = [f["id"] for f in json.loads(js.stdout)["findings"]]
    assert "modules-missing" in ids, ids
    assert f"PROBLEM [modules-missing]:\n  No nf-prefrag kernel modules for the running kernel " \
           f"{os.uname().release}: install nf-prefrag-dkms" in text.stdout, text.stdout


@pytest.mark.parametrize("backend", ["iptables-legacy", "iptables-nft"])
def test_stock_reject_rules_list_without_warnings(backend):
    """This kernel has REJECT revision 0 only (no xt_REJECT_MTU): listing
    ordinary REJECT rules with our plugin says nothing on stderr."""
    script = (f"{backend} -A INPUT -j REJECT && "
              f"{backend} -A INPUT -p tcp -j REJECT --reject-with tcp-reset && "
              f"{backend} -S && {backend}-save")
    r = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True,
                       text=True, env=ENV)
    assert r.returncode == 0, r.stderr
    assert "tcp-reset" in r.stdout and "Warning" not in r.stderr, r.stderr


def test_cleardf_in_ip6tables_says_why():
    r = subprocess.run(["unshare", "-n", "ip6tables-legacy", "-t", "mangle", "-A",
                        "PREROUTING", "-j", "CLEARDF"], capture_output=True,
                       text=True, env=ENV)
    assert r.returncode == 2 and "CLEARDF is for IPv4 only" in r.stderr, r.stderr


PACKAGE_ROOT = os.path.join(TOP, "build", "deb", "src", "debian", "xtables-nf-prefrag")
# What the package must hold, named here: a glob over the package alone
# would give no test at all if the package were empty.  (REJECT takes
# iptables' own plugin names, which it diverts.)
PACKAGED_BINARIES = ["usr/sbin/nft-prefrag", "usr/sbin/nf-prefrag"] + [
    f"usr/lib/*/xtables/{name}.so" for name in
    ("libxt_PREFRAG", "libxt_CLEARDF", "libipt_REJECT", "libip6t_REJECT")]


@pytest.mark.parametrize("binary", PACKAGED_BINARIES, ids=os.path.basename)
def test_packaged_binaries_are_hardened(binary):
    """dpkg-buildflags (hardening=+all) reach the compiler and linker."""
    found = glob.glob(os.path.join(PACKAGE_ROOT, binary))
    assert len(found) == 1, f"{binary} is not in the package (make deb)"
    out = subprocess.run(["hardening-check", found[0]], capture_output=True,
                         text=True).stdout
    for feature in ("Stack protected: yes", "Fortify Source functions: yes",
                    "Read-only relocations: yes", "Immediate binding: yes"):
        assert feature in out, out


def test_dkms_package_holds_the_module_sources_and_nothing_built():
    version = VERSION
    deb = os.path.join(TOP, "build", "deb", f"nf-prefrag-dkms_{version}_all.deb")
    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True,
                             text=True, check=True).stdout
    src = f"./usr/src/nf-prefrag-{version}/"
    for needed in ("dkms.conf", "kernel/Kbuild", "kernel/Makefile", "kernel/xt_PREFRAG.c",
                   "kernel/nf_prefrag_output.c", "kernel/probes/run.sh",
                   "kernel/include/uapi/linux/netfilter/xt_PREFRAG.h"):
        assert src + needed in listing, needed
    for built in (".o\n", ".ko\n", ".cmd\n", "compat-probed.h", "Module.symvers"):
        assert built not in listing, built
