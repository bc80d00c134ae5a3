"""Guest-side fixtures.  These tests only run inside the test guest
(tests/guest/vm.py), where our modules can be loaded into a real kernel."""
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))

from topology import Routed, Tunnel  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "runs_last(n): run after every other test, in order of n "
        "(the unload and install tests change what is loaded and installed)")


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("NF_PREFRAG_MODTREE"):
        skip = pytest.mark.skip(reason="needs the test guest: run tests/run-tests.sh")
        for item in items:
            item.add_marker(skip)

    def order(item):
        m = item.get_closest_marker("runs_last")
        return m.args[0] if m else 0
    items.sort(key=order)  # stable: file order otherwise


@pytest.fixture(scope="session")
def modules():
    subprocess.run(["modprobe", "-a", "xt_PREFRAG", "xt_CLEARDF"], check=True)
    yield


@pytest.fixture(scope="module")
def tunnel(modules):
    t = Tunnel(prefix="p1")
    yield t
    t.delete()


@pytest.fixture
def tun(tunnel, tmp_path):
    """The tunnel topology, with every rule (iptables and nft) flushed after
    the test."""
    tunnel.tmp = tmp_path
    yield tunnel
    tunnel.flush_rules()


@pytest.fixture(scope="module")
def routed(modules):
    """h1 ---- r ---- h2, dual stack, no IPsec."""
    subprocess.run(["modprobe", "xt_REJECT_MTU"], check=True)
    t = Routed()
    yield t
    t.delete()


@pytest.fixture
def net(routed, tmp_path):
    routed.tmp = tmp_path
    yield routed
    routed.flush_rules()


def kernel_log_since(mark):
    out = subprocess.run(["dmesg"], capture_output=True, text=True).stdout
    return out[mark:]


@pytest.fixture
def kmsg():
    """Read what the kernel logged during the test: kmsg() -> text."""
    start = len(subprocess.run(["dmesg"], capture_output=True, text=True).stdout)
    return lambda: kernel_log_since(start)


_REPORTS = []


@pytest.fixture
def report(request):
    """report(text): a measurement worth reading that is not asserted; shown
    at the end of the run."""
    return lambda text: _REPORTS.append(f"{request.node.name}: {text}")


def pytest_terminal_summary(terminalreporter):
    if _REPORTS:
        terminalreporter.section("measured, not asserted")
        for line in _REPORTS:
            terminalreporter.write_line(line)
