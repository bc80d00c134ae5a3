"""A gateway that boots Debian with systemd, as a user's does.

GatewayRoot: a debootstrap'ed Debian root (tests/distro/debian_root.py)
with systemd as PID 1, a kernel and its headers, DKMS, iptables, nftables,
netfilter-persistent, and our packages installed with apt as the README
says.  It lives in a host directory that the guest mounts read-write over
9p: what the system writes is there at the next boot, so booting it again
is a reboot.

boot(): boots the root's own kernel (newest, or a named one), with an
initramfs that mounts the root and starts systemd (tests/boot/init).  At
the end of the boot nf-prefrag-boot-test.service runs this boot's command
in /root/nf-prefrag (a copy of the project's tests) and powers off.  The
run fails on any kernel report, as every guest run does (tests/guest/vm.py).
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "distro"))
sys.path.insert(0, os.path.join(TOP, "tests", "guest"))
from debian_root import DebianRoot  # noqa: E402
import vm  # noqa: E402

ROOTS = "/var/tmp/nf-prefrag/boot"
# What a small gateway has: systemd and udev, a kernel with its headers (for
# DKMS), both firewall front ends and their boot-time loaders.
PACKAGES = ("systemd systemd-sysv udev dbus kmod procps iproute2 iputils-ping "
            "ethtool tcpdump python3 iptables nftables netfilter-persistent "
            "iptables-persistent linux-image-amd64")
# ...and what DKMS needs to build our modules there (not a fleet's gateway).
BUILD_PACKAGES = "linux-headers-amd64 dkms"
TEST_DIR = "/root/nf-prefrag"   # the project's tests, inside the root


class GatewayRoot(DebianRoot):
    def __init__(self, suite, debs, fresh=True, compiler=True, name=None):
        """fresh=False: the root of an earlier run, our packages upgraded
        (to try a change again without a new root).  compiler=False: no
        headers, DKMS or compiler (a fleet's gateway: prebuilt modules).
        name: the root's directory under ROOTS (default: @suite)."""
        super().__init__(os.path.join(ROOTS, name or suite), suite, fresh)
        self.suite = suite
        if fresh:
            packages = PACKAGES + (" " + BUILD_PACKAGES if compiler else "")
            self.run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive "
                     f"apt-get install -y -qq --no-install-recommends {packages} >/dev/null")
        self.install_debs(debs)
        self.put(os.path.join(HERE, "nf-prefrag-boot-test"),
                 "/usr/local/sbin/nf-prefrag-boot-test", 0o755)
        self.put(os.path.join(HERE, "nf-prefrag-boot-test.service"),
                 "/etc/systemd/system/nf-prefrag-boot-test.service", 0o644)
        self.run("systemctl enable nf-prefrag-boot-test.service nftables.service "
                 ">/dev/null 2>&1 && echo gateway > /etc/hostname && : > /etc/fstab")
        self.refresh_tests()

    def install_debs(self, debs):
        """Our packages, as the README installs them (apt, local files)."""
        if not debs:
            return
        self.run("rm -rf /tmp/debs && mkdir /tmp/debs")
        for d in debs:
            shutil.copy(d, os.path.join(self.path, "tmp/debs"))
        self.run("cd /tmp/debs && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall "
                 "./*.deb >/dev/null")

    def put(self, src, dest, mode):
        target = os.path.join(self.path, dest.lstrip("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy(src, target)
        os.chmod(target, mode)

    def write(self, dest, text):
        with open(os.path.join(self.path, dest.lstrip("/")), "w") as f:
            f.write(text)

    def read(self, dest):
        with open(os.path.join(self.path, dest.lstrip("/"))) as f:
            return f.read()

    def refresh_tests(self):
        """The work tree's tests/ (what the boots run) in the root."""
        target = os.path.join(self.path, TEST_DIR.lstrip("/"))
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(os.path.join(TOP, "tests"), os.path.join(target, "tests"),
                        ignore=shutil.ignore_patterns("__pycache__"))

    def kernels(self):
        return sorted((os.path.basename(p)[len("vmlinuz-"):]
                       for p in glob.glob(os.path.join(self.path, "boot/vmlinuz-*"))),
                      key=vm.version_key)

    def boot(self, command, kernel=None, append="", timeout=900, mem=1536):
        """Boot, run @command at the end of the boot; returns its output.
        Fails (AssertionError) on a non-zero status, a kernel report or a
        boot that does not finish."""
        self.unmount()  # the guest must see the root, not this host's /dev
        try:
            return boot(self.path, command, kernel or self.kernels()[-1], append,
                        timeout, mem)
        finally:
            self._mount()


def initramfs(root, kver, cache):
    """vm.py's initramfs with tests/boot/init, from the root's own kernel."""
    vm.ROOT = root
    return vm.build_initramfs(kver, cache, os.path.join(HERE, "init"))


def boot(root, command, kver, append="", timeout=900, mem=1536):
    cache = tempfile.mkdtemp(prefix="nf-prefrag-boot.")
    results = os.path.join(cache, "results")
    os.makedirs(results)
    vmlinux = vm.extract_vmlinux(os.path.join(root, f"boot/vmlinuz-{kver}"),
                                 os.path.join(cache, "vmlinux"))
    initrd = initramfs(root, kver, cache)
    with open(os.path.join(results, "cmd.sh"), "w") as f:
        f.write(command + "\n")
    cmdline = ("console=ttyS0 loglevel=4 panic=-1 oops=panic panic_on_warn=1 "
               "net.ifnames=0 systemd.show_status=error " + append).rstrip()
    qemu = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-smp", "1",
            "-m", str(mem), "-nodefaults", "-nographic", "-no-reboot",
            "-kernel", vmlinux, "-initrd", initrd, "-append", cmdline,
            "-serial", "stdio",
            "-fsdev", f"local,id=r,path={root},security_model=passthrough,multidevs=remap",
            "-device", "virtio-9p-pci,fsdev=r,mount_tag=hostroot",
            "-fsdev", f"local,id=o,path={results},security_model=none",
            "-device", "virtio-9p-pci,fsdev=o,mount_tag=results"]
    started = time.monotonic()
    console = os.path.join(cache, "console.log")
    with open(console, "wb") as con:
        try:
            subprocess.run(qemu, stdout=con, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
    text = open(console, "rb").read().decode("utf-8", "replace")
    out = ""
    if os.path.exists(os.path.join(results, "out.log")):
        out = open(os.path.join(results, "out.log"), errors="replace").read()
    status = None
    if os.path.exists(os.path.join(results, "status")):
        status = int(open(os.path.join(results, "status")).read().strip() or 1)
    bad = vm.kernel_reports(text, results)
    elapsed = time.monotonic() - started
    if timed_out or status != 0 or bad:
        raise AssertionError(
            f"boot of {root} ({kver}): "
            f"{'timed out' if timed_out else f'status {status}'}, {elapsed:.0f} s; "
            f"kernel reports: {bad[:20]}\n--- output\n{out[-6000:]}\n"
            f"--- console (last lines; all in {console})\n{text[-4000:]}")
    shutil.rmtree(cache, ignore_errors=True)
    print(f"boot: {kver}, {elapsed:.0f} s", flush=True)
    return out


# ------------------------------------------------ what the boot tests share

SUITE = os.environ.get("NF_PREFRAG_BOOT_SUITE", "bookworm")
ON_GATEWAY = "python3 tests/boot/on_gateway.py"

# What a gateway's /etc/nftables.conf holds: our statements among nft's
# own, a named set and a verdict map.
NFTABLES_CONF = """#!/usr/sbin/nft -f
flush ruleset

table inet gateway {
	set tunnel_devices {
		type ifname
		elements = { "eth1" }
	}

	map by_port {
		type inet_service : verdict
		elements = { 22 : accept }
	}

	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		iifname != @tunnel_devices meta l4proto tcp cleardf min-len 1400
	}

	chain forward {
		type filter hook forward priority filter; policy accept;
		tcp dport vmap @by_port
	}

	chain postrouting {
		type filter hook postrouting priority mangle; policy accept;
		rt ipsec exists counter prefrag mtu auto
	}

	chain too_big {
		meta nfproto ipv4 reject with icmp frag-needed mtu 1400
		meta nfproto ipv6 reject with icmpv6 too-big mtu 1280
	}
}
"""


# Our packages for SUITE (tests/check-boot.sh); or made by make deb in BUILD.
BUILD = os.path.join(TOP, "build", "boot")
DEBS = os.environ.get("NF_PREFRAG_BOOT_DEBS") or os.path.join(BUILD, "deb")


def our_debs():
    return [d for d in glob.glob(os.path.join(DEBS, "*.deb")) if "-dbgsym_" not in d]


def on_gateway(gw, what, before="", after="", **kw):
    """Boot, run @before, look (on_gateway.py @what: "state", "traffic" or
    both), run @after; what was seen, keyed by name."""
    out = gw.boot(f"{before}\n{ON_GATEWAY} {what} > /tmp/seen.json || exit 13\n"
                  f"{after}\ncat /tmp/seen.json", **kw)
    return json.loads(out.strip().splitlines()[-1])


def rules_of(listing):
    """A listing without what changes between boots: counters, handles."""
    return re.sub(r"counter packets \d+ bytes \d+", "counter", listing)


def crosses(traffic):
    assert traffic["crossed"] == {"1400": True, "1472": True}, traffic
    assert traffic["counters"].get("ipv4_packets_fragmented", 0) >= 1, traffic
