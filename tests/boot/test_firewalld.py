"""A gateway whose firewall is firewalld: our targets in its permanent
direct rules (firewalld hands them to iptables, which finds our plugins),
and a table of the administrator's own beside firewalld's, loaded by a unit
after it (docs/operations.md), through a reload, a reboot and a restart of
firewalld.  firewalld conflicts
with nftables.service and netfilter-persistent: they are disabled, as
firewalld's package expects.  The lab gateway's interfaces are trusted
(its default zone), so that only our rules decide what crosses.
"""
import pytest

from gateway import SUITE, GatewayRoot, crosses, on_gateway

DIRECT = [
    "ipv4 mangle POSTROUTING 0 -m policy --dir out --pol ipsec -j PREFRAG --mtu auto",
    "ipv4 mangle PREROUTING 0 -i eth9 -p tcp -j CLEARDF --min-len 1400",
    "ipv4 filter FORWARD 0 -o eth9 -j REJECT --reject-with icmp-frag-needed --reject-mtu 1400",
    "ipv6 mangle POSTROUTING 0 -o eth9 -p tcp -j PREFRAG --mtu 1280 --tcp segment",
]
# firewall-cmd --reload's own D-Bus call, with time to answer: under
# emulation a reload can outlast firewall-cmd's 25-second wait for the reply.
RELOAD = ("busctl --timeout=600 call org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 "
          "org.fedoraproject.FirewallD1 reload")
SAVED = ["-j PREFRAG --mtu auto", "-j CLEARDF --min-len 1400",
         "--reject-with icmp-frag-needed --reject-mtu 1400"]
VPN_NFT = """table inet vpn {
	chain postrouting {
		type filter hook postrouting priority mangle; policy accept;
		rt ipsec exists counter prefrag mtu auto
	}
}
"""
# docs/operations.md, "firewalld": the unit that loads it.
VPN_UNIT = """[Unit]
Description=VPN rules beside firewalld
After=firewalld.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/nft-prefrag -f /etc/nftables.d/vpn.nft

[Install]
WantedBy=multi-user.target
"""


@pytest.fixture(scope="module")
def firewalld_gateway(debs):
    gw = GatewayRoot(SUITE, debs, name=f"{SUITE}-firewalld")
    gw.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
           "firewalld >/dev/null && "
           "systemctl disable nftables.service netfilter-persistent.service >/dev/null 2>&1 && "
           "systemctl enable firewalld.service >/dev/null 2>&1 && "
           "firewall-offline-cmd --set-default-zone=trusted >/dev/null && "
           "mkdir -p /etc/nftables.d")
    gw.write("/etc/nftables.d/vpn.nft", VPN_NFT)
    gw.write("/etc/systemd/system/nf-prefrag-vpn.service", VPN_UNIT)
    gw.run("systemctl enable nf-prefrag-vpn.service >/dev/null 2>&1")
    yield gw
    gw.unmount()


def test_firewalld_direct_rules_with_our_targets_survive_reload_reboot_and_restart(
        firewalld_gateway):
    gw = firewalld_gateway
    add = "\n".join(f"firewall-cmd --permanent --direct --add-rule {r} >/dev/null || exit 10"
                    for r in DIRECT)
    seen = on_gateway(gw, "state traffic",
                      before=f"firewall-cmd --state || exit 9\n{add}\n"
                             f"{RELOAD} || exit 11")
    for rule in SAVED:
        assert rule in seen["state"]["iptables"], seen["state"]["iptables"]
    assert "-j PREFRAG --mtu 1280 --tcp segment" in seen["state"]["ip6tables"]
    crosses(seen["traffic"])
    assert "--mtu auto" in gw.read("/etc/firewalld/direct.xml")

    # The reboot, then firewalld restarted as a package upgrade restarts it.
    seen = on_gateway(gw, "state traffic",
                      before="firewall-cmd --state || exit 9\n"
                             f"{RELOAD} || exit 11\n"
                             "systemctl restart firewalld.service || exit 12\n"
                             "firewall-cmd --state || exit 13")
    state = seen["state"]
    for rule in SAVED:
        assert rule in state["iptables"], state["iptables"]
    # The administrator's table: loaded after firewalld at boot, untouched
    # by its reloads and restarts.
    assert "table inet vpn" in state["ruleset"] and "prefrag mtu auto" in state["ruleset"], \
        state["ruleset"]
    assert "table inet firewalld" in state["ruleset"]
    assert state["modules"] == ["nf_prefrag", "xt_CLEARDF", "xt_PREFRAG", "xt_REJECT_MTU"]
    assert state["failed_units"] == [""], state["failed_units"]
    crosses(seen["traffic"])
