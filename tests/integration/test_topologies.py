"""Each shipped topology builds for real and passes its checks with the Linux DUT."""

import pytest

from testbed import stacks, topology
from testbed.checks import Checker
from testbed.network import Emulation


@pytest.mark.parametrize("name", ["topology-1", "topology-2", "topology-3"])
def test_topology_passes_its_checks(name, no_leftovers):
    with Emulation(topology.load(name), stacks.load("linux")) as network:
        results = Checker(network).run()
    failed = [f"{r.name}: {r.detail}" for r in results if not r.ok]
    assert not failed
    assert len(results) >= 3


def test_topology_3_forwards_and_redirects_live(no_leftovers):
    """h1 pings hc through the DUT, which forwards back out of eth0 and redirects h1 to rtr."""
    topo = topology.load("topology-3")
    with Emulation(topo, stacks.load("linux")) as network:
        h1 = network["h1"]
        before = int(h1.cmd("nstat -az IcmpInRedirects | awk '/IcmpInRedirects/{print $2}'"))
        out, rc = h1.run("ping -n -c 3 -i 0.05 -W 1 198.18.3.10")
        assert rc == 0, out
        assert "ttl=63" in out          # one router on the way once redirected, two before
        after = int(h1.cmd("nstat -az IcmpInRedirects | awk '/IcmpInRedirects/{print $2}'"))
        assert after > before
        assert "via 198.18.1.2 " in h1.cmd("ip route get 198.18.3.10")
        # The DUT really forwarded the first packet: its counters say so.
        forwarded = network["dut"].cmd("nstat -az IpForwDatagrams | awk '/IpForw/{print $2}'")
        assert int(forwarded) >= 1


def test_conformance_view_leaves_out_live_nodes(no_leftovers):
    """In a conformance build of topology-3 only the tester, switch and DUT exist."""
    topo = topology.load("topology-3").conformance_view()
    with Emulation(topo, stacks.load("linux")) as network:
        assert sorted(network.net.nameToNode) == ["dut", "sw-a", "tester"]
        results = Checker(network).run()
    assert all(r.ok for r in results), [r for r in results if not r.ok]


def test_null_stack_fails_every_check_but_liveness(no_leftovers):
    """The checks can fail: against a stack that answers nothing they do."""
    with Emulation(topology.load("topology-2"), stacks.load("null")) as network:
        results = Checker(network).run()
    assert results[0].ok and results[0].name == "DUT stack is alive"
    assert results[1:] and not any(r.ok for r in results[1:])


def test_tester_kernel_is_silent(no_leftovers):
    """The tester's interfaces carry no address and no IPv6; TX checksums are computed."""
    with Emulation(topology.load("topology-2"), stacks.load("linux")) as network:
        tester = network["tester"]
        assert "inet" not in tester.cmd("ip addr show dev t0; ip addr show dev t1")
        assert tester.cmd("sysctl -n net.ipv6.conf.t0.disable_ipv6").strip() == "1"
        assert "tx-checksumming: off" in tester.cmd("ethtool -k t0")
        assert "PROMISC" in tester.cmd("ip link show t0")
