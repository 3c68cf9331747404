"""topologies/generate.py writes big topologies that load and keep to the address plan."""

import importlib.util
import ipaddress

import pytest
import yaml

from testbed import paths, topology

_spec = importlib.util.spec_from_file_location("generate", paths.TOPOLOGIES / "generate.py")
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)

ALLOWED = (ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("2001:2::/48"))


def load(tmp_path, *args, **kwargs):
    """Generate, write and load a topology through testbed.topology (schema included)."""
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(generate.generate(*args, **kwargs), sort_keys=False))
    return topology.load(path)


@pytest.mark.parametrize("kind, routers, hosts, fanout", [
    ("chain", 100, 4, 2), ("tree", 100, 4, 2), ("tree", 13, 2, 3), ("chain", 3, 0, 2)])
def test_node_counts_roles_and_links(tmp_path, kind, routers, hosts, fanout):
    topo = load(tmp_path, kind, routers, hosts, fanout)
    assert len(topo.nodes) == routers * (1 + hosts) + 2
    assert len(topo.nodes_with_role("router")) == routers
    assert len(topo.nodes_with_role("host")) == routers * hosts
    assert topo.dut.name == "dut" and len(topo.nodes_with_role("tester")) == 1
    assert len(topo.links) == len(topo.nodes) - 1          # a tree of links


def test_addresses_are_unique_and_inside_the_allowed_ranges(tmp_path):
    topo = load(tmp_path, "tree", 60, 4)
    seen = []
    for node in topo.nodes.values():
        for intf in node.interfaces.values():
            for address in filter(None, (intf.ipv4, intf.ipv6,
                                         *(i.ipv4 for i in intf.identities.values()))):
                assert any(address.network.subnet_of(r) for r in ALLOWED
                           if r.version == address.version), address
                seen.append(address.ip)
        for route in node.routes:
            if route.destination.prefixlen:
                assert any(route.destination.subnet_of(r) for r in ALLOWED
                           if r.version == route.destination.version), route
    assert len(seen) == len(set(seen))
    networks = [p for n in topo.networks.values() for p in (n.ipv4, n.ipv6)]
    assert not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1:]
                   if a.version == b.version)


def test_names_fit_linux_interface_names(tmp_path):
    topo = load(tmp_path, "chain", 60, 9)
    assert len({n for n in topo.nodes}) == len(topo.nodes)
    assert max(len(i) for n in topo.nodes.values() for i in n.interfaces) <= 15
    assert max(len(n) for n in topo.nodes) <= 12


def test_every_router_routes_each_subtree_to_its_child(tmp_path):
    """A parent's routes to a child's uplink cover exactly the child's subtree networks."""
    topo = load(tmp_path, "tree", 15, 1)
    r1 = topo.nodes["r1"]
    via_children = [r for r in r1.routes if r.destination.prefixlen]
    below = [n for name, n in topo.networks.items() if name not in ("T", "L1", "H1-0")]
    for net in below:
        for prefix in (net.ipv4, net.ipv6):
            assert sum(prefix.subnet_of(r.destination) for r in via_children
                       if r.destination.version == prefix.version) == 1, prefix


def test_a_plan_that_does_not_fit_is_refused():
    with pytest.raises(SystemExit, match="do not fit"):
        generate.generate("chain", 9000, 4)
