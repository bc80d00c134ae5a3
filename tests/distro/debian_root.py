"""A fresh, minimal Debian root to try nf-prefrag the way a new user would.

The base system comes from debootstrap (variant minbase), from a tarball of
its packages cached under /var/tmp/nf-prefrag (made on first use).  The
mirror is the one this machine's own apt sources name, so none is written
here.  Downloaded .debs are kept in an apt archive per root, so a second run
downloads nothing; every package is still installed afresh.
"""
import fcntl
import os
import re
import shutil
import subprocess

CACHE = "/var/tmp/nf-prefrag"
APT_ARCHIVES = os.path.join(CACHE, "apt-archives")


def host_sources():
    """This machine's Debian apt entries as one-line "deb URI suite
    components" lines, the form the installer writes."""
    deb822 = "/etc/apt/sources.list.d/debian.sources"
    if not os.path.exists(deb822):
        return [l.strip() for l in open("/etc/apt/sources.list")
                if l.startswith("deb ")]
    lines = []
    for stanza in open(deb822).read().split("\n\n"):
        fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
        if "deb" not in fields.get("Types", "").split():
            continue
        for uri in fields["URIs"].split():
            for suite in fields["Suites"].split():
                lines.append(f"deb {uri} {suite} {fields.get('Components', 'main')}")
    return lines


def host_mirror():
    """The first Debian mirror in this machine's apt sources."""
    deb822 = "/etc/apt/sources.list.d/debian.sources"
    if os.path.exists(deb822):
        for line in open(deb822):
            if line.startswith("URIs:"):
                return line.split()[1]
    if os.path.exists("/etc/apt/sources.list"):
        for line in open("/etc/apt/sources.list"):
            m = re.match(r"deb\s+(\[[^]]*\]\s+)?(\S+)\s", line)
            if m:
                return m.group(2)
    raise RuntimeError("no Debian mirror in this machine's apt sources")


def base_tarball(suite):
    path = os.path.join(CACHE, "debootstrap", f"{suite}-minbase.tgz")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Roots are set up side by side (CI: libreswan's beside first contact's):
    # one makes the tarball, the other waits for it.
    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(path):
            scratch = path + ".dir"
            shutil.rmtree(scratch, ignore_errors=True)
            subprocess.run(["debootstrap", "--variant=minbase",
                            f"--make-tarball={path}.tmp", suite, scratch,
                            host_mirror()], check=True, capture_output=True)
            shutil.rmtree(scratch, ignore_errors=True)
            os.replace(path + ".tmp", path)
    return path


def suite_sources(suite):
    """This machine's apt entries, moved to @suite (bookworm-security
    becomes trixie-security, and so on), as one-line entries."""
    with open("/etc/os-release") as f:
        release = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    codename = release.get("VERSION_CODENAME", "").strip('"') or "bookworm"
    return [re.sub(rf"(\s){codename}(-\w+)?(\s)", rf"\g<1>{suite}\g<2>\g<3>", l)
            for l in host_sources()]


def mounted_under(path):
    with open("/proc/mounts") as f:
        return [line.split()[1] for line in f if line.split()[1].startswith(path + "/")]


def unmount_root(path):
    """Unmount everything under @path (also what a run that died left)."""
    for target in sorted(mounted_under(path), reverse=True):
        subprocess.run(["umount", "-l", target], check=False)


class DebianRoot:
    """debootstrap'ed root at @path with /proc, /sys, /dev mounted.  A new
    one replaces what is at @path; DebianRoot.attach() mounts an existing
    one again."""

    def __init__(self, path, suite="bookworm", fresh=True):
        self.path = path
        self.mounts = []
        if fresh:
            if os.path.exists(path):
                self.remove()
            os.makedirs(path)
            subprocess.run(["debootstrap", "--variant=minbase",
                            f"--unpack-tarball={base_tarball(suite)}", suite, path,
                            host_mirror()], check=True, capture_output=True)
            shutil.copy("/etc/resolv.conf", os.path.join(path, "etc/resolv.conf"))
            # As a Debian installed from its installer has them: the release,
            # its updates and its security suite (debootstrap writes the first).
            with open(os.path.join(path, "etc/apt/sources.list"), "w") as f:
                f.write("".join(l + "\n" for l in suite_sources(suite)))
        self._mount()

    @classmethod
    def attach(cls, path):
        return cls(path, fresh=False)

    def _mount(self):
        # One archive per root: roots set up side by side (CI runs Debian
        # 13 beside first contact) must not wait on each other's apt lock.
        archives = os.path.join(APT_ARCHIVES, os.path.basename(os.path.normpath(self.path)))
        os.makedirs(archives, exist_ok=True)
        for src, dst, opts in (("proc", "proc", ["-t", "proc"]),
                               ("sysfs", "sys", ["-t", "sysfs"]),
                               ("/dev", "dev", ["--bind"]),
                               ("devpts", "dev/pts", ["-t", "devpts"]),
                               (archives, "var/cache/apt/archives", ["--bind"])):
            target = os.path.join(self.path, dst)
            if target in self.mounted():
                continue
            os.makedirs(target, exist_ok=True)
            subprocess.run(["mount", *opts, src, target], check=True)
            self.mounts.append(target)

    def unmount(self):
        unmount_root(self.path)
        self.mounts = []

    def run(self, script, check=True, timeout=3600, env=None):
        """Run @script with sh -c in the root, as root; returns the result
        with stdout and stderr merged into .stdout."""
        full_env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb"}
        full_env.update(env or {})
        r = subprocess.run(["chroot", self.path, "sh", "-c", script],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout, env=full_env,
                           stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise AssertionError(f"in the root: {script}\nexit {r.returncode}\n"
                                 f"{r.stdout[-6000:]}")
        return r

    def clone(self, top, dest):
        """A git clone of @top at @dest in the root, with the work tree's
        tracked files as they are now (so local edits are what is tried)."""
        target = os.path.join(self.path, dest.lstrip("/"))
        subprocess.run(["git", "clone", "-q", top, target], check=True)
        files = subprocess.run(["sh", os.path.join(top, "scripts/source-files.sh")],
                               check=True, capture_output=True).stdout
        # The work tree's files replace the clone's, added to its index (a
        # new file must count as tracked there too).
        subprocess.run(["git", "-C", target, "rm", "-rqf", "."], check=True)
        subprocess.run(f"tar -C {top} --null -T - -cf - | tar -C {target} -xf -",
                       shell=True, input=files, check=True)
        subprocess.run(["git", "-C", target, "add", "-A"], check=True)
        return target

    def mounted(self):
        return mounted_under(self.path)

    def remove(self):
        """Unmount (also what an earlier run that died left), then delete."""
        self.unmount()
        # Never follow a bind mount into the host: only remove when none is left.
        if self.mounted():
            raise RuntimeError(f"{self.path}: still mounted, not removing")
        shutil.rmtree(self.path, ignore_errors=True)
