"""Rules added with iptables-nft live in nftables tables: stock `nft list
ruleset` shows our actions in their nft syntax (through the plugins' xlate),
never as an opaque `xt target`."""
import subprocess

import pytest

from nettest import Netns

RULES = [
    ("iptables-nft", "-t mangle -A POSTROUTING -o eth1 -j PREFRAG --mtu auto",
     "prefrag mtu auto"),
    ("iptables-nft", "-t mangle -A PREROUTING -i eth0 -j PREFRAG --mtu 1376 --df clear",
     "prefrag mtu 1376 df clear"),
    ("iptables-nft", "-t mangle -A PREROUTING -i eth0 -j CLEARDF --min-len 1400 --random-id",
     "cleardf min-len 1400 random-id"),
    ("iptables-nft", "-A FORWARD -j REJECT --reject-with icmp-frag-needed --reject-mtu 1400",
     "reject with icmp frag-needed mtu 1400"),
    ("iptables-nft", "-t mangle -A PREROUTING -p tcp -j PREFRAG --mtu auto --df keep --tcp segment",
     "prefrag mtu auto df keep tcp segment"),
    ("ip6tables-nft", "-t mangle -A POSTROUTING -j PREFRAG --mtu 1280", "prefrag mtu 1280"),
    ("ip6tables-nft", "-t mangle -A PREROUTING -j PREFRAG --mtu auto --tcp segment",
     "prefrag mtu auto tcp segment"),
    ("ip6tables-nft", "-A OUTPUT -j REJECT --reject-with icmp6-pkt-too-big",
     "reject with icmpv6 too-big mtu auto"),
]


@pytest.fixture(scope="module")
def ns(modules):
    subprocess.run(["modprobe", "xt_REJECT_MTU"], check=True)
    n = Netns("nftlist")
    yield n
    n.delete()


def test_nft_lists_our_actions_in_nft_syntax(ns):
    for cmd, rule, _ in RULES:
        ns.sh(f"{cmd} {rule}")
    listing = ns.sh("nft list ruleset")
    for _, _, nft in RULES:
        assert nft in listing, listing
    assert "xt target" not in listing
