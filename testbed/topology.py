"""Topology files: a graph of nodes, veth links and an address plan.

A topology is read from YAML (see ``testbed/schema/topology.schema.json``),
checked against the schema, then checked for meaning: every link endpoint
names a declared node and interface, every interface sits in a known
network, addresses lie inside their prefixes, and so on.  Any fault is one
``InputError`` naming the file, the line and the problem.
"""

import hashlib
import ipaddress
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from . import paths, schemas, yamlsource
from .errors import InputError

ROLES = ("tester", "dut", "host", "router", "switch")
FAMILIES = ("ipv4", "ipv6")


@dataclass(frozen=True)
class Network:
    """A layer-2 segment with its IPv4 and IPv6 prefixes (either may be absent)."""

    name: str
    ipv4: ipaddress.IPv4Network | None = None
    ipv6: ipaddress.IPv6Network | None = None
    mtu: int = 1500

    def prefix(self, family):
        """The prefix of *family* ("ipv4"/"ipv6"), or None."""
        return getattr(self, family)


def link_local(mac):
    """The EUI-64 IPv6 link-local address of a MAC (RFC 4291 appendix A)."""
    octets = bytearray(int(part, 16) for part in mac.split(":"))
    octets[0] ^= 0x02
    eui = octets[:3] + b"\xff\xfe" + octets[3:]
    return ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + bytes(eui))


@dataclass
class Addressed:
    """Something on a network with a MAC and optional IPv4/IPv6 interface addresses."""

    mac: str
    ipv4: ipaddress.IPv4Interface | None = None
    ipv6: ipaddress.IPv6Interface | None = None

    def address(self, family):
        """The interface address of *family*, or None."""
        return getattr(self, family)

    @property
    def ipv6_link_local(self):
        """The link-local address derived from the MAC."""
        return link_local(self.mac)


@dataclass
class Identity(Addressed):
    """A host or router that the scenario runner emulates on a tester interface."""

    name: str = ""
    interface: str = ""          # the tester interface, "node:ifname"
    same_as: str | None = None   # the live_only interface it stands in for


@dataclass
class Interface(Addressed):
    """One interface of a node."""

    node: str = ""
    name: str = ""
    network: str | None = None
    mtu: int = 1500
    identities: dict = field(default_factory=dict)

    @property
    def ref(self):
        """The endpoint name, "node:ifname"."""
        return f"{self.node}:{self.name}"


@dataclass(frozen=True)
class Route:
    """A static route: destination prefix, optional gateway, optional device."""

    destination: ipaddress.IPv4Network | ipaddress.IPv6Network
    gateway: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    device: str | None = None

    @property
    def family(self):
        """ "ipv4" or "ipv6"."""
        return "ipv4" if self.destination.version == 4 else "ipv6"


@dataclass
class Node:
    """A node of the graph, with its role, interfaces, routes and forwarding."""

    name: str
    role: str
    interfaces: dict = field(default_factory=dict)
    routes: list = field(default_factory=list)
    forwarding: frozenset = frozenset()
    live_only: bool = False
    description: str = ""
    stack: str | None = None     # the stack it runs, if not its namespace's kernel


@dataclass(frozen=True)
class Shaping:
    """How a link is shaped, in both directions: a tc rate ("10mbit"); delay and loss need
    netem (``testbed/shaping.py`` says *unsupported* where the kernel lacks it)."""

    rate: str | None = None
    delay: str | None = None
    loss: str | None = None


@dataclass(frozen=True)
class Check:
    """One entry of the topology's ``checks:``: a kind and its arguments."""

    kind: str
    args: dict


@dataclass
class Topology:
    """A whole topology: networks, nodes, links and checks."""

    name: str
    source: Path
    description: str
    networks: dict
    nodes: dict
    links: list
    checks: list
    shaping: dict = field(default_factory=dict)   # (end a, end b) -> Shaping

    @property
    def dut(self):
        """The node with role ``dut``."""
        return next(node for node in self.nodes.values() if node.role == "dut")

    def interface(self, ref):
        """The Interface named by "node:ifname"."""
        node, _, ifname = ref.partition(":")
        return self.nodes[node].interfaces[ifname]

    @cached_property
    def identities(self):
        """All tester identities by name."""
        return {name: ident
                for node in self.nodes.values() if node.role == "tester"
                for intf in node.interfaces.values()
                for name, ident in intf.identities.items()}

    def dut_interface_facing(self, identity):
        """The DUT's interface on *identity*'s network, or None."""
        network = self.interface(identity.interface).network
        return next((i for i in self.dut.interfaces.values() if i.network == network), None)

    def first_address(self, node_name):
        """A node's first interface address, IPv4 before IPv6, as text (what a console
        puts for a node's name, as Mininet's does); None if it has none."""
        interfaces = self.nodes[node_name].interfaces.values()
        found = [i.address(f) for f in FAMILIES for i in interfaces if i.address(f) is not None]
        return str(found[0].ip) if found else None

    def nodes_with_role(self, *roles):
        """The nodes having one of *roles*, in file order."""
        return [node for node in self.nodes.values() if node.role in roles]

    def conformance_view(self):
        """This topology without its ``live_only`` nodes (what a scenario run builds)."""
        kept = {name: node for name, node in self.nodes.items() if not node.live_only}
        links = [link for link in self.links
                 if all(end.partition(":")[0] in kept for end in link)]
        return Topology(self.name, self.source, self.description, self.networks,
                        kept, links, [], {link: s for link, s in self.shaping.items()
                                          if link in links})


def find(name_or_path):
    """Resolve a topology name (from ``topologies/``) or a path to a file."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.is_file():
            raise InputError("no such topology file", candidate)
        return candidate
    path = paths.TOPOLOGIES / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in paths.TOPOLOGIES.glob("*.yaml")))
        raise InputError(f"unknown topology {name_or_path!r} (known: {known})")
    return path


def available():
    """The shipped topologies, loaded, by name."""
    return {p.stem: load(p) for p in sorted(paths.TOPOLOGIES.glob("*.yaml"))}


def load(name_or_path):
    """Load, validate and resolve a topology; raise InputError on any fault."""
    path = find(name_or_path)
    data = yamlsource.load(path)
    if not isinstance(data, dict):
        raise InputError("a topology must be a mapping with name, nodes and links", path,
                         getattr(data, "line", None) or 1)
    schemas.validate(data, path, "topology")
    return _Builder(data, path).build()


def _mac_for(*parts):
    """A stable, locally administered unicast MAC derived from *parts*."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return "02:" + ":".join(f"{b:02x}" for b in digest[:5])


class _Builder:
    """Turns checked YAML data into a Topology, checking cross-references."""

    def __init__(self, data, path):
        self.data, self.path = data, path
        self.networks, self.nodes = {}, {}

    def fail(self, message, *where):
        raise InputError(message, self.path, yamlsource.line_at(self.data, list(where)))

    def build(self):
        data = self.data
        for name, spec in (data.get("networks") or {}).items():
            self.networks[name] = self._network(name, spec)
        for name, spec in data["nodes"].items():
            self.nodes[name] = self._node(name, spec)
        duts = [n for n in self.nodes.values() if n.role == "dut"]
        if len(duts) != 1:
            self.fail(f"a topology needs exactly one node with role dut, found {len(duts)}", "nodes")
        links = self._links()
        self._check_segments(links)
        self._check_identity_names()
        self._check_unique_addresses()
        self._resolve_identities()
        for name, spec in data["nodes"].items():
            self.nodes[name].routes = self._routes(name, spec.get("routes") or [])
        checks = [self._check(i, entry) for i, entry in enumerate(data.get("checks") or [])]
        return Topology(data["name"], self.path, data.get("description", "").strip(),
                        self.networks, self.nodes, links, checks, self._shaping(links))

    def _shaping(self, links):
        """(end a, end b) -> Shaping for every link that gives a third item."""
        return {link: Shaping(**pair[2]) for link, pair in zip(links, self.data["links"])
                if len(pair) > 2}

    def _network(self, name, spec):
        prefixes = {}
        for family, cls in (("ipv4", ipaddress.IPv4Network), ("ipv6", ipaddress.IPv6Network)):
            if family in spec:
                try:
                    prefixes[family] = cls(spec[family], strict=True)
                except ValueError as exc:
                    self.fail(f"network {name}: bad {family} prefix {spec[family]!r}: {exc}",
                              "networks", name, family)
        return Network(name, mtu=spec.get("mtu", 1500), **prefixes)

    def _node(self, name, spec):
        role = spec["role"]
        forwarding = spec.get("forwarding", role == "router")
        if forwarding is True:
            forwarding = FAMILIES
        node = Node(name, role, forwarding=frozenset(forwarding or ()),
                    live_only=spec.get("live_only", False),
                    description=spec.get("description", ""), stack=spec.get("stack"))
        if role in ("tester", "switch") and node.stack:
            self.fail(f"node {name}: a {role} runs no stack", "nodes", name, "stack")
        if role in ("tester", "switch") and forwarding:
            self.fail(f"node {name}: a {role} does not forward", "nodes", name, "forwarding")
        if role in ("tester", "switch") and spec.get("routes"):
            self.fail(f"node {name}: a {role} has no routes", "nodes", name, "routes")
        if role == "switch" and spec.get("interfaces"):
            self.fail(f"node {name}: a switch's ports come from its links; declare none",
                      "nodes", name, "interfaces")
        for ifname, ispec in (spec.get("interfaces") or {}).items():
            node.interfaces[ifname] = self._interface(node, ifname, ispec or {})
        return node

    def _interface(self, node, ifname, spec):
        where = ("nodes", node.name, "interfaces", ifname)
        network = spec.get("network")
        if network is not None and network not in self.networks:
            self.fail(f"{node.name}:{ifname}: unknown network {network!r}", *where, "network")
        if node.role == "tester":
            for key in ("host", "ipv4", "ipv6"):
                if key in spec:
                    self.fail(f"{node.name}:{ifname}: a tester interface has no address of its "
                              "own (its kernel is silenced); give addresses to identities",
                              *where, key)
        elif spec.get("identities"):
            self.fail(f"{node.name}:{ifname}: only tester interfaces carry identities",
                      *where, "identities")
        net = self.networks.get(network)
        intf = Interface(mac=spec.get("mac", _mac_for(node.name, ifname)).lower(),
                         node=node.name, name=ifname, network=network,
                         mtu=spec.get("mtu", net.mtu if net else 1500))
        self._addresses(intf, spec, net, where)
        for name, ident in (spec.get("identities") or {}).items():
            identity = Identity(mac=(ident.get("mac") or _mac_for("identity", name)).lower(),
                                name=name, interface=intf.ref, same_as=ident.get("same_as"))
            if ident.get("same_as") and set(ident) - {"same_as"}:
                self.fail(f"identity {name}: same_as takes everything from "
                          f"{ident['same_as']}; give nothing else", *where, "identities", name)
            self._addresses(identity, ident, net, (*where, "identities", name))
            intf.identities[name] = identity
        return intf

    def _addresses(self, target, spec, net, where):
        """Fill ipv4/ipv6 of *target* from ``host:`` or explicit addresses, checking prefixes."""
        label = getattr(target, "ref", None) or target.name
        if ("host" in spec or "ipv4" in spec or "ipv6" in spec) and net is None:
            self.fail(f"{label}: an address needs the interface to be in a network", *where)
        for family in FAMILIES:
            prefix = net.prefix(family) if net else None
            if family in spec:
                try:
                    value = ipaddress.ip_interface(spec[family])   # family of what was written
                except ValueError as exc:
                    self.fail(f"{label}: bad {family} address {spec[family]!r}: {exc}", *where, family)
                if f"ipv{value.version}" != family:
                    self.fail(f"{label}: {spec[family]!r} is not an {family} address", *where, family)
                if prefix is None:
                    self.fail(f"{label}: network {net.name} has no {family} prefix", *where, family)
                if "/" not in spec[family]:
                    value = ipaddress.ip_interface(f"{value.ip}/{prefix.prefixlen}")
                if value.ip not in prefix:
                    self.fail(f"{label}: address {value} is outside its network "
                              f"{net.name} ({prefix})", *where, family)
                if value.network != prefix:
                    self.fail(f"{label}: address {value} has prefix length /{value.network.prefixlen}"
                              f" but its network {net.name} is {prefix}", *where, family)
            elif "host" in spec and prefix is not None:
                host = spec["host"]
                last = prefix.num_addresses - (2 if family == "ipv4" else 1)
                if host > last:
                    self.fail(f"{label}: host number {host} does not fit in {prefix}", *where, "host")
                # IPv6 takes the same digits: host 10 is .10 and ::10, as labs write it.
                offset = host if family == "ipv4" else int(str(host), 16)
                if offset > last:
                    self.fail(f"{label}: host number {host} does not fit in {prefix}", *where, "host")
                value = ipaddress.ip_interface(f"{prefix.network_address + offset}/{prefix.prefixlen}")
            else:
                continue
            if family == "ipv4" and value.ip in (prefix.network_address, prefix.broadcast_address) \
                    and prefix.prefixlen < 31:
                self.fail(f"{label}: {value.ip} is the network or broadcast address of {prefix}",
                          *where, family)
            setattr(target, family, value)

    def _endpoint(self, text, index, side):
        node_name, _, ifname = text.partition(":")
        node = self.nodes.get(node_name)
        if node is None:
            self.fail(f"link {text}: unknown node {node_name!r}", "links", index, side)
        if node.role == "switch":
            node.interfaces.setdefault(ifname, Interface(mac=_mac_for(node_name, ifname),
                                                         node=node_name, name=ifname))
        elif ifname not in node.interfaces:
            self.fail(f"link {text}: node {node_name} declares no interface {ifname!r}",
                      "links", index, side)
        return text

    def _links(self):
        links, used = [], {}
        for index, pair in enumerate(self.data["links"]):
            ends = tuple(self._endpoint(end, index, side) for side, end in enumerate(pair[:2]))
            if ends[0].partition(":")[0] == ends[1].partition(":")[0]:
                self.fail(f"link {ends[0]} – {ends[1]}: both ends on one node", "links", index)
            for side, end in enumerate(ends):
                if end in used:
                    self.fail(f"duplicate interface {end}: already used by the link on line "
                              f"{yamlsource.line_at(self.data, ['links', used[end]])}",
                              "links", index, side)
                used[end] = index
            links.append(ends)
        for node in self.nodes.values():
            for intf in node.interfaces.values():
                if node.role != "switch" and intf.ref not in used:
                    self.fail(f"interface {intf.ref} is declared but no link uses it",
                              "nodes", node.name, "interfaces", intf.name)
        return links

    def _check_segments(self, links):
        """Interfaces joined by links and switches must all be on one network."""
        parent = {}

        def root(x):
            while parent.setdefault(x, x) != x:
                x = parent[x]
            return x

        for a, b in links:
            for end in (a, b):
                node = end.partition(":")[0]
                if self.nodes[node].role == "switch":
                    parent[root(end)] = root(node)   # all ports of a switch share a segment
            parent[root(a)] = root(b)
        seen = {}
        for index, (a, b) in enumerate(links):
            for side, end in enumerate((a, b)):
                node, _, ifname = end.partition(":")
                if self.nodes[node].role == "switch":
                    continue
                network = self.nodes[node].interfaces[ifname].network
                segment = root(end)
                if segment in seen and seen[segment][0] != network:
                    self.fail(f"{end} is on network {network} but shares a segment with "
                              f"{seen[segment][1]} on network {seen[segment][0]}",
                              "links", index, side)
                seen.setdefault(segment, (network, end))

    def _check_unique_addresses(self):
        owners = {}
        for node in self.nodes.values():
            for intf in node.interfaces.values():
                for thing in (intf, *intf.identities.values()):
                    label = getattr(thing, "ref", None) or thing.name
                    for value in (thing.ipv4, thing.ipv6, thing.mac):
                        if value is None:
                            continue
                        key = value.ip if hasattr(value, "ip") else value
                        if key in owners:
                            self.fail(f"{label}: {key} is already used by {owners[key]}",
                                      "nodes", node.name, "interfaces", intf.name,
                                      *(("identities", thing.name) if thing is not intf else ()))
                        owners[key] = label

    def _check_identity_names(self):
        seen = {}
        for node in self.nodes.values():
            for intf in node.interfaces.values():
                for identity in intf.identities.values():
                    if identity.name in seen:
                        self.fail(f"identity {identity.name} is declared on both {seen[identity.name]} "
                                  f"and {intf.ref}", "nodes", node.name, "interfaces", intf.name,
                                  "identities", identity.name)
                    seen[identity.name] = intf.ref

    def _resolve_identities(self):
        for node in self.nodes.values():
            for intf in node.interfaces.values():
                for identity in intf.identities.values():
                    if identity.same_as:
                        self._take_over(node, intf, identity)

    def _take_over(self, node, intf, identity):
        where = ("nodes", node.name, "interfaces", intf.name, "identities", identity.name)
        other_node, _, other_if = identity.same_as.partition(":")
        target = self.nodes.get(other_node)
        if target is None or other_if not in target.interfaces:
            self.fail(f"identity {identity.name}: same_as names no interface "
                      f"{identity.same_as!r}", *where)
        if not target.live_only:
            self.fail(f"identity {identity.name}: {identity.same_as} must be live_only, or the "
                      "two would answer for the same addresses", *where)
        other = target.interfaces[other_if]
        if other.network != intf.network:
            self.fail(f"identity {identity.name}: {identity.same_as} is on network "
                      f"{other.network}, not {intf.network}", *where)
        identity.mac, identity.ipv4, identity.ipv6 = other.mac, other.ipv4, other.ipv6

    def _gateway(self, node, text, family, where):
        """(gateway address, device) for a route's ``via`` in *family*, or (None, None).

        A named gateway (node:ifname or identity) is reached at its global
        address in IPv4 and at its link-local address in IPv6, out of this
        node's interface on the gateway's network — as IPv6 routers are
        configured, and as RFC 4861 section 8 needs for Redirects to work.
        """
        if ":" in text and text.partition(":")[0] in self.nodes:
            other, _, ifname = text.partition(":")
            target = self.nodes[other].interfaces.get(ifname)
            if target is None:
                self.fail(f"route via {text}: no such interface", *where)
            network = target.network
        elif text in self._identities():
            target = self._identities()[text]
            network = self.topology_interface(target.interface).network
        else:
            try:
                gateway = ipaddress.ip_address(text)
            except ValueError:
                self.fail(f"route via {text!r}: not a node:ifname, an identity or an address",
                          *where)
            if gateway.is_link_local:
                self.fail(f"route via {text}: a link-local gateway needs a node:ifname or an "
                          "identity, so that its interface is known", *where)
            return (gateway, None) if f"ipv{gateway.version}" == family else (None, None)
        if target.address(family) is None:
            return None, None
        device = next((i.name for i in node.interfaces.values() if i.network == network), None)
        if device is None:   # off-link in either family: `ip route` would refuse it at `up`
            self.fail(f"route via {text}: node {node.name} has no interface on network "
                      f"{network}", *where)
        if family == "ipv4":
            return target.ipv4.ip, None
        return target.ipv6_link_local, device

    def topology_interface(self, ref):
        """The Interface named by "node:ifname" (while building)."""
        node, _, ifname = ref.partition(":")
        return self.nodes[node].interfaces[ifname]

    def _identities(self):
        return {name: ident for node in self.nodes.values()
                for intf in node.interfaces.values()
                for name, ident in intf.identities.items()}

    def _routes(self, node_name, specs):
        node, routes = self.nodes[node_name], []
        for index, spec in enumerate(specs):
            where = ("nodes", node_name, "routes", index)
            to = spec["to"]
            if to == "default":
                destinations = [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
            elif to in self.networks:
                net = self.networks[to]
                destinations = [p for p in (net.ipv4, net.ipv6) if p is not None]
            else:
                try:
                    destinations = [ipaddress.ip_network(to, strict=True)]
                except ValueError:
                    self.fail(f"route to {to!r}: not a network name, 'default' or a prefix",
                              *where, "to")
            dev = spec.get("dev")
            if dev is not None and dev not in node.interfaces:
                self.fail(f"route dev {dev!r}: node {node_name} has no such interface",
                          *where, "dev")
            made = []
            for dest in destinations:
                family = "ipv4" if dest.version == 4 else "ipv6"
                gateway, device = None, None
                if "via" in spec:
                    gateway, device = self._gateway(node, spec["via"], family, (*where, "via"))
                    if gateway is None:
                        continue
                made.append(Route(dest, gateway, dev or device))
            if not made:
                self.fail(f"route to {to}: no family in which both destination and gateway "
                          "have addresses", *where)
            routes.extend(made)
        return routes

    def _check(self, index, entry):
        (kind, args), = entry.items()
        where = ("checks", index, kind)
        for key, value in args.items():
            if key == "from" and kind in ("ping", "redirect") and value not in self.nodes:
                self.fail(f"check {kind}: unknown node {value!r}", *where, key)
            if key in ("to", "gateway") and kind != "forward":
                node, _, ifname = value.partition(":")
                if node not in self.nodes or ifname not in self.nodes[node].interfaces:
                    self.fail(f"check {kind}: unknown interface {value!r}", *where, key)
            if kind == "forward" and value not in self._identities():
                self.fail(f"check forward: unknown identity {value!r}", *where, key)
        return Check(kind, dict(args))
