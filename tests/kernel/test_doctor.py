"""nf-prefrag doctor, as an admin runs it on a gateway: each mistake it
claims to detect is made for real (rules loaded into the kernel, traffic
through real SAs), and found in both its human and its --json output; a
healthy gateway shows its counters and rules and no problem."""
import json
import os
import subprocess

import pytest

from nettest import NFT_PREFRAG, TOP, scaled, udp_exchange
from topology import RouteBased, Tunnel

DOCTOR = os.path.join(TOP, "build", "doctor", "nf-prefrag")
FORWARD_CLEAR = "-A FORWARD -j PREFRAG --mtu auto --df clear"
PREROUTING_CLEAR = "-A PREROUTING -i eth0 -j PREFRAG --mtu auto --df clear"
POSTROUTING_IPSEC = "-A POSTROUTING -m policy --dir out --pol ipsec -j PREFRAG --mtu auto"


def doctor(ns, *args):
    """Run from this (the guest's) namespace, as on a gateway whose
    namespaces ip netns lists; nft-prefrag is found through PATH."""
    env = dict(os.environ, PATH=os.path.dirname(NFT_PREFRAG) + ":" + os.environ["PATH"])
    return subprocess.run([DOCTOR, "doctor", "--netns", ns.name, *args], env=env,
                          capture_output=True, text=True, timeout=scaled(60))


def findings(ns):
    """{id: [finding, ...]} from --json, and the text output: the two must
    tell the same (every id, rule and message appears in the text)."""
    text, js = doctor(ns), doctor(ns, "--json")
    assert text.returncode == js.returncode, (text.stderr, js.stderr)
    report = json.loads(js.stdout)
    found = {}
    for f in report["findings"]:
        found.setdefault(f["id"], []).append(f)
        assert f"[{f['id']}]" in text.stdout and f["message"] in text.stdout, text.stdout
        assert f["rule"] in text.stdout
    problems = [f for f in report["findings"] if f["severity"] == "problem"]
    assert text.returncode == (1 if problems else 0), text.stdout
    return found, report, text.stdout


@pytest.fixture(scope="module")
def gw(modules):
    t = Tunnel(prefix="dr")
    yield t
    t.delete()


@pytest.fixture
def tun(gw):
    yield gw
    gw.flush_rules()


def test_healthy_gateway_shows_modules_counters_rules_and_a_note_for_the_peer(tun):
    t = tun
    t.ra.sh(f"iptables-nft -t mangle {POSTROUTING_IPSEC}")
    assert udp_exchange(t.ha, t.hb, t.HB, [3000])[3000][0]
    found, report, text = findings(t.ra)
    assert set(found) == {"check-the-peer"}, found
    assert "No problems found." in text
    # Modules: the loaded ones, with their versions.
    version = subprocess.run(["modinfo", "-F", "version", "xt_PREFRAG"], capture_output=True,
                             text=True).stdout.strip()
    mods = {m["name"]: m for m in report["modules"]}
    assert mods["xt_PREFRAG"]["loaded"] and mods["xt_PREFRAG"]["version"] == version
    assert f"xt_PREFRAG     loaded, version {version}" in text
    # Counters: the kernel's, explained.
    ns = report["namespaces"][0]
    assert ns["name"] == t.ra.name
    fragmented = t.ra.counters()["ipv4_packets_fragmented"]
    assert fragmented > 0
    assert ns["counters"]["ipv4_packets_fragmented"] == {
        "value": fragmented, "meaning": "packets cut into fragments before IPsec"}
    assert "ipv4_packets_fragmented" in text and "packets cut into fragments before IPsec" in text
    # The rule, where iptables-nft lists it (and not a second time from nft).
    assert ns["rules"] == [{"source": "iptables-nft", "table": "mangle", "chain": "POSTROUTING",
                            "hook": "postrouting", "rule": POSTROUTING_IPSEC}]
    assert ns["ipsec"]["outbound_policies"] == 1 and ns["ipsec"]["tunnel_mode_sas"] == 2
    assert "run nf-prefrag doctor there too" in found["check-the-peer"][0]["message"]


def test_ipsec_policies_without_a_rule_get_a_note(tun):
    found, _, text = findings(tun.rb)
    assert set(found) == {"no-prefrag-rule"}, found
    assert "iptables -t mangle -A POSTROUTING -m policy --dir out --pol ipsec " \
           "-j PREFRAG --mtu auto" in found["no-prefrag-rule"][0]["message"]
    assert "Rules using nf-prefrag's actions: none" in text


def test_df_cleared_in_forward_is_flagged_and_prerouting_is_not(tun):
    t = tun
    t.ra.sh(f"iptables-legacy -t mangle {FORWARD_CLEAR}")
    t.ra.sh(f"iptables-legacy -t mangle {PREROUTING_CLEAR}")
    t.ra.sh("iptables-nft -t mangle -A FORWARD -j CLEARDF")
    t.ra.sh(f"{NFT_PREFRAG} -f -", input=(
        "table inet gw {\n chain forwarded {\n  type filter hook forward priority 0;\n"
        "  oifname eth1 prefrag mtu 1400 df clear\n }\n}\n"))
    found, report, text = findings(t.ra)
    flagged = {(f["rule"]) for f in found["forward-df-clear"]}
    assert flagged == {FORWARD_CLEAR, "-A FORWARD -j CLEARDF",
                       'oifname "eth1" prefrag mtu 1400 df clear'}, flagged
    assert "Put the rule in PREROUTING" in text
    rules = {r["rule"]: r for r in report["namespaces"][0]["rules"]}
    assert rules[PREROUTING_CLEAR]["source"] == "iptables-legacy"
    assert rules['oifname "eth1" prefrag mtu 1400 df clear']["table"] == "inet gw"


def test_ipsec_matches_for_decrypted_packets_are_flagged(tun):
    t = tun
    t.ra.sh("iptables-legacy -t mangle -A FORWARD -m policy --dir in --pol ipsec "
            "-j PREFRAG --mtu auto")
    t.ra.sh(f"{NFT_PREFRAG} -f -", input=(
        "table inet gw {\n chain forwarded {\n  type filter hook forward priority 0;\n"
        "  meta ipsec exists prefrag mtu auto\n }\n}\n"))
    found, _, _ = findings(t.ra)
    assert [f["rule"] for f in found["meta-ipsec-exists"]] == ["meta ipsec exists prefrag mtu auto"]
    assert "rt ipsec exists" in found["meta-ipsec-exists"][0]["message"]
    assert [f["rule"] for f in found["policy-dir-in"]] == [
        "-A FORWARD -m policy --dir in --pol ipsec -j PREFRAG --mtu auto"]


def test_rules_listed_as_unsupported_revision_are_flagged(tun):
    """REJECT added while only the stock module was loaded (revision 0),
    then xt_REJECT_MTU loaded: iptables-legacy-save cannot list it
    (README, REJECT with the MTU)."""
    t = tun
    subprocess.run(["rmmod", "xt_REJECT_MTU"], capture_output=True)
    subprocess.run(["modprobe", "ipt_REJECT"], check=True)
    subprocess.run(["rmmod", "xt_REJECT_MTU"], capture_output=True)  # the modprobe.d file
    try:
        t.ra.sh("iptables-legacy -A FORWARD -p udp --dport 9 -j REJECT")
        subprocess.run(["modprobe", "xt_REJECT_MTU"], check=True)
        found, _, text = findings(t.ra)
        [f] = found["reject-unsupported-revision"]
        assert "[unsupported revision]" in f["rule"] and "--dport 9" in f["rule"]
        assert "iptables-legacy lists this REJECT rule without its options" in text
    finally:
        t.ra.sh("iptables-legacy -F")
        subprocess.run(["modprobe", "xt_REJECT_MTU"], check=True)


@pytest.fixture(scope="module")
def transport(modules):
    t = Tunnel(prefix="dt", mode="transport", drop_fragments=False)
    yield t
    t.delete()


def test_prefrag_on_transport_mode_traffic_is_flagged(transport):
    t = transport
    t.ra.sh("iptables-legacy -t raw -A OUTPUT -j PREFRAG --mtu auto")
    try:
        assert udp_exchange(t.ra, t.rb, t.RB_OUT, [3000], src_addr=t.RA_OUT)[3000][0]
        found, report, _ = findings(t.ra)
        [f] = found["transport-mode"]
        assert f["severity"] == "problem"
        assert "transport_mode_skipped: 1; transport-mode SAs here: 2" in f["message"]
        assert report["namespaces"][0]["counters"]["ipv4_transport_mode_skipped"]["value"] == 1
    finally:
        t.ra.sh("iptables-legacy -t raw -F")


def test_every_namespace_by_default_and_usage_errors(tun):
    tun.ra.sh(f"iptables-nft -t mangle {POSTROUTING_IPSEC}")
    env = dict(os.environ, PATH=os.path.dirname(NFT_PREFRAG) + ":" + os.environ["PATH"])
    r = subprocess.run([DOCTOR, "doctor", "--json"], env=env, capture_output=True, text=True,
                       timeout=scaled(120))
    names = [ns["name"] for ns in json.loads(r.stdout)["namespaces"]]
    assert names[0] == "" and tun.ra.name in names and tun.rb.name in names
    r = doctor(tun.ra, "--netns", "no-such-ns")
    assert r.returncode == 2 and 'no network namespace "no-such-ns"' in r.stderr


@pytest.mark.parametrize("kind", ["xfrm", "vti"])
def test_a_tunnel_interface_above_its_sa_path_is_flagged(modules, kind):
    """A route-based VPN device whose MTU exceeds the SA path behind it (an
    xfrm interface at its default 1500, a VTI at 1480, the SA 1446): the
    number to set, from the SA's transform and the underlay's MTU.  Gone
    with the MTU set, or with a PREFRAG rule on the device; back when the
    underlay's MTU shrinks below what the set MTU assumed."""
    subprocess.run(["modprobe", "-a", "xfrm_interface", "ip_vti"], check=True)
    t = RouteBased(prefix=f"dt{kind[0]}", kind=kind)
    try:
        found, _, _ = findings(t.ra)
        [f] = found["tunnel-interface-mtu"]
        default = 1500 if kind == "xfrm" else 1480
        assert (f"{t.dev} ({kind}, {'if_id' if kind == 'xfrm' else 'key'} 42) has MTU "
                f"{default}, but the SA it sends into (to 10.0.3.1, over eth1 with MTU 1500) "
                "carries 1446 bytes") in f["message"], f
        assert f"ip link set {t.dev} mtu 1446" in f["message"]
        t.ra.sh(f"ip link set {t.dev} mtu 1446")
        assert "tunnel-interface-mtu" not in findings(t.ra)[0]
        t.ra.sh("ip link set eth1 mtu 1400")
        [f] = findings(t.ra)[0]["tunnel-interface-mtu"]
        assert "over eth1 with MTU 1400) carries 1346 bytes" in f["message"], f
        t.ra.sh(f"iptables -t mangle -A POSTROUTING -o {t.dev} -j PREFRAG --mtu auto")
        assert "tunnel-interface-mtu" not in findings(t.ra)[0]
        # Another transform: AES-CBC with HMAC-SHA256 on 1400 bytes.
        t.ra.sh("iptables -t mangle -F")
        t.keys("cbc", spis=(0x500, 0x600))
        [f] = findings(t.ra)[0]["tunnel-interface-mtu"]
        assert "carries 1326 bytes" in f["message"], f
    finally:
        t.delete()
