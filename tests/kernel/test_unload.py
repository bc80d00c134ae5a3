"""After every other test (runs_last): after all that traffic, the modules
unload cleanly, and iptables loads them again on its own (as after a DKMS
install)."""
import subprocess

import pytest

from ourmodules import unload_ours as unload

pytestmark = pytest.mark.runs_last(2)


def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True)


def test_modules_unload_cleanly_and_autoload(modules):
    sh("for n in $(ip netns list | cut -d' ' -f1); do ip netns del $n; done")
    sh("iptables-legacy -t mangle -F; iptables-legacy -t raw -F; "
       "iptables-nft -t mangle -F; iptables-nft -t raw -F")
    r = unload()
    assert r.returncode == 0, r.stderr
    assert "nf_prefrag" not in sh("lsmod").stdout

    r = sh("iptables-legacy -t mangle -A POSTROUTING -j PREFRAG --mtu auto")
    assert r.returncode == 0, r.stderr
    assert "xt_PREFRAG" in sh("lsmod").stdout
    assert "ipv4_packets_fragmented 0" in sh("cat /proc/net/nf_prefrag").stdout
    sh("iptables-legacy -t mangle -F")
    r = unload()
    assert r.returncode == 0, r.stderr


def test_reject_revision_1_autoloads_with_the_stock_module(modules):
    """What the packaged modprobe.d file does: the kernel asks for
    ipt_REJECT, and xt_REJECT_MTU comes with it."""
    sh("iptables-legacy -F; ip6tables-legacy -F; iptables-nft -F; ip6tables-nft -F")
    assert unload().returncode == 0
    sh("rmmod ipt_REJECT ip6t_REJECT")
    assert "REJECT" not in sh("lsmod").stdout
    r = sh("iptables-legacy -A OUTPUT -p udp --dport 9 -j REJECT "
           "--reject-with icmp-frag-needed --reject-mtu 1400")
    assert r.returncode == 0, r.stderr
    loaded = sh("lsmod").stdout
    assert "xt_REJECT_MTU" in loaded and "ipt_REJECT" in loaded
    sh("iptables-legacy -F")
