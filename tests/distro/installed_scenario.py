"""Runs in the guest, booted from a Debian root where our .debs are
installed: nf-prefrag used exactly as a user would, with plain iptables,
ip6tables and nft-prefrag, no XTABLES_LIBDIR, no insmod; the modules are
autoloaded from DKMS's build.

    installed_scenario.py missing   the running kernel has no DKMS build:
                                    every front end names the module and
                                    the command that builds it
    installed_scenario.py works     a tunnel through a fragment-dropping
                                    path, then `dpkg -r`, then stock REJECT

Prints one line per check and "N passed, M failed" at the end.
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from nettest import Netns, ping  # noqa: E402
from topology import Tunnel  # noqa: E402

# nettest points iptables at the build tree for the kernel suite; a user's
# iptables finds the installed plugins by itself.
os.environ.pop("XTABLES_LIBDIR", None)
RELEASE = os.uname().release
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}: {name}" + ("" if ok else f"\n      {detail}"),
          flush=True)


def in_ns(ns, cmd, input=None):
    return ns.run(["sh", "-c", cmd], check=False, input=input)


def doctor(*args):
    """nf-prefrag doctor --json as installed: (exit status, report)."""
    r = subprocess.run(["nf-prefrag", "doctor", "--json", *args], capture_output=True, text=True)
    try:
        return r.returncode, json.loads(r.stdout)
    except ValueError:
        return r.returncode, {"unparsed": r.stdout + r.stderr}


def missing():
    status, report = doctor()
    ids = [f.get("id") for f in report.get("findings", [])]
    check(f"nf-prefrag doctor: dkms-not-built for {RELEASE}, exit 1",
          status == 1 and "dkms-not-built" in ids, report)
    n = Netns("missing")
    hint = f'dkms autoinstall -k {RELEASE}'
    for cmd, module in (
            ("iptables -t mangle -A POSTROUTING -j PREFRAG --mtu auto", "xt_PREFRAG"),
            ("ip6tables -t mangle -A POSTROUTING -j PREFRAG --mtu 1280", "xt_PREFRAG"),
            ("iptables -t mangle -A PREROUTING -j CLEARDF", "xt_CLEARDF"),
            ("iptables -A FORWARD -j REJECT --reject-with icmp-frag-needed", "xt_REJECT_MTU")):
        r = in_ns(n, cmd)
        check(f"{cmd}: refused, naming {module} and '{hint}'",
              r.returncode != 0 and module in r.stderr and hint in r.stderr,
              r.stderr)
    r = in_ns(n, "nft-prefrag -f -", input=(
        "table inet t {\n chain c {\n  type filter hook postrouting priority 0;\n"
        "  prefrag mtu auto\n }\n}\n"))
    check("nft-prefrag: refused, naming xt_PREFRAG and the fix",
          r.returncode != 0 and "xt_PREFRAG" in r.stderr and hint in r.stderr, r.stderr)
    r = in_ns(n, "nft list ruleset")
    check("nft-prefrag's refusal left nothing behind", r.stdout.strip() == "", r.stdout)
    r = in_ns(n, "iptables -A INPUT -j REJECT && iptables -A INPUT -p tcp -j REJECT "
              "--reject-with tcp-reset && iptables -S && iptables-save >/dev/null")
    check("stock REJECT rules work and list without warnings",
          r.returncode == 0 and "Warning" not in r.stderr and "tcp-reset" in r.stdout,
          r.stdout + r.stderr)
    n.delete()


def works():
    path = subprocess.run(["modinfo", "-F", "filename", "xt_PREFRAG"],
                          capture_output=True, text=True).stdout.strip()
    check("modprobe finds xt_PREFRAG in DKMS's tree", "/updates/dkms/" in path, path)

    t = Tunnel(prefix="inst")
    check("without PREFRAG, 1500-byte packets are lost",
          ping(t.ha, t.HB, 1472, count=2) == 100)
    rule = "-t mangle -A POSTROUTING -m policy --dir out --pol ipsec -j PREFRAG --mtu auto"
    for r in t.routers():
        res = in_ns(r, f"iptables {rule}")
        check(f"iptables {rule}", res.returncode == 0, res.stderr)
    check("with PREFRAG (iptables), 0 % loss", ping(t.ha, t.HB, 1472, count=3) == 0)
    check("PREFRAG was autoloaded", os.path.exists("/sys/module/xt_PREFRAG"))
    saved = in_ns(t.ra, "iptables-save -t mangle").stdout
    check("iptables-save shows the rule", "-j PREFRAG --mtu auto" in saved, saved)
    for r in t.routers():
        in_ns(r, "iptables -t mangle -F")

    for r in t.routers():
        res = in_ns(r, "nft-prefrag -f -", input=(
            "table inet vpn {\n chain postrouting {\n"
            "  type filter hook postrouting priority mangle; policy accept;\n"
            "  rt ipsec exists counter prefrag mtu auto\n }\n}\n"))
        check("nft-prefrag -f loads a prefrag rule", res.returncode == 0, res.stderr)
    check("with PREFRAG (nft-prefrag), 0 % loss", ping(t.ha, t.HB, 1472, count=3) == 0)
    listing = in_ns(t.ra, "nft list ruleset").stdout
    check("nft list ruleset shows it in nft syntax", "prefrag mtu auto" in listing, listing)

    for cmd in ("ip6tables -t mangle -A POSTROUTING -o eth1 -j PREFRAG --mtu 1280",
                "iptables -t mangle -A PREROUTING -i eth0 -j CLEARDF --min-len 1400",
                "iptables -A FORWARD -o eth1 -j REJECT --reject-with icmp-frag-needed "
                "--reject-mtu 1400"):
        res = in_ns(t.ra, cmd)
        check(cmd, res.returncode == 0, res.stderr)
    saved = in_ns(t.ra, "iptables-save").stdout
    check("iptables-save shows REJECT with the MTU",
          "--reject-with icmp-frag-needed --reject-mtu 1400" in saved, saved)
    version = subprocess.run(["modinfo", "-F", "version", "xt_PREFRAG"],
                             capture_output=True, text=True).stdout.strip()
    check("modinfo tells the version", version != "", version)
    status, report = doctor("--netns", t.ra.name)
    mods = {m["name"]: m for m in report.get("modules", [])}
    check("nf-prefrag doctor: DKMS built for this kernel, loaded modules are DKMS's",
          report.get("dkms", {}).get("built_for_kernel") and
          mods["xt_PREFRAG"]["version"] == version and
          "/updates/dkms/" in mods["xt_PREFRAG"]["installed_file"], report)
    rules = [r["rule"] for ns in report.get("namespaces", []) for r in ns["rules"]]
    check("nf-prefrag doctor lists every rule using our actions (iptables, ip6tables, nft)",
          len(rules) == 4 and
          any("prefrag mtu auto" in r for r in rules) and
          any("--reject-mtu 1400" in r for r in rules) and
          any("CLEARDF --min-len 1400" in r for r in rules) and
          any("--mtu 1280" in r for r in rules), rules)
    check("nf-prefrag doctor: no problem", status == 0, report.get("findings"))
    t.delete()

    r = subprocess.run(["dpkg", "-r", "xtables-nf-prefrag"], capture_output=True, text=True)
    check("dpkg -r xtables-nf-prefrag", r.returncode == 0, r.stdout + r.stderr)
    n = Netns("stock")
    r = in_ns(n, "iptables -A INPUT -j REJECT && iptables -A INPUT -p tcp -j REJECT "
              "--reject-with tcp-reset && iptables -S")
    check("after removal, stock REJECT works and lists without warnings",
          r.returncode == 0 and "Warning" not in r.stderr and "tcp-reset" in r.stdout,
          r.stdout + r.stderr)
    r = in_ns(n, "iptables -j REJECT --help")
    check("after removal, REJECT is iptables' own plugin again",
          "icmp-frag-needed" not in r.stdout and "tcp-reset" in r.stdout, r.stdout)
    r = subprocess.run(["dpkg", "--verify", "iptables"], capture_output=True, text=True)
    check("dpkg --verify iptables", r.returncode == 0 and not r.stdout.strip(),
          r.stdout + r.stderr)
    n.delete()


def main():
    {"missing": missing, "works": works}[sys.argv[1]]()
    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
