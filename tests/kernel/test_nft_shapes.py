"""nft-prefrag takes what nft takes: our statements next to anonymous and
named sets, maps, verdict maps, concatenations, defines, in command files,
from standard input, with --check and --echo; a load is one transaction.

Rules that can carry traffic are tried on the tunnel (a fragment-dropping
path between the gateways): 0 % loss with them, where 1472-byte pings see
100 % without.
"""
import os
import re
import subprocess
import threading
import time

import pytest

from nettest import NFT_PREFRAG, ping

MAGIC = str(0x4E465F5052454652)    # the placeholder's packet count


def run(ns, args, text=None, path=None, check=True):
    if path:
        with open(path, "w") as f:
            f.write(text)
        args = [*args, "-f", path]
    elif text is not None:
        args = [*args, "-f", "-"]
    r = ns.run([NFT_PREFRAG, *args], check=False, input=None if path else text)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def listing(ns):
    return ns.sh("nft list ruleset")


def rules(ns):
    return re.sub(r"counter packets \d+ bytes \d+", "counter", listing(ns))


def carries_traffic(tun, chain_body, family="inet", extra=""):
    """Load the same postrouting chain on both gateways and ping across."""
    text = (f"table {family} vpn {{\n{extra}"
            "\tchain out {\n\t\ttype filter hook postrouting priority mangle; policy accept;\n"
            f"{chain_body}\n\t}}\n}}\n")
    assert ping(tun.ha, tun.HB, 1472, count=1) == 100.0
    for r in tun.routers():
        run(r, [], text, f"{tun.tmp}/vpn.nft")
    assert ping(tun.ha, tun.HB, 1472, count=3) == 0.0
    assert tun.ra.counters()["ipv4_packets_fragmented"] >= 3
    assert MAGIC not in listing(tun.ra)
    return listing(tun.ra)


SHAPES = {
    "anonymous set of prefixes":
        ("\t\tip daddr { 10.0.4.0/24, 10.0.1.0/24 } prefrag mtu auto", "", "prefrag mtu auto"),
    "anonymous set of protocols":
        ("\t\tmeta l4proto { tcp, udp, icmp } prefrag mtu auto df clear", "", "df clear"),
    "anonymous set of interfaces":
        ('\t\toifname { "eth1", "eth9" } prefrag mtu auto', "", 'oifname { "eth1", "eth9" }'),
    "ipsec match with a set":
        ("\t\tipsec out ip daddr { 10.0.3.1, 10.0.2.1 } prefrag mtu auto", "", "ipsec out"),
    "concatenation":
        ("\t\tip saddr . ip daddr { 10.0.1.2 . 10.0.4.2, 10.0.4.2 . 10.0.1.2 } prefrag mtu auto",
         "", "ip saddr . ip daddr"),
    "named set":
        ("\t\tip daddr @peers prefrag mtu auto",
         "\tset peers {\n\t\ttype ipv4_addr; flags interval;\n"
         "\t\telements = { 10.0.1.0/24, 10.0.4.0/24 }\n\t}\n", "@peers"),
    "map before ours":
        ("\t\tmeta mark set ip daddr map { 10.0.4.2 : 0x1, 10.0.1.2 : 0x2 } prefrag mtu auto",
         "", "meta mark set ip daddr map"),
    "verdict map into a chain with ours":
        ("\t\tip daddr vmap { 10.0.4.0/24 : jump tun, 10.0.1.0/24 : jump tun }",
         "\tchain tun {\n\t\tcounter prefrag mtu auto\n\t}\n", "jump tun"),
    "counter, log and comment around ours":
        ('\t\tcounter log prefix "vpn " level debug prefrag mtu auto comment "to the peer"',
         "", 'comment "to the peer"'),
    "two of ours in one chain":
        ("\t\tip daddr 10.9.9.9 cleardf min-len 1400\n\t\tprefrag mtu auto", "",
         "cleardf min-len 1400"),
}


def json_round_trip(ns):
    """-j list, flush, -j -f: the same rules, listed as text."""
    before = rules(ns)
    doc = run(ns, ["-j", "list", "ruleset"]).stdout
    assert '"xt"' not in doc and '"prefrag"' in doc and MAGIC not in doc, doc
    ns.sh("nft flush ruleset")
    run(ns, ["-j"], doc)
    assert rules(ns) == before


@pytest.mark.parametrize("shape", SHAPES)
def test_shape_loads_lists_and_carries_traffic(tun, shape):
    body, extra, shown = SHAPES[shape]
    text = carries_traffic(tun, body, extra=extra)
    assert shown in text and "prefrag mtu auto" in text, text
    json_round_trip(tun.ra)


@pytest.mark.parametrize("family", ["ip", "inet"])
def test_define_and_anonymous_set_in_ip_and_inet_tables(tun, family):
    text = (f"define PEERS = {{ 10.0.1.0/24, 10.0.4.0/24 }}\n"
            f"table {family} vpn {{\n\tchain out {{\n"
            "\t\ttype filter hook postrouting priority mangle; policy accept;\n"
            "\t\tip daddr $PEERS prefrag mtu auto\n\t}\n}\n")
    for r in tun.routers():
        run(r, [], text, f"{tun.tmp}/def.nft")
    assert ping(tun.ha, tun.HB, 1472, count=3) == 0.0


def test_ip6_table_with_anonymous_set(tun):
    run(tun.ra, [], "table ip6 v6 {\n\tchain out {\n"
        "\t\ttype filter hook output priority filter; policy accept;\n"
        "\t\tmeta l4proto { udp, icmpv6 } prefrag mtu 1280\n"
        "\t\toifname { \"eth9\" } reject with icmpv6 too-big mtu auto\n\t}\n}\n",
        f"{tun.tmp}/v6.nft")
    text = listing(tun.ra)
    assert "prefrag mtu 1280" in text and "reject with icmpv6 too-big mtu auto" in text


def test_our_statements_in_included_files(tun):
    """include, absolute and relative (-I), with our statements inside:
    rewritten too, and their errors name the included file."""
    os.makedirs(f"{tun.tmp}/rules.d")
    with open(f"{tun.tmp}/rules.d/out.nft", "w") as f:
        f.write("chain out {\n\ttype filter hook postrouting priority mangle; policy accept;\n"
                "\tip daddr { 10.0.4.0/24, 10.0.1.0/24 } prefrag mtu auto\n}\n")
    for r in tun.routers():
        run(r, [], f'table inet vpn {{\n\tinclude "{tun.tmp}/rules.d/*.nft"\n}}\n',
            f"{tun.tmp}/main.nft")
    assert ping(tun.ha, tun.HB, 1472, count=3) == 0.0
    assert "prefrag mtu auto" in listing(tun.ra)
    tun.ra.sh("nft flush ruleset")
    run(tun.ra, ["-I", f"{tun.tmp}/rules.d"], 'table inet vpn {\n\tinclude "out.nft"\n}\n',
        f"{tun.tmp}/rel.nft")
    assert "prefrag mtu auto" in listing(tun.ra)
    tun.ra.sh("nft flush ruleset")
    with open(f"{tun.tmp}/rules.d/out.nft", "a") as f:
        f.write("chain bad {\n\tprefrag mtu 7\n}\n")
    r = run(tun.ra, [], f'table inet vpn {{\n\tinclude "{tun.tmp}/rules.d/out.nft"\n}}\n',
            f"{tun.tmp}/main.nft", check=False)
    assert r.returncode != 0
    assert f"{tun.tmp}/rules.d/out.nft:6:14-14: Error: prefrag: mtu takes" in r.stderr, r.stderr
    assert listing(tun.ra).strip() == ""


def handle_of(ns, chain, needle):
    for line in ns.sh(f"nft -a list chain {chain}").splitlines():
        if needle in line:
            return int(line.rsplit("# handle ", 1)[1])
    raise AssertionError(f"{needle} not in {chain}")


def test_command_file_add_insert_replace_delete(tun):
    run(tun.ra, [], "flush ruleset\n"
        "add table inet t\n"
        "add chain inet t c { type filter hook postrouting priority 0; policy accept; }\n"
        "add rule inet t c oifname \"eth1\" prefrag mtu auto\n"
        "insert rule inet t c ip daddr { 10.9.0.1, 10.9.0.2 } cleardf\n"
        "add rule inet t c counter\n", f"{tun.tmp}/cmds.nft")
    text = listing(tun.ra)
    assert text.index("cleardf") < text.index("prefrag mtu auto")
    h = handle_of(tun.ra, "inet t c", "prefrag mtu auto")
    run(tun.ra, [], f"replace rule inet t c handle {h} oifname \"eth1\" prefrag mtu 1400 df keep\n",
        f"{tun.tmp}/replace.nft")
    assert "prefrag mtu 1400 df keep" in listing(tun.ra)
    assert "prefrag mtu auto" not in listing(tun.ra)
    h = handle_of(tun.ra, "inet t c", "cleardf")
    run(tun.ra, ["delete", "rule", "inet", "t", "c", "handle", str(h)])
    assert "cleardf" not in listing(tun.ra)
    # flush ruleset at the top of a file: the new ruleset replaces the old.
    run(tun.ra, [], "flush ruleset\ntable ip n {\n\tchain c {\n"
        "\t\ttype filter hook forward priority 0;\n\t\tprefrag mtu auto\n\t}\n}\n",
        f"{tun.tmp}/flush.nft")
    assert "table inet t" not in listing(tun.ra) and "table ip n" in listing(tun.ra)


def test_command_line_words_and_standard_input(tun):
    tun.ra.sh("nft add table inet t && nft 'add chain inet t c { type filter hook "
             "postrouting priority 0; }'")
    run(tun.ra, ["add", "rule", "inet", "t", "c", "ip", "daddr", "{", "10.0.4.2", "}",
                "prefrag", "mtu", "auto"])
    run(tun.ra, [], "add rule inet t c meta l4proto { udp } cleardf random-id\n")
    text = listing(tun.ra)
    assert "ip daddr 10.0.4.2 prefrag mtu auto" in text and "cleardf random-id" in text


def test_check_changes_nothing_and_validates_in_the_kernel(tun):
    good = ("table inet t {\n\tchain c {\n\t\ttype filter hook postrouting priority 0;\n"
            "\t\tip daddr { 10.0.4.2 } prefrag mtu auto\n\t}\n}\n")
    r = run(tun.ra, ["-c"], good, f"{tun.tmp}/good.nft")
    assert r.stdout == "" and listing(tun.ra).strip() == ""
    # The kernel refuses "mtu auto" in input: --check hears it too.
    bad = ("table inet t {\n\tchain c {\n\t\ttype filter hook input priority 0;\n"
           "\t\treject with icmp frag-needed mtu auto\n\t}\n}\n")
    r = run(tun.ra, ["-c"], bad, f"{tun.tmp}/bad.nft", check=False)
    assert r.returncode != 0 and f"{tun.tmp}/bad.nft:4:3-" in r.stderr, r.stderr
    assert listing(tun.ra).strip() == ""


def test_echo_prints_what_was_added_in_our_syntax(tun):
    r = run(tun.ra, ["-e", "-a"], "table inet t {\n\tchain c {\n"
            "\t\ttype filter hook postrouting priority 0;\n"
            "\t\tmeta l4proto { tcp, udp } prefrag mtu 1400\n\t}\n}\n", f"{tun.tmp}/e.nft")
    assert "prefrag mtu 1400" in r.stdout and "# handle" in r.stdout, r.stdout
    assert MAGIC not in r.stdout


def test_a_refusal_in_the_middle_changes_nothing(tun):
    run(tun.ra, [], "table inet keep {\n\tchain c {\n\t\ttype filter hook forward priority 0;\n"
        "\t\tprefrag mtu auto\n\t}\n\tset s {\n\t\ttype ipv4_addr;\n\t}\n}\n", f"{tun.tmp}/keep.nft")
    before = rules(tun.ra)
    r = run(tun.ra, [], "add element inet keep s { 10.1.1.1 }\n"
            "table inet newt {\n\tchain c {\n\t\ttype filter hook forward priority 0;\n"
            "\t\tip daddr { 10.0.4.2, 10.0.4.3 } prefrag mtu auto\n\t}\n}\n"
            "add chain inet keep inbound { type filter hook input priority 0; }\n"
            "add rule inet keep inbound reject with icmp frag-needed mtu auto\n"
            "add rule inet keep c cleardf\n", f"{tun.tmp}/refused.nft", check=False)
    assert r.returncode != 0
    assert f"{tun.tmp}/refused.nft:9:" in r.stderr, r.stderr
    assert rules(tun.ra) == before


def test_listing_flush_and_load_back(tun):
    text = carries_traffic(tun, SHAPES["named set"][0], extra=SHAPES["named set"][1])
    saved = f"{tun.tmp}/saved.nft"
    with open(saved, "w") as f:
        f.write(text)
    tun.ra.sh("nft flush ruleset")
    run(tun.ra, ["-f", saved])
    assert listing(tun.ra) == text


def test_concurrent_writer_never_sees_a_placeholder(tun):
    """Loads race with another process adding rules: every load is applied
    whole, no placeholder ever reaches the kernel, and the other writer's
    rules all land."""
    tun.ra.sh("nft add table inet other && nft 'add chain inet other c'")
    events = tun.ra.popen(["nft", "monitor", "rules"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    time.sleep(0.5)
    stop = threading.Event()

    writes = []

    def writer():
        while not stop.is_set() and len(writes) < 200:
            r = tun.ra.run(["nft", "add", "rule", "inet", "other", "c", "counter"],
                           check=False)
            writes.append((r.returncode, r.stderr))

    t = threading.Thread(target=writer)
    t.start()
    try:
        for i in range(10):
            run(tun.ra, [], f"table inet t{i} {{\n\tchain c {{\n"
                "\t\ttype filter hook postrouting priority 0;\n"
                "\t\tip daddr { 10.0.4.0/24, 10.0.1.0/24 } prefrag mtu auto\n"
                "\t\tmeta l4proto { udp } cleardf\n\t}\n}\n", f"{tun.tmp}/t{i}.nft")
    finally:
        stop.set()
        t.join()
        time.sleep(0.5)
        events.terminate()
    out = events.communicate()[0]
    assert MAGIC not in out
    assert out.count("prefrag mtu auto") == 10, out
    for i in range(10):
        assert listing(tun.ra).count(f"table inet t{i} ") == 1
    # The other writer's rules all landed, and between our loads.
    assert writes and all(rc == 0 for rc, _ in writes), writes
    other = tun.ra.sh("nft list chain inet other c")
    assert other.count("counter packets") == len(writes), other
    lines = out.splitlines()
    ours = [n for n, line in enumerate(lines) if "prefrag mtu auto" in line]
    theirs = [n for n, line in enumerate(lines) if "inet other c counter" in line]
    assert any(ours[0] < n < ours[-1] for n in theirs), out


TRANSPARENT = {
    "interval sets and maps": """table inet f {
	set blocked {
		type ipv4_addr
		flags interval
		elements = { 10.1.0.0/16, 192.0.2.0/24 }
	}
	map ports {
		type inet_service : ipv4_addr
		elements = { 80 : 10.0.0.1, 443 : 10.0.0.2 }
	}
	chain input {
		type filter hook input priority filter; policy accept;
		ip saddr @blocked counter packets 0 bytes 0 drop
		tcp dport vmap { 22 : accept, 23 : drop }
	}
}
""",
    "quotas, limits, meters and ct helpers": """table ip q {
	ct helper ftp-standard {
		type "ftp" protocol tcp
		l3proto ip
	}
	quota q1 {
		over 100 mbytes
	}
	set m {
		type ipv4_addr
		size 65535
		flags dynamic
	}
	chain prerouting {
		type filter hook prerouting priority raw; policy accept;
		tcp dport 21 ct helper set "ftp-standard"
		limit rate 10/second burst 5 packets accept
		quota name "q1" drop
		update @m { ip saddr limit rate 20/minute burst 5 packets } accept
	}
}
""",
    "chains of every type and priority": """table ip nat {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		tcp dport 8080 dnat to 10.0.4.2:80
	}
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth1" masquerade
	}
}
table ip6 r {
	chain out {
		type route hook output priority mangle; policy accept;
		meta mark 0x1 counter packets 0 bytes 0
	}
	chain early {
		type filter hook prerouting priority -300; policy accept;
	}
}
table netdev nd {
	chain ingress {
		type filter hook ingress device "eth0" priority -500; policy accept;
	}
}
table bridge b {
	chain bridged {
		type filter hook forward priority filter; policy drop;
		ether type arp accept
	}
}
""",
    "flowtables": """table inet ft {
	flowtable f {
		hook ingress priority filter
		devices = { eth0, eth1 }
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		ip protocol tcp flow add @f
	}
}
""",
}


@pytest.mark.parametrize("corpus", TRANSPARENT)
def test_without_our_statements_it_is_nft(tun, corpus):
    text = TRANSPARENT[corpus]
    path = f"{tun.tmp}/plain.nft"
    run(tun.ra, [], text, path)
    ours = listing(tun.ra)
    tun.ra.sh("nft flush ruleset")
    tun.ra.sh(f"nft -f {path}")
    assert ours == listing(tun.ra)
