"""nft-prefrag on the host, in a network namespace of its own: nft's options
and their meaning, errors before the kernel with nft's file:line:column and
carets, exit statuses, JSON input checks.  This kernel has no modules of
ours: loading our statements is tried in the guest (tests/kernel/)."""
import json
import os
import re
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from txlate import translated_rules, with_its_chain  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NFT_PREFRAG = os.path.join(TOP, "build", "nft", "nft-prefrag")

# A ruleset without our statements, with what each listing option changes:
# handles, counters and quotas, set contents, ports, addresses, priorities,
# protocols, times, UIDs.  (An interval set: a hash set's elements come in
# an order of its own in each namespace, and no element times out, whose
# "expires" would differ.)
PLAIN = """define lan = 192.0.2.0/24
table inet t {
	set blocked {
		type ipv4_addr
		flags interval
		elements = { 192.0.2.7, 198.51.100.0/24 }
	}
	chain c {
		type filter hook forward priority filter; policy accept;
		ip saddr $lan tcp dport 22 counter packets 3 bytes 180 accept
		ip daddr @blocked meta l4proto udp quota over 10 mbytes drop
		meta skuid 0 ct expiration 30s log prefix "x"
		ip daddr 127.0.0.1 ip protocol tcp accept
	}
}
"""


# As root (a chroot allows no user namespace), or as a user in one of its own.
UNSHARE = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]


def in_netns(script, stdin=None):
    """@script in a fresh network namespace (its own empty ruleset)."""
    return subprocess.run([*UNSHARE, "sh", "-c", script], input=stdin,
                          capture_output=True, text=True)


def nft_options():
    """Every option `nft --help` lists on this release: (short, long)."""
    out = subprocess.run(["nft", "--help"], capture_output=True, text=True).stdout
    return re.findall(r"^\s+(-[a-zA-Z])(?:, (--[a-z-]+))?", out, re.M)


def test_help_lists_every_nft_option_and_our_statements():
    ours = subprocess.run([NFT_PREFRAG, "--help"], capture_output=True, text=True)
    assert ours.returncode == 0 and ours.stderr == ""
    for short, long in nft_options():
        assert re.search(rf"^\s+{short}\b" + (rf", {long}\b" if long else ""),
                         ours.stdout, re.M), (short, long)
    for words in ("prefrag mtu auto|N [df reject|keep|clear] [tcp fragment|segment]",
                  "cleardf [min-len N] [random-id]",
                  "reject with icmp frag-needed mtu auto|N",
                  "reject with icmpv6 too-big mtu auto|N"):
        assert words in ours.stdout


def option_cases(tmp):
    """(option, arguments) for each nft option: a command whose output or
    effect the option changes, on a ruleset without our statements."""
    plain = tmp / "plain.nft"
    plain.write_text(PLAIN)
    inc = tmp / "inc"
    inc.mkdir()
    (inc / "part.nft").write_text("table ip inc { chain c { counter; }; }\n")
    (tmp / "main.nft").write_text('include "part.nft"\n')
    (tmp / "define.nft").write_text("table ip d { chain c { ip saddr $addr counter; }; }\n")
    (tmp / "dup.nft").write_text("table ip o { chain c {\n ip saddr 192.0.2.1 accept\n"
                                 " ip saddr 192.0.2.2 accept\n }\n}\n")
    load = f"-f {plain}"
    cases = {
        "-f": [load], "-c": [f"-c -f {plain}"], "-I": [f"-I {inc} -f {tmp}/main.nft"],
        "-D": [f"-D addr=192.0.2.9 -f {tmp}/define.nft"],
        "-o": [f"-o -c -f {tmp}/dup.nft"], "-e": [f"-e {load}", f"-e -a {load}"],
        "-d": ["-d netlink list ruleset", "-d eval,mnl -c -f {plain}".format(plain=plain)],
        "-j": ["-j list ruleset", f"-j -e {load}"],
        "-i": ["-i"],
    }
    for short, _ in nft_options():
        if short not in cases and short not in ("-h", "-v", "-V"):
            cases[short] = [f"{short} list ruleset", f"{short} -j list ruleset"]
    return cases


def test_every_nft_option_does_what_it_does_with_nft(tmp_path):
    """Without our statements, nft-prefrag is nft: the same output, errors
    and exit status for every option of this release's nft."""
    cases = option_cases(tmp_path)
    assert set(s for s, _ in nft_options()) - {"-h", "-v", "-V"} <= set(cases)
    for short, runs in cases.items():
        for args in runs:
            results = []
            for tool in ("nft", NFT_PREFRAG):
                # Each in a namespace with the plain ruleset loaded first,
                # so listings have something to show.
                setup = "" if "-f" in args else f"nft -f {tmp_path}/plain.nft; "
                stdin = "list ruleset\nadd table ip t2\nlist tables\n" if short == "-i" else None
                r = in_netns(f"{setup}exec {tool} {args}", stdin)
                # echo prints "by process N (nft|nft-prefrag)"
                out = re.sub(r"by process \d+ \(\S+\)", "by process", r.stdout)
                results.append((r.returncode, out, r.stderr.replace(NFT_PREFRAG, "nft")))
            assert results[0] == results[1], (args, results)
            assert results[0][1] or results[0][2] or short in ("-c", "-f", "-I", "-D", "-o"), args


@pytest.mark.parametrize("args,message", [
    (["--bogus"], "usage: nft-prefrag"), ([], "usage: nft-prefrag"),
    (["-f", "x", "list", "ruleset"], "usage: nft-prefrag"),
    (["-d", "bogus", "list", "ruleset"], 'invalid debug level "bogus"'),
    (["-D", "novalue", "list", "ruleset"], "invalid define: novalue"),
])
def test_usage_errors_exit_2(args, message):
    r = subprocess.run([NFT_PREFRAG, *args], capture_output=True, text=True)
    assert r.returncode == 2 and message in r.stderr, r.stderr


IP6_TABLE = "table ip6 t {{\n\tchain c {{\n\t\ttype filter hook forward priority 0;\n\t\t{}\n\t}}\n}}\n"
IP_TABLE = "table ip t {{\n\tchain c {{\n\t\ttype filter hook {hook} priority 0;\n\t\t{rule}\n\t}}\n}}\n"


@pytest.mark.parametrize("text,message,where", [
    (IP_TABLE.format(hook="forward", rule="prefrag mtu 12"),
     'prefrag: mtu takes "auto" or a number from 68 to 65535', "4:15-16"),
    (IP_TABLE.format(hook="forward", rule="prefrag mtu auto df sometimes"),
     'prefrag: df takes reject, keep or clear, not "sometimes"', "4:23-31"),
    (IP_TABLE.format(hook="forward", rule="prefrag"),
     'prefrag: expected "mtu auto" or "mtu N"', "4:10-10"),
    (IP_TABLE.format(hook="forward", rule="prefrag mtu auto tcp segmnt"),
     'prefrag: tcp takes fragment or segment, not "segmnt"', "4:24-29"),
    (IP_TABLE.format(hook="forward", rule="prefrag mtu auto df keep df clear"),
     "prefrag: df given twice", "4:28-29"),
    (IP_TABLE.format(hook="forward", rule="prefrag mtu auto tcp segment tcp fragment"),
     "prefrag: tcp given twice", "4:32-34"),
    (IP_TABLE.format(hook="forward", rule="cleardf min-len x"),
     "cleardf: min-len takes a number from 1 to 65535", "4:19-19"),
    (IP_TABLE.format(hook="forward", rule="cleardf random-id random-id"),
     "cleardf: random-id given twice", "4:21-29"),
    (IP_TABLE.format(hook="forward", rule="cleardf min-len 1 min-len 2"),
     "cleardf: min-len given twice", "4:21-27"),
    (IP_TABLE.format(hook="forward", rule="reject with icmp frag-needed mtu 67"),
     'reject: mtu takes "auto" or a number from 68', "4:36-37"),
    (IP_TABLE.format(hook="forward", rule="reject with icmp host-unreachable mtu 1400"),
     'reject: an mtu goes with "icmp frag-needed" or "icmpv6 too-big", not "host-unreachable"',
     "4:20-35"),
    (IP_TABLE.format(hook="forward", rule="reject with icmpv6 too-big mtu 1400"),
     'reject: icmpv6 too-big is for IPv6: in an ip table, use "icmp frag-needed"', "4:3-37"),
    (IP_TABLE.format(hook="input", rule="reject with icmp frag-needed mtu auto"),
     "reject: mtu auto needs a route", "4:3-39"),
    (IP6_TABLE.format("prefrag mtu 1000"),
     'prefrag: mtu in an ip6 table takes "auto" or a number from 1280 to 65535', "4:3-18"),
    (IP6_TABLE.format("prefrag mtu auto df clear"),
     "prefrag: df is for IPv4 (IPv6 has no DF): not in ip6 tables", "4:3-27"),
    (IP6_TABLE.format("cleardf"), "cleardf: IPv4 only: not in ip6 tables", "4:3-9"),
    (IP6_TABLE.format("reject with icmp frag-needed mtu 1400"),
     'reject: icmp frag-needed is for IPv4: in an ip6 table, use "icmpv6 too-big"', "4:3-39"),
    (IP6_TABLE.format("reject with icmpv6 too-big mtu 1279"),
     'reject: mtu takes "auto" or a number from 1280', "4:34-37"),
    ("table arp a {\n\tchain c {\n\t\ttype filter hook output priority 0;\n"
     "\t\tprefrag mtu 1400\n\t}\n}\n", "only in ip, ip6 and inet tables", "4:3-18"),
    # The family of "add rule" and of a table named like a statement.
    ("add table ip6 t\nadd chain ip6 t c\nadd rule ip6 t c prefrag mtu auto df keep\n",
     "prefrag: df is for IPv4", "3:18-41"),
])
def test_bad_statements_are_refused_before_the_kernel(text, message, where, tmp_path):
    """What the kernel (or ip6tables) would refuse, refused with nft's
    file:line:column and carets, exit status 2, nothing sent."""
    f = tmp_path / "bad.nft"
    f.write_text(text)
    r = in_netns(f"{NFT_PREFRAG} -f {f}; echo rc=$?; nft list ruleset")
    assert f"{f}:{where}: Error: {message}" in r.stderr, r.stderr
    assert "^" in r.stderr.splitlines()[-1]
    assert r.stdout == "rc=2\n", r.stdout  # and the kernel's ruleset is empty


def test_the_same_words_are_fine_where_the_kernel_takes_them(tmp_path):
    """The family checks follow the table each rule is in."""
    f = tmp_path / "good.nft"
    f.write_text("table ip6 a {\n\tchain c {\n\t\ttype filter hook forward priority 0;\n\t}\n}\n"
                 "table ip b {\n\tchain c {\n\t\ttype filter hook forward priority 0;\n"
                 "\t\tprefrag mtu 576 df clear tcp segment tcp dport 22 accept\n"
                 "\t\treject with icmp frag-needed mtu auto\n\t}\n}\n"
                 "table inet c {\n\tchain c {\n\t\ttype filter hook input priority 0;\n"
                 "\t\tcleardf random-id min-len 9 prefrag mtu 1000 df keep\n"
                 "\t\treject with icmpv6 too-big mtu 1400\n\t}\n}\n"
                 "add rule ip6 a c prefrag mtu auto tcp segment\n")
    r = in_netns(f"{NFT_PREFRAG} -c -f {f}")
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_nft_errors_point_at_the_input_columns(tmp_path):
    """nft parses the text with our statements replaced: its error columns
    must still point into the line the user wrote."""
    f = tmp_path / "bad.nft"
    f.write_text("table inet x {\n\tchain c {\n\t\ttype filter hook forward priority 0;\n"
                 "\t\tcleardf prefrag mtu 1400 countr\n\t}\n}\n")
    r = in_netns(f"{NFT_PREFRAG} -f {f}")
    assert r.returncode == 1
    assert f"{f}:4:34-34: Error: syntax error, unexpected newline" in r.stderr, r.stderr
    assert "\t\tcleardf prefrag mtu 1400 countr\n" in r.stderr


def test_no_temporary_files(tmp_path):
    """Rewritten inputs, included files among them, live in memory: a
    read-only or missing TMPDIR and /tmp are no matter."""
    (tmp_path / "part.nft").write_text("table ip t {\n\tchain c {\n\t\tprefrag mtu 1400 countr\n\t}\n}\n")
    (tmp_path / "main.nft").write_text(f'include "{tmp_path}/part.*"\n')
    r = in_netns(f"TMPDIR=/nonexistent {NFT_PREFRAG} -f {tmp_path}/main.nft")
    assert r.returncode == 1
    # nft's error, in the included file the user wrote, at its column
    assert f"In file included from {tmp_path}/main.nft:1:" in r.stderr, r.stderr
    assert (f"{tmp_path}/part.nft:3:26-26: Error: syntax error, unexpected newline\n"
            "\t\tprefrag mtu 1400 countr\n\t\t                       ^\n") in r.stderr, r.stderr


@pytest.mark.parametrize("rule", [pytest.param(rule, id=cmd.split("-j ", 1)[-1])
                                  for cmd, rule in translated_rules()])
def test_what_the_plugins_print_nft_prefrag_parses(rule, tmp_path):
    """The syntax iptables-translate prints for our targets is the syntax
    nft-prefrag reads (one table of words, libxt/nft_syntax.h): each rule
    passes --check, which loads no module (this kernel has none)."""
    f = tmp_path / "r.nft"
    f.write_text(with_its_chain(rule))
    r = in_netns(f"{NFT_PREFRAG} -c -f {f}")
    assert r.returncode == 0 and r.stderr == "", r.stderr


def ruleset_json(*exprs, family="ip"):
    return json.dumps({"nftables": [
        {"add": {"table": {"family": family, "name": "t"}}},
        {"add": {"chain": {"family": family, "table": "t", "name": "c"}}},
        *({"add": {"rule": {"family": family, "table": "t", "chain": "c",
                            "expr": [e]}}} for e in exprs)]})


@pytest.mark.parametrize("family,expr,message", [
    ("ip", {"prefrag": {"mtu": 40}}, 'prefrag: mtu takes "auto" or a number from 68 to 65535'),
    ("ip", {"prefrag": {"mtu": "auto", "df": "maybe"}}, "prefrag: df takes reject, keep or clear"),
    ("ip", {"prefrag": {"mtu": "auto", "tcp": "segmnt"}}, "prefrag: tcp takes fragment or segment"),
    ("ip", {"prefrag": {"mtu": "auto", "dff": "keep"}}, 'prefrag: unknown property "dff"'),
    ("ip", {"prefrag": {}}, "prefrag: mtu takes"),
    ("ip", {"cleardf": {"min-len": 0}}, "cleardf: min-len takes a number from 1 to 65535"),
    ("ip", {"cleardf": {"random-id": 1}}, "cleardf: random-id takes true or false"),
    ("ip", {"reject": {"type": "icmpv6", "expr": "too-big", "mtu": 1400}},
     "reject: icmpv6 too-big is for IPv6"),
    ("ip", {"reject": {"type": "icmp", "expr": "host-unreachable", "mtu": 1400}},
     "reject: an mtu goes with"),
    ("ip6", {"prefrag": {"mtu": 1279}}, "prefrag: mtu in an ip6 table"),
    ("ip6", {"cleardf": None}, "cleardf: IPv4 only"),
    ("ip6", {"prefrag": {"mtu": "auto", "df": "keep"}}, "prefrag: df is for IPv4"),
])
def test_bad_json_statements_are_refused_before_the_kernel(family, expr, message, tmp_path):
    f = tmp_path / "bad.json"
    f.write_text(ruleset_json({"counter": None}, expr, family=family))
    r = in_netns(f"{NFT_PREFRAG} -j -f {f}; echo rc=$?; nft list ruleset")
    assert f"{f}: Error: {message}" in r.stderr and "(rule 2 of the input)" in r.stderr, r.stderr
    assert r.stdout == "rc=2\n"


def test_good_json_statements_pass_check(tmp_path):
    f = tmp_path / "good.json"
    f.write_text(ruleset_json({"prefrag": {"mtu": "auto", "df": "clear", "tcp": "segment"}},
                              {"cleardf": {"min-len": 1400, "random-id": True}},
                              {"cleardf": None},
                              {"reject": {"type": "icmp", "expr": "frag-needed", "mtu": 1400}},
                              {"reject": {"type": "icmp", "expr": "frag-needed"}}))
    r = in_netns(f"{NFT_PREFRAG} -j -c -f {f}")
    assert r.returncode == 0 and r.stderr == "", r.stderr
