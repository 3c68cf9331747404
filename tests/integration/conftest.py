"""Integration tests build real Mininet namespaces; they need root and the set-up script.

A session fixture records the host's own interfaces, routes, sysctls and
namespaces before the first test and asserts they are unchanged after the
last, and that no process of any run is left.
"""

import os
import shutil
import subprocess

import pytest

from testbed import runstate

pytestmark = pytest.mark.integration


def pytest_collection_modifyitems(items):
    """Mark everything under tests/integration as integration; skip it without root."""
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
            if os.geteuid() != 0:
                item.add_marker(pytest.mark.skip(reason="integration tests need root"))


def _sh(command):
    return subprocess.run(command, shell=True, capture_output=True, text=True).stdout


# The sysctls Mininet's own start-up would raise, and the host's forwarding switches.
WATCHED_SYSCTLS = ("fs.file-max net.core.wmem_max net.core.rmem_max net.ipv4.tcp_rmem "
                   "net.ipv4.tcp_wmem net.core.netdev_max_backlog "
                   "net.ipv4.neigh.default.gc_thresh1 net.ipv4.neigh.default.gc_thresh2 "
                   "net.ipv4.neigh.default.gc_thresh3 net.ipv4.route.max_size kernel.pty.max "
                   "net.ipv4.ip_forward net.ipv6.conf.all.forwarding "
                   "net.ipv6.conf.all.disable_ipv6 net.ipv4.conf.all.send_redirects")


def host_state():
    """What a run must not change on the host: links, addresses, routes, sysctls, namespaces."""
    return {
        "links": _sh("ip -o link show | sed -E 's/ (qlen|link-netnsid).*//'"),
        "addresses": _sh("ip -o addr show"),
        "routes4": _sh("ip -4 route show table all"),
        "routes6": _sh("ip -6 route show table all | grep -v '^local fe80\\|^fe80'"),
        "sysctls": _sh(f"sysctl {WATCHED_SYSCTLS}"),
        "netns": _sh("ip netns list"),
    }


@pytest.fixture(scope="session", autouse=True)
def host_untouched():
    """Assert the host is as it was, and no process of any of this session's runs is left."""
    if os.geteuid() != 0:
        yield
        return
    if shutil.which("mnexec") is None:
        pytest.exit("Mininet is not installed: run scripts/setup", returncode=3)
    before = host_state()
    yield
    left = runstate.marked()       # this session's runs only (its own TESTBED_RUNS)
    runstate.clean(include_live=True)
    after = host_state()
    changed = [key for key in before if before[key] != after[key]]
    assert not left, f"processes of runs outlived the tests: {left}"
    assert not changed, "host state changed: " + "; ".join(
        f"{k}: before={before[k]!r} after={after[k]!r}" for k in changed)


@pytest.fixture
def no_leftovers():
    """Assert that nothing of the runs this test started is left once it ends."""
    before = set(runstate.marked()) | {r.id for r in runstate.Run.all()}
    yield
    left = {k: v for k, v in runstate.marked().items() if k not in before}
    assert not left, f"processes left behind: {left}"
    folders = [r.id for r in runstate.Run.all() if r.id not in before]
    assert not folders, f"run folders left behind: {folders}"
