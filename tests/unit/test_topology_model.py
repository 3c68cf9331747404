"""The resolved model of the shipped topologies: addresses, routes, identities, MACs."""

import ipaddress
import re

import pytest

from testbed import topology

V4_PLAN = ipaddress.ip_network("198.18.0.0/15")      # RFC 2544
V6_PLAN = ipaddress.ip_network("2001:2::/48")        # RFC 5180
MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


@pytest.fixture(scope="module")
def topos():
    return topology.available()


def addressed(topo):
    """Every interface and identity of *topo*, with a label."""
    for node in topo.nodes.values():
        for intf in node.interfaces.values():
            yield intf.ref, intf
            for name, ident in intf.identities.items():
                yield name, ident


def ip(text):
    return ipaddress.ip_interface(text)


# --- addresses --------------------------------------------------------------

def test_node_addresses_come_from_host_numbers(topos):
    dut = topos["topology-2"].dut
    assert dut.interfaces["eth0"].ipv4 == ip("198.18.1.1/24")
    assert dut.interfaces["eth0"].ipv6 == ip("2001:2:0:1::1/64")
    assert dut.interfaces["eth1"].ipv4 == ip("198.18.2.1/24")
    assert dut.interfaces["eth1"].ipv6 == ip("2001:2:0:2::1/64")
    rtr = topos["topology-3"].nodes["rtr"]
    assert rtr.interfaces["eth0"].ipv4 == ip("198.18.1.2/24")
    assert rtr.interfaces["eth1"].ipv4 == ip("198.18.3.1/24")
    assert rtr.interfaces["eth1"].ipv6 == ip("2001:2:0:3::1/64")


def test_host_number_gives_the_same_digits_in_ipv6(topos):
    """host 10 is .10 in IPv4 and ::10 (not ::a) in IPv6, as the schema describes."""
    idents = topos["topology-2"].identities
    assert idents["HOST-1"].ipv4 == ip("198.18.1.10/24")
    assert idents["HOST-1"].ipv6 == ip("2001:2:0:1::10/64")
    assert idents["RTR-1"].ipv4 == ip("198.18.1.254/24")
    assert idents["RTR-1"].ipv6 == ip("2001:2:0:1::254/64")
    assert idents["HOST-2"].ipv6 == ip("2001:2:0:2::10/64")
    assert topos["topology-3"].interface("hc:eth0").ipv6 == ip("2001:2:0:3::10/64")


def test_tester_interfaces_have_no_addresses_of_their_own(topos):
    for topo in topos.values():
        for node in topo.nodes_with_role("tester"):
            for intf in node.interfaces.values():
                assert intf.ipv4 is None and intf.ipv6 is None, intf.ref


def test_identities_sit_on_their_tester_interface(topos):
    idents = topos["topology-2"].identities
    assert sorted(idents) == ["HOST-1", "HOST-2", "RTR-1", "RTR-2"]
    assert idents["HOST-1"].interface == "tester:t0"
    assert idents["HOST-2"].interface == "tester:t1"


@pytest.mark.parametrize("name", ["topology-1", "topology-2", "topology-3"])
def test_every_address_is_in_the_benchmarking_plan(topos, name):
    topo = topos[name]
    for net in topo.networks.values():
        assert net.ipv4 is not None and net.ipv4.subnet_of(V4_PLAN), net
        assert net.ipv6 is not None and net.ipv6.subnet_of(V6_PLAN), net
    count = 0
    for label, thing in addressed(topo):
        if thing.ipv4 is not None:
            assert thing.ipv4.ip in V4_PLAN, label
            assert thing.ipv4.network == topo.networks[_network_of(topo, thing)].ipv4, label
            count += 1
        if thing.ipv6 is not None:
            assert thing.ipv6.ip in V6_PLAN, label
            count += 1
    assert count >= 4
    for node in topo.nodes.values():
        for route in node.routes:
            gateway = route.gateway
            if gateway is not None and not gateway.is_link_local:
                assert gateway in (V4_PLAN if route.family == "ipv4" else V6_PLAN), route


def _network_of(topo, thing):
    if isinstance(thing, topology.Identity):
        return topo.interface(thing.interface).network
    return thing.network


@pytest.mark.parametrize("name", ["topology-1", "topology-2", "topology-3"])
def test_no_address_is_used_twice(topos, name):
    seen = {}
    for label, thing in addressed(topos[name]):
        if getattr(thing, "same_as", None):
            continue        # a stand-in deliberately shares its live_only node's addresses
        for value in (thing.ipv4, thing.ipv6):
            if value is not None:
                assert value.ip not in seen, f"{label} and {seen.get(value.ip)}"
                seen[value.ip] = label


# --- routes ------------------------------------------------------------------

def test_topology_3_dut_routes_network_c_via_rtr(topos):
    topo = topos["topology-3"]
    rtr_eth0 = topo.interface("rtr:eth0")
    routes = {route.family: route for route in topo.dut.routes}
    assert len(topo.dut.routes) == 2
    assert routes["ipv4"] == topology.Route(ipaddress.ip_network("198.18.3.0/24"),
                                            ipaddress.ip_address("198.18.1.2"), None)
    assert rtr_eth0.ipv6.ip == ipaddress.ip_address("2001:2:0:1::2")
    # A named IPv6 gateway is reached at its link-local address, out of the DUT's
    # interface on the gateway's network (RFC 4861 section 8: Redirects need it).
    assert routes["ipv6"] == topology.Route(ipaddress.ip_network("2001:2:0:3::/64"),
                                            topology.link_local(rtr_eth0.mac), "eth0")


def test_topology_3_default_and_return_routes(topos):
    topo = topos["topology-3"]
    dut_eth0 = topo.interface("dut:eth0")
    h1 = topo.nodes["h1"].routes
    assert [(str(r.destination), r.gateway, r.device) for r in h1] == [
        ("0.0.0.0/0", ipaddress.ip_address("198.18.1.1"), None),
        ("::/0", dut_eth0.ipv6_link_local, "eth0"),
    ]
    rtr = topo.nodes["rtr"].routes
    assert [str(r.destination) for r in rtr] == ["198.18.2.0/24", "2001:2:0:2::/64"]
    assert rtr[0].gateway == ipaddress.ip_address("198.18.1.1")
    hc = topo.nodes["hc"].routes
    assert hc[0].gateway == ipaddress.ip_address("198.18.3.1")
    assert hc[1].gateway == topo.interface("rtr:eth1").ipv6_link_local


def test_topologies_1_and_2_have_no_routes(topos):
    for name in ("topology-1", "topology-2"):
        assert all(not node.routes for node in topos[name].nodes.values())


def test_forwarding(topos):
    assert topos["topology-1"].dut.forwarding == frozenset()
    assert topos["topology-2"].dut.forwarding == {"ipv4", "ipv6"}
    t3 = topos["topology-3"]
    assert t3.nodes["rtr"].forwarding == {"ipv4", "ipv6"}     # a router forwards by default
    assert t3.nodes["h1"].forwarding == frozenset()
    assert t3.nodes["tester"].forwarding == frozenset()


# --- identities standing in for live_only nodes ------------------------------

@pytest.mark.parametrize(("identity", "ref"), [("HOST-1", "h1:eth0"), ("RTR", "rtr:eth0")])
def test_same_as_copies_mac_and_addresses(topos, identity, ref):
    topo = topos["topology-3"]
    ident, live = topo.identities[identity], topo.interface(ref)
    assert ident.same_as == ref
    assert topo.nodes[ref.partition(":")[0]].live_only
    assert ident.mac == live.mac
    assert ident.ipv4 == live.ipv4 and ident.ipv4 is not None
    assert ident.ipv6 == live.ipv6 and ident.ipv6 is not None
    assert ident.ipv6_link_local == live.ipv6_link_local
    assert ident.interface == "tester:t0"


def test_identity_without_same_as_has_its_own_mac(topos):
    topo = topos["topology-3"]
    host2 = topo.identities["HOST-2"]
    assert host2.same_as is None
    assert host2.ipv4 == ip("198.18.2.10/24")
    macs = {intf.mac for node in topo.nodes.values() for intf in node.interfaces.values()}
    assert host2.mac not in macs


# --- conformance view -------------------------------------------------------

def test_conformance_view_drops_live_only_nodes_and_their_links(topos):
    topo = topos["topology-3"]
    view = topo.conformance_view()
    assert list(view.nodes) == ["dut", "tester", "sw-a"]
    assert view.links == [("tester:t0", "sw-a:p0"), ("dut:eth0", "sw-a:p1"),
                          ("tester:t1", "dut:eth1")]
    assert view.checks == []
    assert view.networks == topo.networks
    assert view.dut is topo.dut
    # the identities standing in for the dropped nodes stay
    assert {"HOST-1", "RTR", "HOST-2"} <= set(view.identities)
    # and the full topology is left as it was
    assert list(topo.nodes) == ["dut", "tester", "sw-a", "h1", "rtr", "hc"]
    assert len(topo.links) == 6
    assert [c.kind for c in topo.checks] == ["ping", "redirect"]


@pytest.mark.parametrize("name", ["topology-1", "topology-2"])
def test_conformance_view_keeps_topologies_without_live_only_nodes(topos, name):
    topo = topos[name]
    view = topo.conformance_view()
    assert list(view.nodes) == list(topo.nodes)
    assert view.links == topo.links


# --- MACs and link-local addresses ---------------------------------------------

def test_macs_are_deterministic():
    first, second = topology.load("topology-3"), topology.load("topology-3")
    assert [(label, t.mac) for label, t in addressed(first)] == \
        [(label, t.mac) for label, t in addressed(second)]
    # derived from node and interface name, so the same across topologies
    assert len({topology.load(n).interface("dut:eth0").mac
                for n in ("topology-1", "topology-2", "topology-3")}) == 1


@pytest.mark.parametrize("name", ["topology-1", "topology-2", "topology-3"])
def test_macs_are_locally_administered_unicast_and_unique(topos, name):
    seen = {}
    for label, thing in addressed(topos[name]):
        assert MAC.match(thing.mac), (label, thing.mac)
        first = int(thing.mac[:2], 16)
        assert first & 0x02, f"{label}: {thing.mac} is not locally administered"
        assert not first & 0x01, f"{label}: {thing.mac} is multicast"
        if getattr(thing, "same_as", None):
            continue
        assert thing.mac not in seen, f"{label} and {seen.get(thing.mac)}"
        seen[thing.mac] = label


def test_link_local_rfc_4291_appendix_a_example():
    # RFC 4291 appendix A: IEEE 802 address 34-56-78-9A-BC-DE becomes the EUI-64
    # 34-56-78-FF-FE-9A-BC-DE; inverting the universal/local bit (0x02 of the
    # first octet) gives the interface identifier 3656:78ff:fe9a:bcde.
    expected = ipaddress.IPv6Address("fe80::3656:78ff:fe9a:bcde")
    assert topology.link_local("34:56:78:9a:bc:de") == expected
    assert topology.link_local("34:56:78:9A:BC:DE") == expected


def test_link_local_of_a_locally_administered_mac():
    # 02 has the U/L bit set; inverted it becomes 00: 0000:00ff:fe00:0001.
    assert topology.link_local("02:00:00:00:00:01") == ipaddress.IPv6Address("fe80::ff:fe00:1")


def test_ipv6_link_local_property_uses_the_mac(topos):
    intf = topos["topology-1"].interface("dut:eth0")
    assert intf.ipv6_link_local == topology.link_local(intf.mac)
    assert intf.ipv6_link_local.is_link_local


# --- checks ------------------------------------------------------------------

def test_checks_are_parsed(topos):
    assert topos["topology-1"].checks == []
    assert topos["topology-2"].checks == [
        topology.Check("forward", {"from": "HOST-1", "to": "HOST-2"}),
        topology.Check("forward", {"from": "HOST-2", "to": "HOST-1"}),
    ]
    assert topos["topology-3"].checks == [
        topology.Check("ping", {"from": "h1", "to": "hc:eth0"}),
        topology.Check("redirect", {"from": "h1", "to": "hc:eth0", "gateway": "rtr:eth0"}),
    ]
