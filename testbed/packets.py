"""Packets described as data: build them with scapy, match captured frames against them.

A packet is a list of layers, outermost first, each a scapy layer name with
field values: ``[{Ether: {dst: $DUT.eth0.mac}}, {ARP: {op: 1, pdst: $dut.eth0.ipv4}}]``.
Only layers from scapy's link, IPv4, IPv6 and ICMP modules are allowed, and
values are plain data — a ``$`` reference to a topology value, a number, a
string, raw bytes as ``{hex: ..}``, ``{mac_bytes: ..}`` or ``{size: N, fill: B}``
— never code.  In an expectation a field may also be ``any``,
``{min: .., max: ..}``, ``{in: [..]}``, ``{not: ..}``, or ``absent`` for a layer.
"""

import ipaddress

from scapy.layers import inet, inet6, l2
from scapy.packet import Packet, Padding, Raw

from .errors import InputError


def _layers():
    allowed = {}
    for module in (l2, inet, inet6):
        for name in dir(module):
            obj = getattr(module, name)
            if isinstance(obj, type) and issubclass(obj, Packet) and obj is not Packet:
                allowed[name] = obj
    allowed.update(Raw=Raw, Padding=Padding)
    return allowed


LAYERS = _layers()
ANY = "any"


class References:
    """Resolves ``$name.attr`` references against a topology.

    ``$HOST-1.mac``, ``$HOST-1.ipv4``, ``$HOST-1.ipv6``, ``$HOST-1.ipv6_link_local``
    (identities); ``$dut.eth0.ipv4`` and the same attributes for node interfaces;
    ``.prefix`` and ``.broadcast`` give the network's prefix and IPv4 broadcast.
    """

    def __init__(self, topology, extra=None):
        self.topology, self.extra = topology, dict(extra or {})

    def resolve(self, value):
        """*value* with every ``$`` reference replaced, recursively."""
        if isinstance(value, str) and value.startswith("$"):
            return self._lookup(value[1:])
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def _lookup(self, name):
        if name in self.extra:
            return self.extra[name]
        owner, _, attribute = name.rpartition(".")
        thing = self.topology.identities.get(owner)
        if thing is None and "." in owner:
            node, _, ifname = owner.partition(".")
            thing = self.topology.nodes.get(node, None) and \
                self.topology.nodes[node].interfaces.get(ifname)
        if thing is None:
            raise KeyError(f"${name}: no identity or node interface {owner!r}")
        if attribute == "mac":
            return thing.mac
        if attribute in ("ipv4", "ipv6"):
            address = thing.address(attribute)
            if address is None:
                raise KeyError(f"${name}: {owner} has no {attribute} address")
            return str(address.ip)
        if attribute == "ipv6_link_local":
            return str(thing.ipv6_link_local)
        if attribute in ("prefix", "broadcast", "prefix6"):
            address = thing.address("ipv6" if attribute == "prefix6" else "ipv4")
            if attribute == "broadcast":
                return str(address.network.broadcast_address)
            return str(address.network)
        raise KeyError(f"${name}: unknown attribute {attribute!r}")


def layer_class(name, where=None):
    """The scapy class for a layer name, or InputError."""
    if name not in LAYERS:
        raise InputError(f"unknown packet layer {name!r} (scapy link, IPv4, IPv6, ICMP "
                         "layers and Raw/Padding are allowed)", *(where or (None, None)))
    return LAYERS[name]


def build(spec, refs):
    """A scapy packet from a list of ``{Layer: {field: value}}`` (references resolved)."""
    packet = None
    for entry in spec:
        (name, fields), = entry.items()
        cls = layer_class(name)
        values = {k: _field_value(cls, k, v) for k, v in refs.resolve(fields or {}).items()}
        layer = cls(**values)
        packet = layer if packet is None else packet / layer
    return packet


def _field_value(cls, field, value):
    """Raw-byte forms for any field: {hex: "0a0b"}, {mac_bytes: "02:..."}, {size: N, fill: B}."""
    if isinstance(value, dict):
        if "hex" in value:
            return bytes.fromhex(value["hex"])
        if "mac_bytes" in value:
            return bytes.fromhex(value["mac_bytes"].replace(":", ""))
        if "size" in value:
            return bytes([value.get("fill", 0)]) * value["size"]
    if field == "load" and isinstance(value, str):
        return value.encode()
    return value


class Expectation:
    """A packet pattern: layers that must be present with given field values.

    A layer given as ``{Layer: absent}`` must not be present.
    """

    def __init__(self, spec, refs):
        self.layers = []
        for entry in spec:
            (name, fields), = entry.items()
            cls = layer_class(name)
            self.layers.append((cls, None if fields == "absent" else refs.resolve(fields or {})))

    def mismatches(self, frame):
        """The list of differences between *frame* and the pattern (empty: it matches)."""
        problems = []
        for cls, fields in self.layers:
            present = frame.haslayer(cls)
            if fields is None:
                if present:
                    problems.append(f"{cls.__name__} present")
                continue
            if not present:
                problems.append(f"no {cls.__name__}")
                continue
            for field, want in fields.items():
                got = _get(frame, cls, field)
                if not _agrees(got, want):
                    problems.append(f"{cls.__name__}.{field}={_show(got)} (expected {_show(want)})")
        return problems

    def matches(self, frame):
        """True if *frame* fits the pattern."""
        return not self.mismatches(frame)

    def describe(self):
        """The pattern in a line, e.g. ``ICMP type=5 code=1 gw=198.18.1.2``."""
        parts = []
        for cls, fields in self.layers:
            if fields is None:
                parts.append(f"no {cls.__name__}")
            elif fields:
                parts.append(cls.__name__ + " " + " ".join(f"{k}={_show(v)}"
                                                            for k, v in fields.items()))
            else:
                parts.append(cls.__name__)
        return "; ".join(parts)


def _get(frame, cls, field):
    layer = frame[cls]
    if field == "len_payload":
        return len(bytes(layer.payload))
    if field == "length":
        return len(bytes(layer))
    if field == "checksum_ok":
        return checksum_ok(frame, cls)
    return getattr(layer, field, None)


def checksum_ok(frame, cls):
    """True if *cls*'s checksum in *frame* is what rebuilding the frame computes."""
    copy = frame.__class__(bytes(frame))
    layer = copy[cls]
    field = next((f for f in ("chksum", "cksum") if f in layer.fields), None)
    if field is None:
        return True
    stated = layer.getfieldval(field)
    layer.setfieldval(field, None)
    return frame.__class__(bytes(copy))[cls].getfieldval(field) == stated


def _agrees(got, want):
    if want == ANY:
        return got is not None
    if isinstance(want, dict):
        if "min" in want or "max" in want:
            return got is not None and want.get("min", got) <= got <= want.get("max", got)
        if "in" in want:
            return any(_agrees(got, w) for w in want["in"])
        if "not" in want:
            return not _agrees(got, want["not"])
        if "hex" in want or "size" in want:
            return isinstance(got, bytes) and got == _field_value(None, None, want)
        if "startswith_hex" in want:
            return isinstance(got, bytes) and got.startswith(bytes.fromhex(want["startswith_hex"]))
    if isinstance(got, bytes) and isinstance(want, str):
        return got == want.encode()
    if isinstance(got, str) and isinstance(want, str):
        return _normal(got) == _normal(want)
    if isinstance(got, (list, tuple)) and isinstance(want, list):
        return list(got) == want
    return got == want


def _normal(text):
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text.lower()


def _show(value):
    if isinstance(value, bytes):
        return value[:16].hex() + ("…" if len(value) > 16 else "")
    return str(value)


def resolution_probe(identity, target, family):
    """(stimulus, match) asking for *target*'s address from *identity*: ARP or NDP.

    *match* accepts the answer: an ARP reply from the target's address, or a
    Neighbor Advertisement for it.
    """
    from scapy.layers.inet6 import (ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr, IPv6,
                                    in6_getnsma, in6_getnsmac)
    from scapy.layers.l2 import ARP, Ether
    from socket import AF_INET6, inet_ntop, inet_pton
    if family == "ipv4":
        wanted = str(target.ipv4.ip)
        stimulus = (Ether(src=identity.mac, dst="ff:ff:ff:ff:ff:ff") /
                    ARP(op=1, hwsrc=identity.mac, psrc=str(identity.ipv4.ip), pdst=wanted))
        return stimulus, lambda f: ARP in f and f[ARP].op == 2 and f[ARP].psrc == wanted
    wanted = str(target.ipv6.ip)
    group = in6_getnsma(inet_pton(AF_INET6, wanted))
    stimulus = (Ether(src=identity.mac, dst=in6_getnsmac(group)) /
                IPv6(src=str(identity.ipv6.ip), dst=inet_ntop(AF_INET6, group), hlim=255) /
                ICMPv6ND_NS(tgt=wanted) / ICMPv6NDOptSrcLLAddr(lladdr=identity.mac))
    return stimulus, lambda f: ICMPv6ND_NA in f and f[ICMPv6ND_NA].tgt == wanted
