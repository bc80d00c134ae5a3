"""A gateway keeps its rules across reboots, reloads and daemon restarts.

Each test boots a Debian root with systemd (tests/boot/gateway.py) with our
packages installed by apt, once or several times: a second boot of the same
root is a reboot.  The rules are loaded the way administrators load them:
nftables.service with /etc/nftables.conf, netfilter-persistent with
/etc/iptables/rules.v4 and rules.v6.  Run on the host: make check-boot.
"""
import json
import re

import pytest

from gateway import NFTABLES_CONF, ON_GATEWAY, crosses, on_gateway, our_debs, rules_of


def test_nftables_conf_with_our_statements_loads_at_boot_and_again_after_reboot(gateway):
    """The file loads whole at boot; `nft list ruleset > /etc/nftables.conf`
    (stock nft's listing) loads the same ruleset at the next boot."""
    gateway.write("/etc/nftables.conf", NFTABLES_CONF)
    seen = on_gateway(gateway, "state traffic", after="nft list ruleset > /etc/nftables.conf")
    first = seen["state"]
    assert first["nftables"] == "active", first["nftables_status"]
    assert "nft-prefrag -f /etc/nftables.conf" in first["nftables_exec"], first["nftables_exec"]
    for statement in ("prefrag mtu auto", "cleardf min-len 1400",
                      "reject with icmp frag-needed mtu 1400",
                      "reject with icmpv6 too-big mtu 1280", "vmap @by_port"):
        assert statement in first["ruleset"], first["ruleset"]
    crosses(seen["traffic"])
    saved = gateway.read("/etc/nftables.conf")
    assert "prefrag mtu auto" in saved and "flush ruleset" not in saved, saved

    second = on_gateway(gateway, "state")["state"]   # the reboot
    assert second["nftables"] == "active", second["nftables_status"]
    assert rules_of(second["ruleset"]) == rules_of(first["ruleset"])
    assert second["failed_units"] == [""], second["failed_units"]


def test_reload_applies_a_changed_file_and_a_broken_one_changes_nothing(gateway):
    gateway.write("/etc/nftables.conf", NFTABLES_CONF)
    broken = NFTABLES_CONF.replace("prefrag mtu auto", "prefrag mtu auto\n\t\tip saddr bogus")
    script = f"""
{ON_GATEWAY} state > /tmp/booted.json
sed -i 's/mtu 1400$/mtu 1380/' /etc/nftables.conf
systemctl reload nftables.service || exit 10
nft list ruleset > /tmp/reloaded.nft
cat > /etc/nftables.conf <<'EOF'
{broken}EOF
systemctl reload nftables.service && exit 11
nft list ruleset > /tmp/after-broken.nft
systemctl status --no-pager -l -n 30 nftables.service > /tmp/status.txt
python3 - <<'EOF'
import json
print(json.dumps({{"booted": json.load(open("/tmp/booted.json")),
                  "reloaded": open("/tmp/reloaded.nft").read(),
                  "after_broken": open("/tmp/after-broken.nft").read(),
                  "status": open("/tmp/status.txt").read()}}))
EOF
"""
    out = json.loads(gateway.boot(script).strip().splitlines()[-1])
    assert "reject with icmp frag-needed mtu 1380" in out["reloaded"], out["reloaded"]
    assert "frag-needed mtu 1400" not in out["reloaded"], out["reloaded"]
    # The broken file changed nothing, and the unit says where it broke.
    assert rules_of(out["after_broken"]) == rules_of(out["reloaded"])
    assert re.search(r"/etc/nftables.conf:\d+:\d+", out["status"]), out["status"]

    # Booting with the broken file: the unit fails, naming the line.
    after = on_gateway(gateway, "state")["state"]
    assert after["nftables"] == "failed", after
    assert re.search(r"/etc/nftables.conf:\d+:\d+-\d+: Error", after["nftables_status"]), \
        after["nftables_status"]
    gateway.write("/etc/nftables.conf", NFTABLES_CONF)


def test_netfilter_persistent_saves_our_rules_and_restores_them_at_boot(gateway):
    gateway.write("/etc/nftables.conf", "#!/usr/sbin/nft -f\nflush ruleset\n")
    rules = """
iptables -t mangle -A POSTROUTING -m policy --dir out --pol ipsec -j PREFRAG --mtu auto
iptables -t mangle -A PREROUTING -i eth0 -p tcp -j CLEARDF --min-len 1400
iptables -A FORWARD -o eth9 -j REJECT --reject-with icmp-frag-needed --reject-mtu 1400
ip6tables -t mangle -A POSTROUTING -o eth9 -j PREFRAG --mtu 1280
ip6tables -A FORWARD -o eth9 -j REJECT --reject-with icmp6-pkt-too-big --reject-mtu 1280
netfilter-persistent save
"""
    gateway.boot(rules)
    seen = on_gateway(gateway, "state traffic")
    after = seen["state"]
    assert after["persistent"] == "active", after
    for rule in ("-j PREFRAG --mtu auto", "-j CLEARDF --min-len 1400",
                 "--reject-with icmp-frag-needed --reject-mtu 1400"):
        assert rule in after["iptables"], after["iptables"]
    for rule in ("-j PREFRAG --mtu 1280", "--reject-with icmp6-pkt-too-big --reject-mtu 1280"):
        assert rule in after["ip6tables"], after["ip6tables"]
    assert after["modules"] == ["nf_prefrag", "xt_CLEARDF", "xt_PREFRAG", "xt_REJECT_MTU"]
    crosses(seen["traffic"])
    gateway.run("rm -f /etc/iptables/rules.v4 /etc/iptables/rules.v6")


def test_removing_the_package_gives_nftables_service_back(gateway):
    gateway.run("DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq xtables-nf-prefrag "
                ">/dev/null")
    try:
        gateway.write("/etc/nftables.conf", "#!/usr/sbin/nft -f\nflush ruleset\n"
                      "table inet t {\n chain c {\n  type filter hook forward priority 0;\n"
                      " }\n}\n")
        after = on_gateway(gateway, "state")["state"]
        assert after["nftables"] == "active", after["nftables_status"]
        assert "argv[]=/usr/sbin/nft -f /etc/nftables.conf" in after["nftables_exec"], \
            after["nftables_exec"]
    finally:
        gateway.install_debs(our_debs())


@pytest.mark.parametrize("policy", ["module.sig_enforce=1", "lockdown=integrity"])
def test_a_kernel_that_loads_signed_modules_only_gets_the_cause_and_the_fix(gateway, policy):
    """As on a Secure Boot machine whose owner never enrolled DKMS's key:
    the kernel refuses our modules, and every front end says so, naming
    the key to enroll, not "module missing"."""
    gateway.write("/etc/nftables.conf", "#!/usr/sbin/nft -f\nflush ruleset\n")
    script = r"""
iptables -t mangle -A POSTROUTING -j PREFRAG --mtu auto; echo "iptables exit $?"
printf 'table inet t {\n chain c {\n  type filter hook postrouting priority 0;\n  prefrag mtu auto\n }\n}\n' |
	nft-prefrag -f -; echo "nft-prefrag exit $?"
nf-prefrag doctor --json > /tmp/doctor.json; echo "doctor exit $?"
ls /sys/module | grep -x xt_PREFRAG; echo "loaded $?"
echo "doctor: $(tr -d '\n' < /tmp/doctor.json)"
"""
    out = gateway.boot(script + "\ntrue", append=policy)
    for front in ("iptables", "nft-prefrag"):
        assert f"{front} exit 0" not in out, out
    assert out.count(f"loads signed modules only ({policy}") >= 2, out
    assert out.count("mokutil --import /var/lib/dkms/mok.pub") >= 2, out
    assert "loaded 1" in out, out
    report = json.loads(out.split("doctor: ", 1)[1].splitlines()[0])
    ids = [f["id"] for f in report["findings"]]
    assert "module-signature-refused" in ids, report["findings"]
    assert "doctor exit 1" in out


def test_a_new_kernel_gets_its_build_at_install_and_boots_with_the_rules(gateway):
    """Debian 12 with 6.12 from backports (Debian 13: its newest from
    backports): DKMS builds for it while apt installs it; booted, the rules
    and traffic are as before and doctor finds nothing wrong.  Then the old
    kernel goes, and nothing breaks.  (Last: it changes the root's kernels.)"""
    gateway.write("/etc/nftables.conf", NFTABLES_CONF)
    old = gateway.kernels()
    release = gateway.read("/etc/apt/sources.list").split("\n")[0].split()
    gateway.write("/etc/apt/sources.list.d/backports.list",
                  f"deb {release[1]} {gateway.suite}-backports {' '.join(release[3:])}\n")
    gateway.run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                f"-t {gateway.suite}-backports linux-image-amd64 linux-headers-amd64 >/dev/null")
    new = [k for k in gateway.kernels() if k not in old]
    assert len(new) == 1, (old, gateway.kernels())
    status = gateway.run("dkms status nf-prefrag").stdout
    assert f"{new[0]}, x86_64: installed" in status, status

    seen = on_gateway(gateway, "state traffic", kernel=new[0],
                      before="nf-prefrag doctor || exit 12")
    state = seen["state"]
    assert state["kernel"] == new[0] and state["nftables"] == "active", state
    assert "prefrag mtu auto" in state["ruleset"], state["ruleset"]
    crosses(seen["traffic"])

    gateway.run("DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "
                + " ".join(f"linux-image-{k} linux-headers-{k}" for k in old) + " >/dev/null")
    assert gateway.kernels() == new
    state = on_gateway(gateway, "state")["state"]
    assert state["nftables"] == "active" and "prefrag mtu auto" in state["ruleset"], state
    assert state["failed_units"] == [""], state["failed_units"]
