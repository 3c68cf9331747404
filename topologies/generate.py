"""Write a big topology file: a chain or tree of routers, each with hosts, behind the DUT.

    .venv/bin/python topologies/generate.py chain --routers 100 --hosts-per-router 4 > big.yaml
    .venv/bin/python topologies/generate.py tree --routers 100 --fanout 2 > big.yaml

The tester sits on network T with the DUT's eth0; the DUT (forwarding) joins
router r1 by its eth1; routers r2, r3, ... hang below r1 as a chain (each
router's parent is the one before) or a tree (*fanout* children each).  Every
router has *hosts-per-router* hosts hN-0, hN-1, ... on point-to-point links.

Address plan (198.18.0.0/15 and 2001:2::/48 only): block 0 holds network T;
router N owns block N, numbered in depth-first order so that a router's
subtree is one contiguous range of blocks.  A block has a power-of-two number
of link slots (slot 0 is the router's uplink, then one per host); a slot is an
IPv4 /30 and an IPv6 /64.  Every node routes by default towards the DUT, and a
router reaches each child's subtree through a few summarised prefixes.

Linux sends with a hop limit of 64: in a chain of more than 63 routers the
hosts at its two ends are too far apart for a plain ping (use ``-t 255``).
"""

import argparse
import ipaddress
import sys

import yaml

IPV4 = ipaddress.ip_network("198.18.0.0/15")
IPV6 = ipaddress.ip_network("2001:2::/48")
V4_SLOT, V6_SLOT = 4, 1 << 64      # a /30, a /64


class Plan:
    """Blocks of link slots: slot *s* of block *b* as IPv4 /30 and IPv6 /64 prefixes."""

    def __init__(self, routers, hosts_per_router):
        self.slots = 1 << hosts_per_router.bit_length()   # > hosts: the uplink takes slot 0
        blocks = routers + 1
        if blocks * self.slots * V4_SLOT > IPV4.num_addresses or \
                blocks * self.slots > 1 << 16:
            raise SystemExit(f"{routers} routers with {hosts_per_router} hosts each do not fit "
                             f"in {IPV4} and {IPV6}")

    def slot(self, block, slot):
        """(IPv4 /30, IPv6 /64) of *slot* in *block*."""
        index = block * self.slots + slot
        return (ipaddress.ip_network(f"{IPV4.network_address + index * V4_SLOT}/30"),
                ipaddress.ip_network(f"{IPV6.network_address + index * V6_SLOT}/64"))

    def blocks(self, first, last):
        """Summarised IPv4 and IPv6 prefixes covering blocks *first* to *last* inclusive."""
        v4_first, v6_first = self.slot(first, 0)
        v4_last, v6_last = self.slot(last, self.slots - 1)
        return [*ipaddress.summarize_address_range(v4_first[0], v4_last[-1]),
                *ipaddress.summarize_address_range(v6_first[0], v6_last[-1])]


def parents(routers, fanout):
    """{router number: parent number (0 = the DUT)}, numbered depth-first from 1.

    A chain has fanout 1.  Children are assigned breadth-first (router k's
    parent is (k - 2) // fanout + 1), then renumbered depth-first.
    """
    children = {k: [] for k in range(1, routers + 1)}
    for k in range(2, routers + 1):
        children[(k - 2) // fanout + 1].append(k)
    order, stack = [], [1]
    while stack:
        k = stack.pop()
        order.append(k)
        stack.extend(reversed(children[k]))
    number = {k: n for n, k in enumerate(order, 1)}
    return {number[k]: number.get((k - 2) // fanout + 1, 0) if k > 1 else 0 for k in order}


def generate(kind, routers, hosts_per_router, fanout=2):
    """The topology as a dict ready for YAML."""
    plan = Plan(routers, hosts_per_router)
    parent = parents(routers, 1 if kind == "chain" else fanout)
    last_in_subtree = {k: k for k in parent}
    for k in sorted(parent, reverse=True):                 # children have higher numbers
        if parent[k]:
            last_in_subtree[parent[k]] = max(last_in_subtree[parent[k]], last_in_subtree[k])
    networks, nodes, links = {}, {}, []

    def network(name, block, slot):
        v4, v6 = plan.slot(block, slot)
        networks[name] = {"ipv4": str(v4), "ipv6": str(v6)}
        return name

    t_v4, t_v6 = plan.blocks(0, 0)[0], plan.slot(0, 0)[1]
    networks["T"] = {"ipv4": str(t_v4), "ipv6": str(t_v6)}
    nodes["dut"] = {"role": "dut", "forwarding": True,
                    "interfaces": {"eth0": {"network": "T", "host": 1},
                                   "eth1": {"network": network("L1", 1, 0), "host": 1}},
                    "routes": [{"to": str(IPV4), "via": "r1:up"},
                               {"to": str(IPV6), "via": "r1:up"}]}
    nodes["tester"] = {"role": "tester", "interfaces": {
        "t0": {"network": "T", "identities": {"HOST-1": {"host": 2}}}}}
    links.append(["tester:t0", "dut:eth0"])
    links.append(["dut:eth1", "r1:up"])
    for k in sorted(parent):
        router = {"role": "router", "interfaces": {"up": {"network": f"L{k}", "host": 2}},
                  "routes": [{"to": "default",
                              "via": f"r{parent[k]}:c{k}" if parent[k] else "dut:eth1"}]}
        nodes[f"r{k}"] = router
        for j in range(hosts_per_router):
            net = network(f"H{k}-{j}", k, j + 1)
            router["interfaces"][f"h{j}"] = {"network": net, "host": 1}
            nodes[f"h{k}-{j}"] = {"role": "host",
                                  "interfaces": {"eth0": {"network": net, "host": 2}},
                                  "routes": [{"to": "default", "via": f"r{k}:h{j}"}]}
            links.append([f"r{k}:h{j}", f"h{k}-{j}:eth0"])
        if parent[k]:
            network(f"L{k}", k, 0)
            nodes[f"r{parent[k]}"]["interfaces"][f"c{k}"] = {"network": f"L{k}", "host": 1}
            links.append([f"r{parent[k]}:c{k}", f"r{k}:up"])
            for prefix in plan.blocks(k, last_in_subtree[k]):
                nodes[f"r{parent[k]}"]["routes"].append({"to": str(prefix),
                                                         "via": f"r{k}:up"})
    size = len(nodes)
    return {"name": f"{kind}-{size}",
            "description": f"Generated by topologies/generate.py: a {kind} of {routers} "
                           f"routers with {hosts_per_router} hosts each behind the DUT "
                           f"({size} nodes).",
            "networks": networks, "nodes": nodes, "links": links}


def main(argv=None):
    """Parse the command line and print the topology as YAML."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("chain", "tree"))
    parser.add_argument("--routers", type=int, default=10)
    parser.add_argument("--hosts-per-router", type=int, default=4)
    parser.add_argument("--fanout", type=int, default=2, help="children per router (tree)")
    args = parser.parse_args(argv)
    if args.routers < 1 or args.hosts_per_router < 0 or args.fanout < 1:
        parser.error("need at least one router, no negative hosts, a fanout of at least 1")
    data = generate(args.kind, args.routers, args.hosts_per_router, args.fanout)
    yaml.safe_dump(data, sys.stdout, sort_keys=False, default_flow_style=None, width=100)


if __name__ == "__main__":
    main()
