"""Prebuilt modules for fleets: a gateway with no compiler, no kernel
headers and no DKMS gets our modules from nf-prefrag-modules-<release>
(make deb-modules) beside xtables-nf-prefrag, boots, loads its rules and
carries full-size packets through a fragment-dropping tunnel."""
import glob
import json
import os
import subprocess

import pytest

from gateway import NFTABLES_CONF, SUITE, TOP, GatewayRoot, crosses, on_gateway

MODULES_DEBS = os.path.join(TOP, "build", "boot", "deb-modules")


@pytest.fixture(scope="module")
def fleet_gateway(debs):
    root = GatewayRoot(SUITE, [], compiler=False, name=f"{SUITE}-prebuilt",
                       fresh=not os.environ.get("NF_PREFRAG_BOOT_REUSE"))
    release = root.kernels()[-1]
    subprocess.run(["make", "-s", "-C", TOP, "modules", f"KVERS={release}"], check=True,
                   capture_output=True)
    subprocess.run(["sh", os.path.join(TOP, "scripts", "deb-modules.sh"), release,
                    MODULES_DEBS], check=True, capture_output=True)
    root.install_debs([d for d in debs if "xtables-nf-prefrag_" in d] +
                      glob.glob(os.path.join(MODULES_DEBS, f"nf-prefrag-modules-{release}_*.deb")))
    yield root
    root.unmount()


def test_prebuilt_modules_carry_the_tunnel_without_a_compiler(fleet_gateway):
    gw = fleet_gateway
    absent = gw.run("for c in gcc cc dkms; do command -v $c; done; "
                    "dpkg -l 'linux-headers-*' 2>/dev/null | grep ^ii; true").stdout
    assert absent.strip() == "", absent
    gw.write("/etc/nftables.conf", NFTABLES_CONF)
    seen = on_gateway(gw, "state traffic")
    assert seen["state"]["nftables"] == "active", seen["state"]["nftables_status"]
    assert seen["state"]["modules"] == ["nf_prefrag", "xt_CLEARDF", "xt_PREFRAG",
                                        "xt_REJECT_MTU"], seen["state"]
    assert "/updates/nf-prefrag/xt_PREFRAG.ko" in seen["state"]["module_file"], seen["state"]
    crosses(seen["traffic"])
    status = json.loads(gw.boot("nf-prefrag doctor --json; true").strip().splitlines()[-1])
    assert not [f for f in status["findings"] if f["severity"] == "problem"], \
        status["findings"]
