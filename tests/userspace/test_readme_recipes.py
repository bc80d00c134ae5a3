"""The recipes' IKE configurations (docs/recipes.md) are those the kernel suite runs
(tests/lib/ike.py and ike_scenarios.py, tests/kernel/test_ike_strongswan.py
and test_ike_libreswan.py): a recipe edited
without its test, or a test without its recipe, fails here."""
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
sys.path.insert(0, os.path.join(TOP, "tests", "kernel"))

import ike  # noqa: E402
import ike_scenarios  # noqa: E402
import test_ike_libreswan  # noqa: E402
import test_ike_strongswan  # noqa: E402


def readme_blocks(heading):
    """The indented code blocks of the recipes' section under @heading."""
    text = open(os.path.join(TOP, "docs", "recipes.md")).read()
    section = text.split(f"\n{heading}\n", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"\n\n((?:    .*\n|\n)+)", section)


def normalized(text):
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def test_strongswan_recipe_is_the_tested_configuration():
    swanctl, iptables, nft = readme_blocks("### Recipe: strongSwan (swanctl)")[:3]
    tested = ike.SWANCTL_CONF.format(
        me="10.0.2.1", peer="10.0.3.1", local_ts="10.0.1.0/24", remote_ts="10.0.4.0/24",
        esp="aes128gcm16", start_action="trap", psk="...", child_extra="")
    assert normalized(swanctl) == normalized(tested)
    assert normalized(iptables) == ["iptables " + ike_scenarios.IPTABLES_RULE]
    assert normalized(nft) == normalized(ike_scenarios.NFT_RULES)


def test_road_warrior_recipe_is_the_tested_rule():
    rule = readme_blocks("### Recipe: road warriors (a client with a virtual IP)")[0]
    assert normalized(rule) == [test_ike_strongswan.ROAD_WARRIOR_RULE]


def test_libreswan_recipe_is_the_tested_configuration():
    conn, secrets, updown = readme_blocks("### Recipe: libreswan (ipsec.conf)")[:3]
    tested = ike.LIBRESWAN_CONN.format(
        me="10.0.2.1", peer="10.0.3.1", local_ts="10.0.1.0/24", remote_ts="10.0.4.0/24",
        esp="aes_gcm128-null", auto="ondemand", extra=test_ike_libreswan.DPD)
    assert normalized(conn) == normalized(tested)
    assert normalized(secrets) == normalized(ike.LIBRESWAN_SECRETS.format(
        me="10.0.2.1", peer="10.0.3.1", psk="..."))
    # The hook the tests run (from the build tree, with the same options),
    # where the packages install it.
    installed = "/usr/libexec/nf-prefrag/updown"
    assert installed in open(os.path.join(TOP, "scripts", "install.sh")).read()
    assert normalized(updown)[1::2] == [
        f"updown = {installed} --mtu auto",
        f'leftupdown="{installed} --mtu auto -- ipsec _updown iptables"',
        f'leftupdown="{installed} --mtu auto -- ipsec _updown"']
    assert ike.UPDOWN.endswith("/build/updown/nf-prefrag-updown")


def test_tcp_recipe_is_the_tested_clamping_rule():
    blocks = readme_blocks("### Recipe: TCP without fragments (`--tcp segment`)")
    assert normalized(blocks[1]) == [test_ike_strongswan.CLAMP_MSS]
    segment = test_ike_strongswan.TCP_SEGMENT.replace("-i eth0", "-i lan0")
    assert segment in normalized(blocks[0])


def test_route_based_recipe_is_the_tested_configuration():
    child, commands = readme_blocks("### Recipe: route-based VPNs (xfrm interfaces, VTI)")[:2]
    t = test_ike_strongswan.RouteBased
    assert normalized(child) == [f"if_id_in = {t.KEY}", f"if_id_out = {t.KEY}"]
    # The topology's gateway ra, with wan0 for eth1, and the test's rule.
    assert normalized(commands) == [
        f"ip link add xfrm0 type xfrm dev wan0 if_id {t.KEY}", "ip link set xfrm0 up",
        "ip route add 10.0.4.0/24 dev xfrm0",
        "iptables -t mangle -A POSTROUTING -o xfrm0 -j PREFRAG --mtu auto"]
    test = open(os.path.join(TOP, "tests", "kernel", "test_ike_strongswan.py")).read()
    assert 'f"if_id_in = {t.KEY}\\n                if_id_out = {t.KEY}"' in test
    assert 'rule = f"-t mangle -A POSTROUTING -o {t.dev} -j PREFRAG --mtu auto"' in test
    topology = open(os.path.join(TOP, "tests", "lib", "topology.py")).read()
    assert 'link = f"ip link add xfrm0 type xfrm dev eth1 if_id {self.KEY}"' in topology
