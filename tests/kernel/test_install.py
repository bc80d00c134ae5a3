"""Very last (runs_last): `make install` on the (throwaway) guest system,
then plain iptables, with no XTABLES_LIBDIR, uses our plugins; `make
uninstall` gives iptables its own REJECT back."""
import os
import subprocess

import pytest

from nettest import TOP, Netns

pytestmark = pytest.mark.runs_last(3)

ENV = {k: v for k, v in os.environ.items() if k != "XTABLES_LIBDIR"}
XTLIBDIR = subprocess.run(["pkg-config", "--variable=xtlibdir", "xtables"],
                          capture_output=True, text=True).stdout.strip()


def make(target):
    r = subprocess.run(["make", "-s", "-C", TOP, target], capture_output=True,
                       text=True, env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr


def reject_help():
    return subprocess.run(["iptables-legacy", "-j", "REJECT", "--help"],
                          capture_output=True, text=True, env=ENV).stdout


def test_make_install_and_uninstall(modules):
    make("install")
    # As after `dkms install` on a running system (README: Installing).
    subprocess.run(["modprobe", "xt_REJECT_MTU"], check=True)
    try:
        assert os.path.exists(f"{XTLIBDIR}/libipt_REJECT.so.iptables")  # diverted
        assert os.path.exists("/etc/modprobe.d/nf-prefrag.conf")
        assert os.path.exists("/usr/share/man/man8/nf-prefrag.8")
        n = Netns("install")
        try:
            for cmd in ("iptables-legacy -A OUTPUT -p udp -j REJECT "
                        "--reject-with icmp-frag-needed --reject-mtu 1400",
                        "ip6tables-legacy -t mangle -A POSTROUTING -j PREFRAG --mtu 1280",
                        "iptables-legacy -t mangle -A PREROUTING -j CLEARDF --min-len 1400"):
                r = n.run(["sh", "-c", f"env -u XTABLES_LIBDIR {cmd}"], check=False)
                assert r.returncode == 0, r.stderr
            saved = n.sh("env -u XTABLES_LIBDIR iptables-legacy-save")
            assert "--reject-with icmp-frag-needed --reject-mtu 1400" in saved
        finally:
            n.delete()
    finally:
        make("uninstall")
    assert not os.path.exists(f"{XTLIBDIR}/libipt_REJECT.so.iptables")
    assert "icmp-frag-needed" not in reject_help() and "tcp-reset" in reject_help()
