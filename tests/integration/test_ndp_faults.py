"""Linux with one Neighbor Discovery behaviour taken away fails the tests that cover it.

Each fault is a researcher's example manifest in stacks/examples.  For each,
a few covering tests that plain Linux passes (they are not in
stacks/linux/expected.yaml) must fail; a test whose positive control needs
the missing behaviour must end inconclusive; and a test of a neighbouring
behaviour the fault leaves alone must still pass, so that the failures are
the fault's and not a dead DUT's.
"""

from pathlib import Path

import pytest

from testbed import expected, scenario, stacks
from testbed.engine import run_tests

ROOT = Path(__file__).parents[2]

# manifest: {test id: verdict it must get}
FAULTS = {
    # A host ignoring Redirects keeps sending to its first hop.
    "linux-no-accept-redirects": {
        "NDP-5.11": "fail", "NDP-5.12": "fail", "NDP-5.20": "fail", "NDP-5.21": "fail",
        "NDP-5.13": "inconclusive",
        "NDP-5.1": "pass"},          # as a router it still sends them
    # A host ignoring Router Advertisements takes no router, prefix or address.
    "linux-no-accept-ra": {
        "NDP-4.1": "fail", "NDP-4.15": "fail", "NDP-4.20": "fail", "SLAAC-2.1": "fail",
        "NDP-4.4": "inconclusive",
        "NDP-4.19": "pass"},         # it still answers no Router Solicitation
    # A router whose Redirects nftables drops on the way out.
    "linux-ipv6-redirects-dropped": {
        "NDP-5.1": "fail",
        "NDP-5.2": "inconclusive",
        "NDP-5.7": "pass"},          # the packet that drew the Redirect is still forwarded
}


@pytest.mark.parametrize("fault", FAULTS)
def test_fault_fails_the_tests_that_cover_it(fault, tmp_path, no_leftovers):
    """The covering tests fail against the fault, where plain Linux passes them."""
    want = FAULTS[fault]
    known = expected.load(ROOT / "stacks" / "linux" / "expected.yaml")
    assert not set(want) & set(known), "plain Linux must pass every test chosen here"
    tests = scenario.select(scenario.load_all(), list(want))
    manifest = stacks.load(str(ROOT / "stacks" / "examples" / f"{fault}.yaml"))
    got = {r.id: r.verdict for r in run_tests(tests, manifest, tmp_path)}
    assert got == want
