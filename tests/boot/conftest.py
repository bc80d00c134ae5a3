"""The boot tests' fixtures: our packages for the suite, and the gateway."""
import os
import subprocess

import pytest

from gateway import BUILD, SUITE, TOP, GatewayRoot, our_debs


@pytest.fixture(scope="session")
def debs():
    """Our packages for SUITE: NF_PREFRAG_BOOT_DEBS's (tests/check-boot.sh),
    or made here by make deb, in a build directory of their own (CI runs
    this beside another make deb)."""
    if not os.environ.get("NF_PREFRAG_BOOT_DEBS"):
        subprocess.run(["make", "-s", "-C", TOP, "deb", f"BUILD={BUILD}"], check=True,
                       capture_output=True)
    return our_debs()


@pytest.fixture(scope="module")
def gateway(debs):
    # NF_PREFRAG_BOOT_REUSE=1: the root of the last run (while developing).
    root = GatewayRoot(SUITE, debs, fresh=not os.environ.get("NF_PREFRAG_BOOT_REUSE"))
    yield root
    root.unmount()
