#!/usr/bin/env python3
"""Run a command inside a throwaway QEMU guest booting a Debian kernel.

The guest sees the host's files read-only (9p) under a tmpfs overlay, so the
host's iptables, nft, ip, tcpdump and python3 work there unchanged.  Our
freshly built modules are offered through a scratch module tree whose
modules.dep is computed on the host (depmod in the guest takes minutes under
TCG), so modprobe and the kernel's autoloader find them as DKMS would.

A hang (even after the command finished), a non-zero exit, or any report in
the guest's kernel log (oops, warning, lockdep, RCU, stall, hung task, leak:
at every log level, tests/guest/guest-main.sh records them all) fails the
run; the console is shown and the logs are kept.
"""
import argparse
import gzip
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

GUEST_ORIG_MODULES = "/run/nf-prefrag-kmods"
GUEST_RESULTS = "/run/nf-prefrag-results"  # tests/guest/init mounts the results share there
HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
# The guest's root file system: this machine's, or with --root another
# Debian tree (a debootstrap'ed one with our packages installed).
ROOT = "/"
# Where the kernel (/boot, /lib/modules) comes from: the cache of Debian's
# images in the root (make setup unpacks them there: scripts/install-deps.sh),
# the root's own installed kernels, or with --kernel-tree one built elsewhere
# (scripts/debug-kernel.sh).
KERNEL_CACHE = "/var/tmp/nf-prefrag/kernels"
KERNEL_TREE = None


def in_root(path):
    return os.path.join(ROOT, path.lstrip("/"))


def in_kernel_tree(path):
    return os.path.join(KERNEL_TREE, path.lstrip("/")) if KERNEL_TREE else in_root(path)

# Modules the initramfs needs to reach the 9p root; their dependencies are
# resolved from the kernel's own modules.dep (the list differs per kernel).
BOOT_MODULES = ["virtio_pci", "9pnet_virtio", "9p", "overlay"]

# Kernel log lines that mean the run must fail even if the tests passed, at
# any log level: lockdep and the RCU checker report at warning level, below
# what the console shows, and not through WARN().
BAD_LOG = re.compile(r"BUG:|WARNING:|Oops|general protection fault|refcount_t:|"
                     r"unreferenced object|Kernel panic|list_(add|del) corruption|"
                     r"kernel BUG|UBSAN:|KASAN:|[Ll]eak|"
                     r"possible (circular|recursive) locking|inconsistent lock state|"
                     r"suspicious RCU usage|lock held when returning|"
                     r"rcu: INFO:|rcu_.* detected stalls|self-detected stall|"
                     r"INFO: task .* blocked|soft lockup|hard LOCKUP|"
                     r"ODEBUG:|DEBUG_LOCKS_WARN_ON|"
                     r"waiting for .* to become free|"  # a device reference leaked
                     r"blocked for more than")  # a task stuck in the kernel (hung_task)
# ...except these, which are expected and harmless.
OK_LOG = re.compile(r"Command line:|Kernel command line:|module verification failed|"
                    r"loading out-of-tree module|taints kernel|"
                    r"kmemleak: Kernel memory leak detector")
# A kernel line on the console: its timestamp, wherever the line starts (a
# report may land after a test's name that pytest -v printed unfinished).
CONSOLE_KERNEL_LINE = re.compile(r"\[\s*\d+\.\d+\]")


def bad_line(text):
    return BAD_LOG.search(text) and not OK_LOG.search(text)


def kernel_reports(console_text, results):
    """The report lines of a run: from the kernel log the guest recorded as
    it went (tests/guest/guest-main.sh: every record, every level), from
    the console (what a panic replays, which the recorder may not have got
    to), and kmemleak's report."""
    bad = []
    path = os.path.join(results, "kernel.log")
    if os.path.exists(path):
        with open(path, errors="replace") as f:
            for line in f:
                # dmesg --raw: "<priority>[time] text"; the kernel's own
                # records have facility 0, what processes write has more.
                m = re.match(r"<(\d+)>", line)
                if m and int(m.group(1)) >> 3 != 0:
                    continue
                line = line[m.end():] if m else line
                if bad_line(line):
                    bad.append(line.rstrip())
    for line in console_text.splitlines():
        m = CONSOLE_KERNEL_LINE.search(line)
        if m and bad_line(line[m.start():]) and line[m.start():] not in bad:
            bad.append(line[m.start():])
    path = os.path.join(results, "kmemleak")
    if os.path.exists(path):
        leaks = open(path, errors="replace").read().splitlines()
        bad += ["kmemleak: " + l for l in leaks if l.strip()][:20]
    return bad


def log(msg):
    print(f"vm: {msg}", file=sys.stderr, flush=True)


def kernel_versions():
    return sorted(os.listdir(in_kernel_tree("/lib/modules")))


def has_kernel(tree, kver):
    """@kver boots from @tree (None: the root) and has headers to build
    against, in the tree (a debug kernel's) or installed in the root.  A
    build link names a path inside the root (another Debian's cache), not
    one on this machine: its presence is what counts."""
    def at(path):
        return os.path.join(tree, path.lstrip("/")) if tree else in_root(path)
    return os.path.exists(at(f"/boot/vmlinuz-{kver}")) and \
        (os.path.lexists(at(f"/lib/modules/{kver}/build")) or
         os.path.lexists(in_root(f"/lib/modules/{kver}/build")))


def choose_kernel_tree(kver=None):
    """Where @kver (or, without it, the default kernel) comes from: the
    cache if it has it, else the root."""
    cache = in_root(KERNEL_CACHE)
    if kver:
        return cache if has_kernel(cache, kver) else None
    return cache if os.path.isdir(os.path.join(cache, "boot")) else None


def version_key(release):
    return [int(n) for n in re.findall(r"\d+", release)]


def default_kernel():
    """The release's own kernel (the oldest series with an image and headers:
    6.1 on Debian 12, the one CI must pass), its newest build."""
    tree = KERNEL_TREE or choose_kernel_tree()
    modules = os.path.join(tree, "lib/modules") if tree else in_root("/lib/modules")
    vers = sorted((v for v in (os.listdir(modules) if os.path.isdir(modules) else [])
                   if has_kernel(tree, v)), key=version_key)
    if not vers:
        sys.exit("vm: no kernel with headers: run make setup")
    series = [v for v in vers if version_key(v)[:2] == version_key(vers[0])[:2]]
    return series[-1]


def extract_vmlinux(bzimage, out):
    """Decompress the kernel once: XZ decompression under TCG costs seconds."""
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(bzimage):
        return out
    data = open(bzimage, "rb").read()
    elf = None
    xz_at = data.find(b"\xfd7zXZ\x00")
    if xz_at >= 0:
        dec = lzma.LZMADecompressor()
        try:
            elf = dec.decompress(data[xz_at:])
        except lzma.LZMAError:
            elf = None
    if elf is None or not elf.startswith(b"\x7fELF"):
        zst_at = data.find(b"\x28\xb5\x2f\xfd")
        if zst_at >= 0:
            p = subprocess.run(["zstd", "-dcq"], input=data[zst_at:],
                               capture_output=True)
            elf = p.stdout
    if not elf or not elf.startswith(b"\x7fELF"):
        return bzimage  # boots too, only slower
    tmp = f"{out}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(elf)
    os.replace(tmp, out)
    return out


def read_modules_dep(kver):
    path = in_kernel_tree(f"/lib/modules/{kver}/modules.dep")
    if not os.path.exists(path) and KERNEL_TREE:  # an image make setup unpacked
        subprocess.run(["depmod", "-b", KERNEL_TREE, kver], check=True)
    deps = {}
    with open(path) as f:
        for line in f:
            module, _, rest = line.partition(":")
            deps[module] = rest.split()
    return deps


def module_name(path):
    base = os.path.basename(path)
    return re.sub(r"\.ko(\..*)?$", "", base).replace("-", "_")


def boot_module_paths(kver):
    """BOOT_MODULES and their dependencies, dependencies first."""
    deps = read_modules_dep(kver)
    by_name = {module_name(p): p for p in deps}
    order = []

    def visit(path):
        if path in order:
            return
        for d in reversed(deps.get(path, [])):
            visit(d)
        order.append(path)

    for name in BOOT_MODULES:
        if name in by_name:  # absent = built in
            visit(by_name[name])
    return order


def decompress_module(src, dst):
    """A module as insmod (busybox's) takes it: uncompressed."""
    if src.endswith(".xz"):
        with lzma.open(src) as fi, open(dst, "wb") as fo:
            shutil.copyfileobj(fi, fo)
    elif src.endswith(".zst"):
        subprocess.run(["zstd", "-dqf", src, "-o", dst], check=True)
    elif src.endswith(".gz"):
        with gzip.open(src) as fi, open(dst, "wb") as fo:
            shutil.copyfileobj(fi, fo)
    else:
        shutil.copy2(src, dst)


def build_initramfs(kver, cache, init_src=os.path.join(HERE, "init")):
    """busybox, @init_src as /init and the modules that reach a 9p root
    (those of @kver), in @cache; kept while newer than @init_src."""
    out = os.path.join(cache, "initramfs.cpio.gz")
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(init_src):
        return out
    root = tempfile.mkdtemp(prefix="initramfs.", dir=cache)
    try:
        for d in ("bin", "dev", "proc", "sys", "mnt/lower", "mnt/upper",
                  "newroot", "modules"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        shutil.copy2("/bin/busybox", os.path.join(root, "bin/busybox"))
        shutil.copy2(init_src, os.path.join(root, "init"))
        os.chmod(os.path.join(root, "init"), 0o755)
        for i, rel in enumerate(boot_module_paths(kver)):
            src = in_kernel_tree(f"/lib/modules/{kver}/{rel}")
            dst = os.path.join(root, "modules", f"{i:02d}-{module_name(rel)}.ko")
            decompress_module(src, dst)
        cpio = subprocess.run("find . | cpio -o -H newc --quiet", shell=True,
                              cwd=root, capture_output=True, check=True).stdout
        tmp = f"{out}.{os.getpid()}.tmp"
        with gzip.open(tmp, "wb", compresslevel=1) as f:
            f.write(cpio)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(root)
    return out


def guest_path(path):
    """@path (on this machine) as the guest sees it, or None outside its root."""
    rel = os.path.relpath(path, ROOT)
    return None if rel == ".." or rel.startswith("../") else "/" + rel


def build_module_tree(kver, workdir, modules, installed=False):
    """/lib/modules/<kver> plus our modules under updates/, with modules.dep;
    installed: with what packages installed in the root's /lib/modules/<kver>
    (DKMS's updates/dkms) instead of ours.

    The kernel's own modules are symlinked, not copied; depmod runs natively
    on the host in about a second.  A kernel from --kernel-tree: its few
    files are copied instead (it builds in what the suite needs).
    """
    base = os.path.join(workdir, "modroot")
    tree = os.path.join(base, "lib/modules", kver)
    os.makedirs(tree)
    real = in_kernel_tree(f"/lib/modules/{kver}")
    # Where the guest finds the kernel's own modules: the root's under
    # GUEST_ORIG_MODULES (this tree is mounted over its /lib/modules/<kver>),
    # the cache's where the root has it.
    if not KERNEL_TREE:
        seen_as = GUEST_ORIG_MODULES
    elif KERNEL_TREE == in_root(KERNEL_CACHE):
        seen_as = guest_path(real)
    else:
        seen_as = None
    for entry in os.listdir(real):
        if entry == "kernel" or entry.startswith("modules.builtin") or \
           entry == "modules.order":
            if seen_as:
                os.symlink(os.path.join(real, entry), os.path.join(tree, entry))
            else:
                copy = shutil.copytree if entry == "kernel" else shutil.copy2
                copy(os.path.join(real, entry), os.path.join(tree, entry))
    if installed:
        own = in_root(f"/lib/modules/{kver}")
        for entry in os.listdir(own):
            if os.path.isdir(os.path.join(own, entry)) and \
               entry not in ("build", "source", "kernel"):
                shutil.copytree(os.path.join(own, entry), os.path.join(tree, entry))
    else:
        os.makedirs(os.path.join(tree, "updates"))
        for m in modules:
            shutil.copy2(m, os.path.join(tree, "updates"))
    subprocess.run(["depmod", "-b", base, kver], check=True)
    for entry in os.listdir(tree):
        link = os.path.join(tree, entry)
        if os.path.islink(link):
            os.remove(link)
            os.symlink(os.path.join(seen_as, entry), link)
    return tree


def our_modules(kver, top):
    """The modules built for @kver in the tree at @top, inside the root."""
    build = os.path.join(in_root(top), "build", "kernel", kver)
    if not os.path.isdir(build):
        return []
    return sorted(os.path.join(build, f) for f in os.listdir(build)
                  if f.endswith(".ko"))


def run(kver, command, timeout, mem, cpus, quiet_console=False,
        installed=False, cwd=None, top=TOP, extra_append="", icount=False):
    """installed: the root's own modules (as its packages put them), not
    ours from build/; cwd and top are paths inside the guest's root.
    icount: the guest's clock counts instructions (one vCPU), so that
    what it measures is the same whatever else the host is doing."""
    cache = os.path.join(TOP, "build", "guest",
                         kver if ROOT == "/" else
                         os.path.basename(os.path.normpath(ROOT)) + "-" + kver)
    os.makedirs(cache, exist_ok=True)
    vmlinux = extract_vmlinux(in_kernel_tree(f"/boot/vmlinuz-{kver}"),
                              os.path.join(cache, "vmlinux"))
    initrd = build_initramfs(kver, cache)
    results = tempfile.mkdtemp(prefix="nf-prefrag-guest.")
    # Per run: guests may run side by side on the same kernel.  The root's
    # own installed kernel with its packages' modules needs none.
    modtree = "" if installed and not KERNEL_TREE else \
        build_module_tree(kver, results, our_modules(kver, top), installed)
    if modtree:  # as the guest sees it: the results share, whatever its root
        modtree = os.path.join(GUEST_RESULTS, os.path.relpath(modtree, results))
    with open(os.path.join(results, "cmd.sh"), "w") as f:
        f.write("cd %s\n%s\n" % (shlex_quote(cwd or os.getcwd()), command))
    with open(os.path.join(results, "env"), "w") as f:
        f.write(f"NF_PREFRAG_MODTREE={shlex_quote(modtree)}\n")
        f.write(f"NF_PREFRAG_INSTALLED={'1' if installed else ''}\n")
        f.write(f"NF_PREFRAG_TOP={shlex_quote(top)}\n")
        f.write(f"NF_PREFRAG_GUEST_TIMEOUT={timeout}\n")
        for k in ("CI", "NF_PREFRAG_VERBOSE", "NF_PREFRAG_FUZZ_FILE", "NF_PREFRAG_TIME_SCALE",
                  "NF_PREFRAG_SELFTESTS", "NF_PREFRAG_CHURN_CYCLES", "NF_PREFRAG_CHURN_RATE",
                  "NF_PREFRAG_BENCH_CLOCK", "NF_PREFRAG_BENCH_BEFORE", "NF_PREFRAG_BENCH_ROUNDS",
                  "NF_PREFRAG_BENCH_SECONDS", "PYTEST_ADDOPTS", "TERM"):
            if k in os.environ:
                f.write(f"{k}={shlex_quote(os.environ[k])}\n")
    console = os.path.join(results, "console.log")
    # A soft lockup panics at once, with every CPU's backtrace, and the
    # panic replays the whole kernel log: the console (loglevel 4) would
    # otherwise show the report's first line only, and a locked-up guest
    # never gets to save its log.
    append = ("console=ttyS0 loglevel=4 log_buf_len=16M panic=-1 oops=panic "
              "panic_on_warn=1 softlockup_panic=1 softlockup_all_cpu_backtrace=1 "
              "panic_print=0x20 sysrq_always_enabled net.ifnames=0 "
              "nf_prefrag.results=results " + extra_append).rstrip()
    qemu = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", "max",
            "-smp", str(cpus), "-m", str(mem), "-nodefaults", "-nographic",
            "-no-reboot", "-kernel", vmlinux, "-initrd", initrd,
            "-append", append, "-serial", "stdio",
            "-fsdev", f"local,id=r,path={ROOT},security_model=none,readonly=on,multidevs=remap",
            "-device", "virtio-9p-pci,fsdev=r,mount_tag=hostroot",
            "-fsdev", f"local,id=o,path={results},security_model=none",
            "-device", "virtio-9p-pci,fsdev=o,mount_tag=results"]
    if icount:
        # 4 ns of guest time per instruction; idle time skipped, not slept
        # (shared/notes/guest-kernel.md).
        qemu += ["-icount", "shift=2,sleep=off"]
    started = time.monotonic()
    timed_out = False
    with open(console, "wb") as con:
        p = subprocess.Popen(qemu, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            deadline = started + timeout
            os.set_blocking(p.stdout.fileno(), False)
            while p.poll() is None:
                if time.monotonic() > deadline:
                    timed_out = True
                    p.kill()
                    break
                chunk = p.stdout.read()
                if chunk:
                    con.write(chunk)
                    con.flush()
                    if not quiet_console:
                        sys.stdout.buffer.write(chunk.replace(b"\r", b""))
                        sys.stdout.flush()
                else:
                    time.sleep(0.05)
            rest = p.stdout.read() or b""
            con.write(rest)
            if not quiet_console:
                sys.stdout.buffer.write(rest.replace(b"\r", b""))
        finally:
            if p.poll() is None:
                p.kill()
            p.wait()
    elapsed = time.monotonic() - started
    status_file = os.path.join(results, "status")
    status = None
    if os.path.exists(status_file):
        status = int(open(status_file).read().strip() or 1)
    text = open(console, "rb").read().decode("utf-8", "replace")
    bad = kernel_reports(text, results)
    failed = timed_out or status != 0 or bad
    if timed_out:
        log(f"guest did not finish within {timeout} s (hang?)")
    elif status is None:
        log("guest died before writing its exit status (panic?)")
    if bad:
        log("kernel log shows trouble:")
        for l in bad[:40]:
            log("  " + l)
    if failed and quiet_console:
        sys.stdout.write(text)
    log(f"{kver}: exit {status}, {elapsed:.0f} s wall; console log {console}, "
        f"kernel log {os.path.join(results, 'kernel.log')}")
    if not failed:
        shutil.rmtree(results, ignore_errors=True)
        return 0
    return status or 1


def shlex_quote(s):
    import shlex
    return shlex.quote(s)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernel", default=None,
                    help="kernel version under /lib/modules (default: the 6.1 one)")
    ap.add_argument("--timeout", type=int, default=1500, help="seconds, whole run")
    ap.add_argument("--mem", type=int, default=2048, help="MiB")
    ap.add_argument("--cpus", type=int, default=1)
    ap.add_argument("--quiet", action="store_true",
                    help="show the console only when the run fails")
    ap.add_argument("--root", default="/",
                    help="the guest's root file system (default: this machine's)")
    ap.add_argument("--kernel-tree", default=None,
                    help="take the kernel's /boot and /lib/modules from this tree "
                         "(scripts/debug-kernel.sh), not from the root")
    ap.add_argument("--installed", action="store_true",
                    help="use the modules installed in the root (DKMS), not build/")
    ap.add_argument("--append", default="",
                    help="more kernel command line parameters")
    ap.add_argument("--icount", action="store_true",
                    help="guest time counts instructions (benchmarks; one vCPU)")
    ap.add_argument("--cwd", default=None, help="working directory in the guest")
    ap.add_argument("--print-kernel", action="store_true",
                    help="print the kernel a run would boot, and exit")
    ap.add_argument("--top", default=TOP,
                    help="where nf-prefrag's tree is, inside the guest's root")
    ap.add_argument("command", nargs=argparse.REMAINDER,
                    help="shell command to run in the guest (cwd is kept)")
    a = ap.parse_args()
    global ROOT, KERNEL_TREE
    ROOT = os.path.abspath(a.root)
    KERNEL_TREE = a.kernel_tree and os.path.abspath(a.kernel_tree)
    cmd = " ".join(a.command[1:] if a.command[:1] == ["--"] else a.command) or "true"
    if a.icount and a.cpus != 1:
        sys.exit("vm: --icount counts one vCPU's instructions: not with --cpus")
    kver = a.kernel or default_kernel()
    if a.print_kernel:
        print(kver)
        return
    if not KERNEL_TREE:
        KERNEL_TREE = choose_kernel_tree(kver)
    if not os.path.isdir(in_kernel_tree(f"/lib/modules/{kver}")):
        sys.exit(f"vm: kernel {kver} not installed (have: {' '.join(kernel_versions())})")
    sys.exit(run(kver, cmd, a.timeout, a.mem, a.cpus, a.quiet,
                 installed=a.installed, cwd=a.cwd, top=a.top, extra_append=a.append,
                 icount=a.icount))


if __name__ == "__main__":
    main()
