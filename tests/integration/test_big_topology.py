"""A generated big topology comes up, routes end to end across its chain, and leaves nothing."""

import importlib.util

import pytest
import yaml

from testbed import paths, stacks, topology
from testbed.network import Emulation

_spec = importlib.util.spec_from_file_location("generate", paths.TOPOLOGIES / "generate.py")
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)


def _chain_end_to_end(tmp_path, routers):
    """Build a chain of *routers* routers (4 hosts each); ping first host -> last host."""
    path = tmp_path / "chain.yaml"
    path.write_text(yaml.safe_dump(generate.generate("chain", routers, 4), sort_keys=False))
    topo = topology.load(path)
    last = topo.nodes[f"h{routers}-3"].interfaces["eth0"]
    with Emulation(topo, stacks.load("linux")) as network:
        assert len(network.net.nameToNode) == len(topo.nodes) == routers * 5 + 2
        for address in (last.ipv4.ip, last.ipv6.ip):
            out, rc = network["h1-0"].run(f"ping -n -c 2 -i 0.1 -W 2 {address}")
            assert rc == 0, out
            assert f"ttl={64 - routers}" in out      # every router of the chain forwarded


def test_32_node_chain_routes_end_to_end(tmp_path, no_leftovers):
    _chain_end_to_end(tmp_path, 6)


@pytest.mark.slow
def test_200_node_chain_routes_end_to_end(tmp_path, no_leftovers):
    _chain_end_to_end(tmp_path, 40)
