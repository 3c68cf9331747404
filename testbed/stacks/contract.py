"""The DUT control contract: what the test bed can ask of any stack under test.

Every stack adapter subclasses ``Dut``.  The public methods below are the
contract; each checks that the adapter declared the capability it needs and
then calls the adapter's hook (``_add_route`` and so on).  A capability the
adapter lacks raises ``Unsupported`` — never a silent no-op — so a scenario
that needs it is reported *unsupported*, not *fail*.
"""

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum

from ..errors import ControlError, Unsupported


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
    IPV6 = "ipv6"               # any of the above for IPv6


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

    def __init__(self, node, baseline, manifest, run):
        self.node, self.baseline, self.manifest, self.run = node, baseline, manifest, run

    @property
    def name(self):
        """The stack's name (from its manifest)."""
        return self.manifest.name

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

    # -- lifecycle: every adapter implements these --------------------------

    def start(self):
        """Start the stack and bring it to the topology's baseline."""
        raise NotImplementedError

    def stop(self):
        """Stop the stack; after this no process of it remains."""
        raise NotImplementedError

    def alive(self):
        """True if the stack is running and answers its control channel.

        By default: the DUT namespace's shell answers within a second; a stack
        running as a process of its own adds its own check.
        """
        from ..network import NodeGone   # here: the contract itself needs no Mininet
        try:
            return self.node.run("true", timeout=1.0)[1] == 0
        except NodeGone:
            return False

    def reset(self):
        """Return to the baseline: caches flushed, addresses, routes and knobs restored."""
        raise NotImplementedError

    # -- the contract --------------------------------------------------------

    def set_link(self, interface, up):
        """Bring *interface* up or down."""
        self.require(Capability.LINK, operation="set link state")
        self._set_link(interface, up)

    def set_mtu(self, interface, mtu):
        """Set the MTU of *interface*."""
        self.require(Capability.MTU, operation="set the MTU")
        self._set_mtu(interface, int(mtu))

    def add_address(self, interface, address):
        """Add *address* ("198.18.1.9/24", "2001:2:0:1::9/64") to *interface*."""
        address = ipaddress.ip_interface(address)
        self.require(Capability.ADDRESSES, family_of(address), "add an address")
        self._add_address(interface, address)

    def remove_address(self, interface, address):
        """Remove *address* from *interface*."""
        address = ipaddress.ip_interface(address)
        self.require(Capability.ADDRESSES, family_of(address), "remove an address")
        self._remove_address(interface, address)

    def add_route(self, destination, gateway=None, interface=None):
        """Add a route to *destination* (a prefix, or "default"/"default6")."""
        destination = _destination(destination)
        self.require(Capability.ROUTES, family_of(destination), "add a route")
        self._add_route(destination, _gateway(gateway), interface)

    def remove_route(self, destination, gateway=None, interface=None):
        """Remove a route to *destination*."""
        destination = _destination(destination)
        self.require(Capability.ROUTES, family_of(destination), "remove a route")
        self._remove_route(destination, _gateway(gateway), interface)

    def neighbors(self, interface=None):
        """The ARP and NDP entries (of *interface*, or all)."""
        self.require(Capability.NEIGHBORS, operation="show neighbours")
        return self._neighbors(interface)

    def add_neighbor(self, interface, address, mac):
        """Add a static neighbour entry *address* → *mac* on *interface*."""
        address = ipaddress.ip_address(address)
        self.require(Capability.NEIGHBORS, family_of(address), "add a neighbour")
        self._add_neighbor(interface, address, mac)

    def flush_neighbors(self, interface=None, family=None):
        """Forget dynamic and static neighbour entries (of *interface*, of *family*, or all)."""
        self.require(Capability.NEIGHBORS, family or "ipv4", "flush neighbours")
        self._flush_neighbors(interface, family)

    def set_forwarding(self, family, enabled):
        """Turn IP forwarding for *family* ("ipv4"/"ipv6") on or off."""
        self.require(Capability.FORWARDING, family, "set forwarding")
        self._set_forwarding(family, bool(enabled))

    def ping(self, destination, count=1, size=56, ttl=None, dont_fragment=False,
             timeout=1.0, interval=0.2, source=None):
        """Send *count* echo requests from the DUT; return a PingResult."""
        destination = ipaddress.ip_address(destination)
        self.require(Capability.PING, family_of(destination), "ping")
        return self._ping(destination, count, size, ttl, dont_fragment, timeout, interval, source)

    def send_udp(self, destination, port, payload, source_port=None):
        """Send one UDP datagram from the DUT (payload: bytes, text, or {hex: ...})."""
        destination = ipaddress.ip_address(destination)
        self.require(Capability.UDP, family_of(destination), "send UDP")
        if isinstance(payload, str):
            payload = payload.encode()
        elif isinstance(payload, dict) and "hex" in payload:
            payload = bytes.fromhex(payload["hex"])
        self._send_udp(destination, int(port), bytes(payload), source_port)

    def listen_udp(self, port, family="ipv4"):
        """Start listening on UDP *port*; return a listener with ``datagrams(timeout)`` and ``close()``."""
        self.require(Capability.UDP, family, "listen on UDP")
        return self._listen_udp(int(port), family)

    def set_knob(self, name, value):
        """Set a stack-specific setting (a sysctl for Linux)."""
        self.require(Capability.KNOBS, operation=f"set {name}")
        self._set_knob(name, str(value))

    def get_knob(self, name):
        """Read a stack-specific setting."""
        self.require(Capability.KNOBS, operation=f"read {name}")
        return self._get_knob(name)


def _destination(destination):
    text = str(destination)
    if text in ("default", "default4"):
        return ipaddress.ip_network("0.0.0.0/0")
    if text == "default6":
        return ipaddress.ip_network("::/0")
    return ipaddress.ip_network(text, strict=False)


def _gateway(gateway):
    return None if gateway is None else ipaddress.ip_address(gateway)
