"""The DUT control contract: what the test bed can ask of any stack under test.

Every stack adapter subclasses ``Dut``.  Each public method under "the
contract" declares one operation, once, with ``@operation``: the method's name
and signature are the operation's name and arguments, each annotation the
function every argument goes through (``int``, ``ip_address``…); the decorator
adds the capability it needs, its control-protocol op (``stacks/PROTOCOL.md``)
and its console usage, and the docstring is its help line.  ``OPERATIONS``
collects them; the scenario checker, the console and the process-stack client
derive from it.

Calling an operation converts the arguments, checks that the adapter declared
the capability, and hands them to the adapter's hook (``_add_route`` and so
on).  A capability the adapter lacks raises ``Unsupported`` — never a silent
no-op — so a scenario that needs it is reported *unsupported*, not *fail*.
"""

import functools
import inspect
import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import ip_address, ip_interface, ip_network

from ..errors import ControlError, Unsupported
from .control import OP_TIMEOUT


class Capability(StrEnum):
    """What an adapter may be able to do."""

    LINK = "link"               # interface up/down
    MTU = "mtu"                 # interface MTU
    ADDRESSES = "addresses"     # add/remove IPv4/IPv6 addresses
    ROUTES = "routes"           # add/remove routes, default included
    NEIGHBORS = "neighbors"     # show/flush/add ARP and NDP entries
    FORWARDING = "forwarding"   # IP forwarding on/off
    PING = "ping"               # ICMP echo from the DUT
    UDP = "udp"                 # send a datagram / listen on a port from the DUT
    KNOBS = "knobs"             # stack-specific settings (sysctls for Linux)
    ADVERTISE = "advertise"     # send Router Advertisements (RFC 4861 §6.2) as a router
    IPV6 = "ipv6"               # any of the above for IPv6


@dataclass(frozen=True)
class Operation:
    """One operation of the contract, as its ``Dut`` method declares it."""

    name: str                       # the Dut method; the verb of scenario files and the console
    signature: inspect.Signature    # its arguments (without self)
    capability: Capability          # what the adapter must declare to be asked it
    protocol: str                   # the control-protocol op that carries it (stacks/PROTOCOL.md)
    refusal: str                    # what a stack without it "cannot": "add a route", "set {name}"
    usage: str                      # its console arguments: "INTERFACE up|down"
    help: str                       # one line for `dut help`: the method's docstring
    scenario: bool                  # scenario files may use it


OPERATIONS: dict[str, Operation] = {}   # name -> declaration, in declaration order


def operation(capability, *, protocol, refusal, usage, scenario=False):
    """Declare the decorated ``Dut`` method an operation of the contract, into OPERATIONS."""
    def declare(method):
        signature = inspect.signature(method)
        declared = Operation(
            method.__name__, signature.replace(parameters=list(signature.parameters.values())[1:]),
            capability, protocol, refusal, usage,
            inspect.getdoc(method).splitlines()[0].replace("*", ""), scenario)
        OPERATIONS[declared.name] = declared

        @functools.wraps(method)
        def call(self, *args, **kwargs):
            bound = declared.signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = {name: _convert(declared.signature.parameters[name], value)
                         for name, value in bound.arguments.items()}
            self.require(capability, _family(arguments), refusal.format(**arguments))
            return self._perform(declared, arguments)
        return call
    return declare


def _convert(parameter, value):
    return None if value is None else parameter.annotation(value)


_IP = (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network, ipaddress.IPv6Network)


def _family(arguments):
    """The family an operation is for: its first address's, else its ``family`` argument's."""
    for value in arguments.values():
        if isinstance(value, _IP):
            return family_of(value)
    return arguments.get("family") or "ipv4"


def flag(value):
    """A bool from a bool or a word: up/on/true/yes or down/off/false/no."""
    if not isinstance(value, str):
        return bool(value)
    words = {"up": True, "on": True, "true": True, "yes": True,
             "down": False, "off": False, "false": False, "no": False}
    if value.lower() not in words:
        raise ValueError(f"{value!r} is not one of {'/'.join(words)}")
    return words[value.lower()]


def route_destination(destination):
    """A route's destination network from a prefix, "default" (or "default4") or "default6"."""
    text = str(destination)
    if text in ("default", "default4"):
        return ipaddress.ip_network("0.0.0.0/0")
    if text == "default6":
        return ipaddress.ip_network("::/0")
    return ipaddress.ip_network(text, strict=False)


def payload_bytes(payload):
    """A datagram's payload from bytes, text (UTF-8) or {hex: "..."}."""
    if isinstance(payload, str):
        return payload.encode()
    if isinstance(payload, dict) and "hex" in payload:
        return bytes.fromhex(payload["hex"])
    return bytes(payload)


@dataclass(frozen=True)
class Neighbor:
    """One ARP or NDP cache entry."""

    address: str
    interface: str
    mac: str | None
    state: str


@dataclass(frozen=True)
class PingReply:
    """One echo reply the DUT received."""

    source: str
    seq: int
    ttl: int
    size: int
    rtt_ms: float


@dataclass
class PingResult:
    """What a ping from the DUT saw: replies, and any error reports (e.g. unreachable)."""

    destination: str
    transmitted: int = 0
    replies: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    @property
    def received(self):
        """How many echo replies came back."""
        return len(self.replies)


@dataclass(frozen=True)
class Datagram:
    """A UDP datagram the DUT received."""

    source: str
    source_port: int
    payload: bytes


def family_of(address):
    """ "ipv4" or "ipv6" for an address, interface or network given as text or object."""
    text = str(address)
    if text in ("default", "default4"):
        return "ipv4"
    if text == "default6":
        return "ipv6"
    return "ipv6" if ":" in text else "ipv4"


class Dut:
    """Base of every stack adapter: the control contract the scenario runner uses.

    An adapter is built with the DUT's Mininet node, the topology's DUT node
    (its baseline: interfaces, addresses, routes, forwarding), the stack's
    manifest and the run.  Subclasses set ``capabilities`` and implement the
    hooks for exactly those capabilities.
    """

    capabilities = frozenset()
    presets = ()   # sysctls for the DUT namespace before its links exist
    kernel_silent = False   # True when the stack runs outside the namespace's silenced kernel

    def __init__(self, node, baseline, manifest, run):
        self.node, self.baseline, self.manifest, self.run = node, baseline, manifest, run

    @property
    def name(self):
        """The stack's name (from its manifest)."""
        return self.manifest.name

    @functools.cached_property
    def folder(self):
        """Where this node's stack keeps its files: the run's folder for the DUT, a
        sub-folder named after the node (made here, once) for any other node running a
        stack."""
        if self.baseline.role == "dut":
            return self.run.dir
        folder = self.run.dir / self.baseline.name
        folder.mkdir(exist_ok=True)
        return folder

    def supports(self, capability, family="ipv4"):
        """True if the adapter can do *capability* (for *family*)."""
        return capability in self.capabilities and (
            family != "ipv6" or Capability.IPV6 in self.capabilities)

    def shell(self, script, what):
        """Run *script* in the DUT's namespace; raise ControlError naming *what* if it fails."""
        out, rc = self.node.run(script)
        if rc:
            raise ControlError(f"{self.name} DUT: {what} failed: {out.strip() or f'exit {rc}'}")
        return out

    def require(self, capability, family="ipv4", operation=None):
        """Raise Unsupported unless the adapter can do *capability* (for *family*)."""
        if self.supports(capability, family):
            return
        what = operation or capability.value
        raise Unsupported(self.name, f"{what} for IPv6" if capability in self.capabilities
                          else what)

    def _perform(self, operation, arguments):
        """Carry out a contract *operation* with its converted *arguments*: call its hook."""
        return getattr(self, f"_{operation.name}")(*arguments.values())

    # -- lifecycle: every adapter implements these --------------------------

    def start(self):
        """Start the stack and bring it to the topology's baseline."""
        raise NotImplementedError

    def stop(self):
        """Stop the stack; after this no process of it remains."""
        raise NotImplementedError

    def alive(self):
        """True if the stack is running and answers its control channel.

        By default: the DUT namespace's shell answers within OP_TIMEOUT; a stack
        running as a process of its own adds its own check.
        """
        from ..nodeshell import NodeGone   # here: the contract itself needs no Mininet
        try:
            return self.node.run("true", timeout=OP_TIMEOUT)[1] == 0
        except NodeGone:
            return False

    def reset(self):
        """Return to the baseline: caches flushed, addresses, routes and knobs restored."""
        raise NotImplementedError

    # -- the contract: one declaration per operation --------------------------

    @operation(Capability.LINK, protocol="link_set", refusal="set link state",
               usage="INTERFACE up|down", scenario=True)
    def set_link(self, interface: str, up: flag):
        """Bring *interface* up or down."""

    @operation(Capability.MTU, protocol="mtu_set", refusal="set the MTU",
               usage="INTERFACE BYTES", scenario=True)
    def set_mtu(self, interface: str, mtu: int):
        """Set the MTU of *interface*."""

    @operation(Capability.ADDRESSES, protocol="addr_add", refusal="add an address",
               usage="INTERFACE ADDRESS/LENGTH", scenario=True)
    def add_address(self, interface: str, address: ip_interface):
        """Add *address* (with its prefix length) to *interface*."""

    @operation(Capability.ADDRESSES, protocol="addr_del", refusal="remove an address",
               usage="INTERFACE ADDRESS/LENGTH", scenario=True)
    def remove_address(self, interface: str, address: ip_interface):
        """Remove *address* from *interface*."""

    @operation(Capability.ROUTES, protocol="route_add", refusal="add a route",
               usage="PREFIX|default|default6 [GATEWAY] [INTERFACE]", scenario=True)
    def add_route(self, destination: route_destination, gateway: ip_address = None,
                  interface: str = None):
        """Add a route to *destination*: a prefix, default (IPv4) or default6."""

    @operation(Capability.ROUTES, protocol="route_del", refusal="remove a route",
               usage="PREFIX|default|default6 [GATEWAY] [INTERFACE]", scenario=True)
    def remove_route(self, destination: route_destination, gateway: ip_address = None,
                     interface: str = None):
        """Remove a route to *destination*."""

    @operation(Capability.NEIGHBORS, protocol="neigh_list", refusal="show neighbours",
               usage="[INTERFACE]")
    def neighbors(self, interface: str = None):
        """The ARP and NDP entries (of *interface*, or all)."""

    @operation(Capability.NEIGHBORS, protocol="neigh_add", refusal="add a neighbour",
               usage="INTERFACE ADDRESS MAC", scenario=True)
    def add_neighbor(self, interface: str, address: ip_address, mac: str):
        """Add a static neighbour entry *address* → *mac* on *interface*."""

    @operation(Capability.NEIGHBORS, protocol="neigh_flush", refusal="flush neighbours",
               usage="[INTERFACE] [ipv4|ipv6]", scenario=True)
    def flush_neighbors(self, interface: str = None, family: str = None):
        """Forget neighbour entries, static ones too (of *interface*, *family*, or all)."""

    @operation(Capability.FORWARDING, protocol="forwarding_set", refusal="set forwarding",
               usage="ipv4|ipv6 on|off", scenario=True)
    def set_forwarding(self, family: str, enabled: flag):
        """Turn IP forwarding for *family* on or off."""

    @operation(Capability.PING, protocol="echo", refusal="ping",
               usage="DESTINATION [count=1] [size=56] [ttl=N] [dont_fragment=yes] [timeout=1] "
                     "[interval=0.2] [source=ADDRESS]", scenario=True)
    def ping(self, destination: ip_address, count: int = 1, size: int = 56, ttl: int = None,
             dont_fragment: flag = False, timeout: float = 1.0, interval: float = 0.2,
             source: str = None):
        """Send *count* echo requests from the DUT; report the replies and errors."""

    @operation(Capability.UDP, protocol="udp_send", refusal="send UDP",
               usage="DESTINATION PORT TEXT [source_port=N]", scenario=True)
    def send_udp(self, destination: ip_address, port: int, payload: payload_bytes,
                 source_port: int = None):
        """Send one UDP datagram from the DUT (payload: text, bytes or {hex: ...})."""

    @operation(Capability.UDP, protocol="udp_listen", refusal="listen on UDP",
               usage="PORT [ipv4|ipv6] [seconds=5]")
    def listen_udp(self, port: int, family: str = "ipv4"):
        """Listen on UDP *port* for datagrams to the DUT.

        Returns a listener: ``datagrams(timeout)`` reads what arrives, ``close()`` stops.
        """

    @operation(Capability.KNOBS, protocol="knob_set", refusal="set {name}",
               usage="NAME VALUE", scenario=True)
    def set_knob(self, name: str, value: str):
        """Set a stack-specific setting (a sysctl for Linux)."""

    @operation(Capability.KNOBS, protocol="knob_get", refusal="read {name}", usage="NAME")
    def get_knob(self, name: str):
        """Read a stack-specific setting (a sysctl for Linux)."""

    @operation(Capability.ADVERTISE, protocol="ra_start", refusal="send Router Advertisements",
               usage="INTERFACE PREFIX [lifetime=1800] [interval=600] [valid_lifetime=2592000] "
                     "[preferred_lifetime=604800] [autonomous=yes]", scenario=True)
    def advertise(self, interface: str, prefix: ip_network, lifetime: int = 1800,
                  interval: float = 600.0, valid_lifetime: int = 2592000,
                  preferred_lifetime: int = 604800, autonomous: flag = True):
        """Make *interface* an advertising interface (RFC 4861 §6.2.1) with *prefix* on-link.

        It sends Router Advertisements with Router Lifetime *lifetime*, unsolicited
        at most *interval* s apart (MaxRtrAdvInterval, 4 s or more; MinRtrAdvInterval
        a third of it, or three quarters below 9 s, within the RFC's bounds) and in answer to
        Router Solicitations, each with its link-layer address and one Prefix
        Information option: L set, A as *autonomous*, the given lifetimes.  Reset
        stops it.
        """
