"""First contact: nf-prefrag on a fresh, minimal Debian 12, as a new user and
a distribution user meet it.  Runs on the host, as root, in a debootstrap'ed
root (tests/distro/debian_root.py); the kernel parts boot that root in the
guest.  The README's commands are read from README.md and run exactly as
written, one invocation each.

Each defect of issue P5 that a user could see has a check here: the first
command in one go; make uninstall that never harms iptables; packages built
from sources only; versions from debian/changelog (upgrade, downgrade, a
Debian revision); --force-confmiss and purge; the installed packages on 6.1
and 6.12, with a clear message where DKMS has not built for the kernel.
"""
import os
import re
import subprocess

import pytest

from debian_root import CACHE, DebianRoot

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROOT_DIR = os.path.join(CACHE, "first-contact")
WORK = "/root/nf-prefrag"
VM = [os.path.join(TOP, "tests/guest/vm.py")]


def readme_block(heading):
    """The commands of the first code block after @heading in README.md."""
    text = open(os.path.join(TOP, "README.md")).read()
    section = text.split(f"\n{heading}\n", 1)[1]
    block = re.search(r"\n\n((?:    .*\n)+)", section).group(1)
    return [re.sub(r"\s+#.*$", "", line[4:]).strip() for line in block.splitlines()]


def kernels(root):
    """The root's kernels with headers, looked up inside the root: their
    build links name the root's /usr/src, whose kernels (the archive's)
    this machine may not have."""
    found = root.run('for d in /lib/modules/*/; do [ -e "$d/build" ] && basename "$d"; done; true')
    return sorted(found.stdout.split())


def version_of(root, where=WORK):
    return root.run(f"sh {where}/scripts/version.sh").stdout.strip()


@pytest.fixture(scope="module")
def root():
    r = DebianRoot(ROOT_DIR)
    try:
        # How the user got the clone: README, "Two commands".
        r.run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive "
              "apt-get install -y -qq --no-install-recommends git make ca-certificates >/dev/null")
        r.clone(TOP, WORK)
        yield r
    finally:
        r.remove()


def bootable_kernels(root):
    """Any kernel the root would boot: files in /boot, installed image
    packages.  Set-up unpacks the guest's kernels into a cache instead, and
    installs only the release's own headers, which do not depend on an
    image (6.12's do: set-up unpacks those too)."""
    return root.run("ls /boot | grep -e vmlinuz -e initrd; "
                    "dpkg-query -W -f='${db:Status-Abbrev} ${Package}\\n' "
                    "'linux-image-*' 2>/dev/null | grep '^i'; true").stdout


def installed_for(root, kver):
    """DKMS has our modules built and installed for @kver."""
    status = root.run("dkms status nf-prefrag").stdout
    return re.search(rf", {re.escape(kver)}, \S+: installed", status) is not None


def cached_kernels(root):
    """The kernels set-up unpacked with their headers into its cache."""
    found = root.run("for d in /var/tmp/nf-prefrag/kernels/lib/modules/*/; do "
                     '[ -e "$d/build" ] && basename "$d"; done; true')
    return sorted(found.stdout.split())


def test_readme_first_command_on_a_fresh_machine(root):
    first = readme_block("## Two commands")[0]
    assert first == "make setup demo"
    assert bootable_kernels(root) == ""
    out = root.run(f"cd {WORK} && {first}", timeout=3000).stdout
    assert "Demo done." in out, out[-3000:]
    # The guest boots the kernels from a cache of unpacked images: set-up
    # installs none (it once installed linux-image-amd64, then 6.12's image
    # with 6.12's headers), and both kernels can be built for.
    assert bootable_kernels(root) == ""
    assert [k for k in cached_kernels(root) if k.startswith("6.12.")], cached_kernels(root)
    root.run(f"cd {WORK} && make")


def test_uninstall_without_install_leaves_iptables_alone(root):
    out = root.run(f"cd {WORK} && make uninstall && make uninstall").stdout
    assert "nothing to do" in out
    assert root.run("dpkg --verify iptables").stdout == ""
    help_text = root.run("unshare -n iptables-legacy -j REJECT --help").stdout
    assert "tcp-reset" in help_text and "icmp-frag-needed" not in help_text


def test_install_then_uninstall_twice_restores_iptables(root):
    root.run(f"cd {WORK} && make install && make install")
    diversions = root.run("dpkg-divert --list '*REJECT*'").stdout
    assert diversions.count("local diversion") == 2, diversions
    assert "icmp-frag-needed" in root.run("unshare -n iptables-legacy -j REJECT --help").stdout
    root.run(f"cd {WORK} && make uninstall && make uninstall")
    assert root.run("dpkg-divert --list '*REJECT*'").stdout == ""
    assert root.run("dpkg --verify iptables").stdout == ""
    assert root.run("test ! -e /usr/sbin/nft-prefrag && "
                    "test ! -e /etc/modprobe.d/nf-prefrag.conf", check=False).returncode == 0
    help_text = root.run("unshare -n iptables-legacy -j REJECT --help").stdout
    assert "tcp-reset" in help_text and "icmp-frag-needed" not in help_text


def test_make_dkms_install_builds_for_every_kernel_from_sources_only(root):
    ver = version_of(root)
    root.run(f"cd {WORK} && make dkms-install >/dev/null")
    status = root.run("dkms status nf-prefrag").stdout
    for k in kernels(root):
        assert f"nf-prefrag/{ver}, {k}" in status and "installed" in status, status
    tree = root.run(f"cd /usr/src/nf-prefrag-{ver} && find . -type f | sort").stdout
    assert "./dkms.conf" in tree and "./kernel/xt_PREFRAG.c" in tree
    assert "tests/" not in tree and "debian/" not in tree and "build/" not in tree
    assert root.run(f"modinfo -k {kernels(root)[0]} -F version xt_PREFRAG").stdout.strip() == ver
    root.run(f"cd {WORK} && make dkms-uninstall && make dkms-uninstall")
    assert root.run("dkms status nf-prefrag").stdout.strip() == ""
    assert root.run(f"test -e /usr/src/nf-prefrag-{ver}", check=False).returncode != 0


def test_packages_hold_sources_only_and_clean_removes_builds(root):
    k = kernels(root)[0]
    # README, "Building by hand": an in-place build leaves objects in kernel/.
    root.run(f"cd {WORK} && make -C kernel KVER={k} >/dev/null && make deb")
    ver = version_of(root)
    listing = root.run(f"dpkg-deb -c {WORK}/build/deb/nf-prefrag-dkms_{ver}_all.deb").stdout
    assert f"./usr/src/nf-prefrag-{ver}/kernel/xt_PREFRAG.c" in listing
    for leftover in (".o\n", ".ko\n", ".cmd\n", "compat-probed.h", "Module.symvers"):
        assert leftover not in listing, leftover
    conf = root.run(f"dpkg-deb --fsys-tarfile {WORK}/build/deb/nf-prefrag-dkms_{ver}_all.deb"
                    f" | tar -xOf - ./usr/src/nf-prefrag-{ver}/dkms.conf").stdout
    assert f'PACKAGE_VERSION="{ver}"' in conf
    root.run(f"cd {WORK} && make clean")
    # Nothing built is left, ignored or not (the clone may carry local edits).
    left = root.run(f"cd {WORK} && git status --porcelain --ignored").stdout
    assert [l for l in left.splitlines() if l[:2] in ("!!", "??")] == [], left


def test_readme_package_install(root):
    root.run(f"cd {WORK} && make deb")
    install = [c for c in readme_block("## Installing") if c.startswith("apt install")]
    assert install, "README: no apt install command under Installing"
    root.run(f"cd {WORK} && DEBIAN_FRONTEND=noninteractive {install[0]} -y")
    for target in ("install", "uninstall"):
        r = root.run(f"cd {WORK} && make {target}", check=False)
        assert r.returncode != 0 and "Use apt" in r.stdout, r.stdout
    assert root.run("dpkg --verify xtables-nf-prefrag nf-prefrag-dkms").stdout == ""
    # DKMS builds for the kernels with headers (the running one, the host's,
    # is not among them here).
    status = root.run("dkms status nf-prefrag").stdout
    assert f"{kernels(root)[-1]}" in status and "installed" in status, status


def guest(root, kver, mode):
    r = subprocess.run(["/usr/bin/python3", *VM, "--root", ROOT_DIR, "--installed",
                        "--kernel", kver, "--top", WORK, "--cwd", WORK, "--quiet",
                        "--timeout", "900", "--",
                        "/usr/bin/python3", "tests/distro/installed_scenario.py", mode],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-8000:] + r.stderr[-3000:]
    return r.stdout


def test_installed_packages_without_a_dkms_build_say_what_to_run(root):
    """A kernel DKMS has no build installed for (its headers came later,
    say).  Uninstalled, not removed: with set-up's one kernel whose headers
    are installed, removing its build would take DKMS's record of us too."""
    oldest = kernels(root)[0]
    root.run(f"dkms uninstall nf-prefrag/{version_of(root)} -k {oldest} >/dev/null")
    assert not installed_for(root, oldest), root.run("dkms status nf-prefrag").stdout
    guest(root, oldest, "missing")


@pytest.mark.parametrize("which", ["6.1", "6.12"])
def test_installed_packages_carry_a_tunnel(root, which):
    kver = [k for k in kernels(root) + cached_kernels(root) if k.startswith(which + ".")][-1]
    if kver not in kernels(root):
        # A gateway that boots a newer kernel has its headers, for DKMS.
        root.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                 f"linux-headers-{kver} >/dev/null")
    # README.Debian: a kernel installed before the package gets its build so.
    if not installed_for(root, kver):
        root.run(f"dkms autoinstall -k {kver}")
    assert installed_for(root, kver), root.run("dkms status nf-prefrag").stdout
    guest(root, kver, "works")


def build_version(root, version):
    """Packages of @version (may carry a Debian revision) from a copy."""
    tree = f"/root/nf-prefrag-{version}"
    root.run(f"rm -rf {tree} && cp -a {WORK} {tree} && cd {tree} && "
             f"sed -i '1s/([^)]*)/({version})/' debian/changelog && make deb >/dev/null")
    return f"{tree}/build/deb"


def dkms_versions(root):
    """The versions DKMS has, once each (a line per kernel)."""
    return sorted(set(re.findall(r"nf-prefrag/([^,:\s]+)",
                                 root.run("dkms status nf-prefrag").stdout)))


def test_upgrade_downgrade_revision_confmiss_purge(root):
    old = version_of(root)
    apt = "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --allow-downgrades"
    debs = "{d}/nf-prefrag-dkms_{v}_all.deb {d}/xtables-nf-prefrag_{v}_amd64.deb"

    new = build_version(root, "9.9.1")
    root.run(f"{apt} {debs.format(d=new, v='9.9.1')}")
    assert dkms_versions(root) == ["9.9.1"]
    assert root.run("ls /usr/src").stdout.split().count(f"nf-prefrag-{old}") == 0
    assert root.run("dpkg-divert --list '*REJECT*'").stdout.count("xtables-nf-prefrag") == 2

    root.run(f"{apt} {debs.format(d=WORK + '/build/deb', v=old)}")
    assert dkms_versions(root) == [old]

    rev = build_version(root, "9.9.2-1")
    root.run(f"{apt} {debs.format(d=rev, v='9.9.2-1')}")
    assert dkms_versions(root) == ["9.9.2"]
    assert "nf-prefrag-9.9.2" in root.run("ls /usr/src").stdout.split()

    root.run("rm /etc/modprobe.d/nf-prefrag.conf && "
             f"dpkg -i --force-confmiss {rev}/nf-prefrag-dkms_9.9.2-1_all.deb")
    assert "softdep" in root.run("cat /etc/modprobe.d/nf-prefrag.conf").stdout

    root.run("DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "
             "nf-prefrag-dkms xtables-nf-prefrag")
    assert dkms_versions(root) == []
    assert root.run("test -e /etc/modprobe.d/nf-prefrag.conf", check=False).returncode != 0
    assert root.run("dpkg-divert --list '*REJECT*'").stdout == ""
    assert root.run("dpkg --verify iptables").stdout == ""
