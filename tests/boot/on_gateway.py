"""Runs inside a booted gateway (tests/boot/gateway.py), as root, in the
rules the system booted with.

    on_gateway.py state     what an administrator looks at: units,
                            rulesets, modules
    on_gateway.py traffic   this system as gateway A of a tunnel whose path
                            drops fragments: 1500-byte datagrams from the
                            host behind it must cross

Several may be named; one JSON object, keyed by them, is printed.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from nettest import udp_exchange  # noqa: E402
from topology import Tunnel  # noqa: E402

# The installed plugins, as a user's iptables finds them.
os.environ.pop("XTABLES_LIBDIR", None)


def sh(cmd):
    r = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True)
    return r.stdout + r.stderr


def counters():
    try:
        with open("/proc/net/nf_prefrag") as f:
            return {k: int(v) for k, v in (line.split() for line in f)}
    except FileNotFoundError:
        return {}


def state():
    return {
        "kernel": os.uname().release,
        "nftables": sh("systemctl is-active nftables.service").strip(),
        "nftables_status": sh("systemctl status --no-pager -l -n 20 nftables.service"),
        "nftables_exec": sh("systemctl show -p ExecStart -p ExecReload nftables.service"),
        "persistent": sh("systemctl is-active netfilter-persistent.service").strip(),
        "ruleset": sh("nft list ruleset"),
        "iptables": sh("iptables-save"),
        "ip6tables": sh("ip6tables-save"),
        "modules": sorted(m for m in ("nf_prefrag", "xt_PREFRAG", "xt_CLEARDF", "xt_REJECT_MTU")
                          if os.path.exists(f"/sys/module/{m}")),
        "dkms": sh("dkms status nf-prefrag"),
        "module_file": sh("modinfo -n xt_PREFRAG"),
        "failed_units": sh("systemctl --failed --no-legend --plain").split("\n"),
    }


def traffic():
    before = counters()
    t = Tunnel(prefix="gw", here=("ra",))
    try:
        sizes = [1400, 1472]    # 1472: a 1500-byte packet, too big for ESP
        res = udp_exchange(t.ha, t.hb, t.HB, sizes, wait=6.0)
        dropped = t.fragments_dropped()
    finally:
        t.delete()
    after = counters()
    return {"crossed": {str(s): res[s][0] for s in sizes},
            "fragments_dropped_on_path": dropped,
            "counters": {k: after[k] - before.get(k, 0) for k in after}}


if __name__ == "__main__":
    what = {"state": state, "traffic": traffic}
    print(json.dumps({name: what[name]() for name in sys.argv[1:]}))
