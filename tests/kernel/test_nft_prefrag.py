"""nft-prefrag: our actions in nft syntax, loaded into the user's own inet,
ip and ip6 tables, with no iptables at all."""
import json
import os
import re
import subprocess
import time

import pytest

from nettest import NFT_PREFRAG, Netns, capture, ping
from topology import Bridge

ESP, ICMP = 50, 1

VPN = """table inet vpn {
	chain out {
		type filter hook postrouting priority mangle; policy accept;
		oifname "eth1" meta nfproto ipv4 counter prefrag mtu auto
	}
}
"""


def load(ns, text, path, check=True):
    with open(path, "w") as f:
        f.write(text)
    r = ns.run([NFT_PREFRAG, "-f", path], check=False)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def listing(ns):
    return ns.sh(f"{NFT_PREFRAG} list ruleset")


def rules(ns):
    """The listing without counter values: traffic is not a change."""
    return re.sub(r"counter packets \d+ bytes \d+", "counter", listing(ns))


def test_tunnel_scenario_from_nft_syntax(tun):
    assert ping(tun.ha, tun.HB, 1472, count=1) == 100.0
    for r in tun.routers():
        load(r, VPN, f"{tun.tmp}/vpn.nft")
    with capture(tun.mid, "eth0", f"{tun.tmp}/mid.pcap") as wire:
        assert ping(tun.ha, tun.HB, 1472, count=3) == 0.0
    esp = [p for p in wire if p.proto == ESP]
    assert esp and not any(p.is_fragment for p in esp)
    assert tun.ra.counters()["ipv4_packets_fragmented"] == 3
    assert "prefrag mtu auto" in listing(tun.ra)


def test_round_trip_is_exact(tun):
    load(tun.ra, VPN + """table ip filter {
	chain forward {
		type filter hook forward priority filter; policy accept;
		ip protocol icmp cleardf min-len 1400 random-id
		oifname "eth1" prefrag mtu 1376 df clear
		oifname "eth9" reject with icmp frag-needed mtu 1400
	}
}
table ip6 t6 {
	chain out {
		type filter hook output priority filter; policy accept;
		prefrag mtu 1280
		meta l4proto tcp prefrag mtu 1400 tcp segment
		oifname "eth9" reject with icmpv6 too-big mtu auto
	}
}
""", f"{tun.tmp}/all.nft")
    ping(tun.ha, tun.HB, 1472, count=1)  # counters that must survive too
    before = listing(tun.ra)
    for stmt in ("cleardf min-len 1400 random-id", "prefrag mtu 1376 df clear",
                 "reject with icmp frag-needed mtu 1400", "prefrag mtu 1280",
                 "prefrag mtu 1400 tcp segment", "reject with icmpv6 too-big mtu auto"):
        assert stmt in before
    tun.ra.sh("nft flush ruleset")
    load(tun.ra, before, f"{tun.tmp}/saved.nft")
    assert listing(tun.ra) == before
    # JSON, both ways: our statements as documented objects, no "xt".
    doc = json.loads(tun.ra.sh(f"{NFT_PREFRAG} -j list ruleset"))
    exprs = [e for item in doc["nftables"] if "rule" in item for e in item["rule"]["expr"]]
    assert not [e for e in exprs if "xt" in e], exprs
    for ours in ({"cleardf": {"min-len": 1400, "random-id": True}},
                 {"prefrag": {"mtu": 1376, "df": "clear"}},
                 {"reject": {"type": "icmp", "expr": "frag-needed", "mtu": 1400}},
                 {"prefrag": {"mtu": 1280}},
                 {"prefrag": {"mtu": 1400, "tcp": "segment"}},
                 {"reject": {"type": "icmpv6", "expr": "too-big", "mtu": "auto"}},
                 {"prefrag": {"mtu": "auto"}}):
        assert ours in exprs, (ours, exprs)
    tun.ra.sh("nft flush ruleset")
    r = tun.ra.run([NFT_PREFRAG, "-j", "-f", "-"], input=json.dumps(doc), check=False)
    assert r.returncode == 0, r.stderr
    assert listing(tun.ra) == before
    # ...and the listing stock nft gives of the same rules names the targets only
    assert '{"xt": {"type": "target", "name": "PREFRAG"}}' in tun.ra.sh("nft -j list ruleset")


def test_stock_nft_lists_flushes_and_deletes(tun):
    load(tun.ra, VPN, f"{tun.tmp}/vpn.nft")
    assert "prefrag mtu auto" in tun.ra.sh("nft list ruleset")
    handle = tun.ra.sh("nft -a list chain inet vpn out").split(
        "prefrag mtu auto # handle ")[1].split()[0]
    tun.ra.sh(f"nft delete rule inet vpn out handle {handle}")
    assert "prefrag" not in tun.ra.sh("nft list ruleset")
    load(tun.ra, VPN, f"{tun.tmp}/vpn.nft")
    tun.ra.sh("nft flush ruleset")
    assert tun.ra.sh("nft list ruleset").strip() == ""


def test_reject_with_mtu_from_nft(tun):
    load(tun.ra, """table ip filter {
	chain forward {
		type filter hook forward priority filter; policy accept;
		oifname "eth1" reject with icmp frag-needed mtu 1400
	}
}
""", f"{tun.tmp}/rej.nft")
    with capture(tun.ha, "eth0", f"{tun.tmp}/ha.pcap", "icmp") as near:
        assert ping(tun.ha, tun.HB, 1400, count=1, df=True) == 100.0
    assert [p.icmp() for p in near if p.icmp()[0] == 3] == [(3, 4, 1400)]
    assert ping(tun.ha, tun.HB, 1300, count=1, df=True) == 0.0


@pytest.mark.parametrize("text,where,message", [
    ('table inet x {\n\tchain c {\n\t\ttype filter hook forward priority 0;\n'
     '\t\toifname "eth1" prefrag mtu 12\n\t}\n}\n',
     ':4:30-31: Error: prefrag: mtu takes "auto" or a number from 68 to 65535',
     "prefrag mtu 12"),
    ('table inet x {\n\tchain c {\n\t\ttype filter hook forward priority 0;\n'
     '\t\toifname "eth1" prefrag mtu 1400 countr\n\t}\n}\n',
     ":4:41-41: Error: syntax error", "countr"),
    ('table inet x {\n\tchain c {\n\t\ttype filter hook forward priority 0;\n'
     '\t\tcleardf min-len\n\t}\n}\n',
     ":4:18-18: Error: cleardf: min-len takes a number from 1 to 65535", "cleardf min-len"),
])
def test_errors_point_at_file_line_column_and_change_nothing(tun, text, where, message):
    load(tun.ra, VPN, f"{tun.tmp}/vpn.nft")
    before = rules(tun.ra)
    path = f"{tun.tmp}/bad.nft"
    r = load(tun.ra, text, path, check=False)
    assert r.returncode != 0
    assert f"{path}{where}" in r.stderr and message in r.stderr, r.stderr
    assert rules(tun.ra) == before


def test_reject_with_mtu_in_inet_table(tun):
    """In inet tables each reject acts on its own family's packets."""
    load(tun.ra, """table inet fw {
	chain forward {
		type filter hook forward priority filter; policy accept;
		oifname "eth1" reject with icmpv6 too-big mtu 1280
		oifname "eth1" reject with icmp frag-needed mtu 1400
	}
}
""", f"{tun.tmp}/inet.nft")
    text = listing(tun.ra)
    assert "reject with icmpv6 too-big mtu 1280" in text
    assert "reject with icmp frag-needed mtu 1400" in text
    with capture(tun.ha, "eth0", f"{tun.tmp}/ha.pcap", "icmp") as near:
        assert ping(tun.ha, tun.HB, 1400, count=1, df=True) == 100.0
    assert [p.icmp() for p in near if p.icmp()[0] == 3] == [(3, 4, 1400)]


def test_kernel_refusal_changes_nothing(tun):
    """The kernel refuses `mtu auto` in an input chain (there is no route
    whose MTU means anything): the load is one transaction, so nothing of
    the file is applied, and the error points at the statement."""
    load(tun.ra, VPN, f"{tun.tmp}/vpn.nft")
    before = rules(tun.ra)
    path = f"{tun.tmp}/refused.nft"
    r = load(tun.ra, """table inet newt {
	chain c {
		type filter hook forward priority 0;
		oifname "eth1" prefrag mtu auto
	}
}
add chain inet vpn inbound { type filter hook input priority 0; }
add rule inet vpn inbound reject with icmp frag-needed mtu auto
""", path, check=False)
    assert r.returncode != 0
    assert f"{path}:8:27-63: Error: Could not process rule: Invalid argument" in r.stderr, r.stderr
    assert rules(tun.ra) == before


def test_bridge_scenario_from_nft_syntax(modules, tmp_path):
    b = Bridge(prefix="nb", mode="tunnel", drop_fragments=True)
    try:
        assert ping(b.ha, b.HB, 56, count=2) == 0.0
        assert ping(b.ha, b.HB, 1472, count=1, df=True) == 100.0
        for r in b.routers():
            load(r, """table inet gre_out {
	chain out {
		type filter hook postrouting priority mangle; policy accept;
		oifname "eth1" ip protocol gre prefrag mtu auto
	}
}
""", f"{tmp_path}/gre.nft")
        assert ping(b.ha, b.HB, 1472, count=3, df=True) == 0.0
        assert b.ra.counters()["ipv4_packets_fragmented"] >= 3
    finally:
        b.delete()


def hidden_modules():
    """Our modules unloaded and out of sight of modprobe and of the
    plugins' check (modules.dep), as on a kernel DKMS did not build for."""
    release = os.uname().release
    tree = f"/lib/modules/{release}"
    for _ in range(50):  # namespaces of earlier tests go away in the background
        r = subprocess.run(["rmmod", "xt_PREFRAG", "xt_CLEARDF", "xt_REJECT_MTU"],
                           capture_output=True, text=True)
        if not any(os.path.exists(f"/sys/module/{m}")
                   for m in ("xt_PREFRAG", "xt_CLEARDF", "xt_REJECT_MTU")):
            break
        time.sleep(0.2)
    else:
        raise AssertionError(r.stderr)
    with open(f"{tree}/modules.dep") as f:
        kept = [line for line in f if not line.startswith("updates/")]
    with open("/run/modules.dep", "w") as f:
        f.writelines(kept)
    subprocess.run(["mount", "--bind", "/run/modules.dep", f"{tree}/modules.dep"], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "none", f"{tree}/updates"], check=True)
    return tree


@pytest.mark.runs_last(1)
def test_a_missing_module_is_named_with_exit_status_4(modules):
    """Each tool of ours gives one exit status for a module it cannot
    load, 4, and names the module and what installs it: iptables and
    ip6tables (legacy and nft), nft-prefrag in text and JSON, checked or
    loaded.  Nothing is changed.  And nft-prefrag --check loads no module."""
    ns = Netns("nomod")
    tree = hidden_modules()
    try:
        for cmd, module in (
                ("iptables-legacy -t mangle -A POSTROUTING -j PREFRAG --mtu auto", "xt_PREFRAG"),
                ("iptables-nft -t mangle -A POSTROUTING -j PREFRAG --mtu auto", "xt_PREFRAG"),
                ("ip6tables-nft -t mangle -A POSTROUTING -j PREFRAG --mtu 1280", "xt_PREFRAG"),
                ("iptables-legacy -t mangle -A PREROUTING -j CLEARDF", "xt_CLEARDF"),
                ("iptables-legacy -A FORWARD -j REJECT --reject-with icmp-frag-needed "
                 "--reject-mtu 1400", "xt_REJECT_MTU"),
                ("iptables-nft -A FORWARD -j REJECT --reject-with icmp-frag-needed "
                 "--reject-mtu 1400", "xt_REJECT_MTU"),
                (f"{NFT_PREFRAG} add table ip t \\; add chain ip t c \\; "
                 "add rule ip t c prefrag mtu auto", "xt_PREFRAG"),
                (f"{NFT_PREFRAG} -c add table ip t \\; add chain ip t c \\; "
                 "add rule ip t c cleardf", "xt_CLEARDF"),
                (f"{NFT_PREFRAG} add table ip t \\; add chain ip t c \\; "
                 "add rule ip t c reject with icmp frag-needed mtu 1400", "xt_REJECT_MTU"),
                (f"echo '{{\"nftables\": [{{\"add\": {{\"rule\": {{\"family\": \"ip\", "
                 f"\"table\": \"t\", \"chain\": \"c\", \"expr\": "
                 f"[{{\"prefrag\": {{\"mtu\": \"auto\"}}}}]}}}}}}]}}' | {NFT_PREFRAG} -j -f -",
                 "xt_PREFRAG")):
            r = ns.run(cmd, check=False)
            assert r.returncode == 4, (cmd, r.returncode, r.stderr)
            assert (f"nf-prefrag's kernel module {module} is not installed for the running "
                    f"kernel {os.uname().release}") in r.stderr, (cmd, r.stderr)
        assert ns.sh("nft list ruleset") == ""
    finally:
        subprocess.run(["umount", f"{tree}/updates"], check=True)
        subprocess.run(["umount", f"{tree}/modules.dep"], check=True)
    try:
        # Installed but not loaded: --check passes and loads nothing (our
        # statements are then checked by nft-prefrag alone).
        r = ns.run(f"{NFT_PREFRAG} -c add table ip t \\; add chain ip t c \\; "
                   "add rule ip t c cleardf random-id", check=False)
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert not os.path.exists("/sys/module/xt_CLEARDF")
        assert ns.sh("nft list ruleset") == ""
    finally:
        subprocess.run(["modprobe", "-a", "xt_PREFRAG", "xt_CLEARDF", "xt_REJECT_MTU"],
                       check=True)
        ns.delete()
