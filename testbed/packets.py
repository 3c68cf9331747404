"""Packets described as data: build them with scapy, match captured frames against them.

A packet is a list of layers, outermost first, each a scapy layer name with
field values: ``[{Ether: {dst: $DUT.eth0.mac}}, {ARP: {op: 1, pdst: $dut.eth0.ipv4}}]``.
A packet sent by an identity takes the addressing it leaves out from the
sender and the DUT interface on its network (``Addressing``), as gVisor's
packetimpact layers do, so a scenario shows only what is under test.
Only layers from scapy's link, IPv4, IPv6 and ICMP modules are allowed, and
values are plain data — a ``$`` reference to a topology value, a number, a
string, raw bytes as ``{hex: ..}``, ``{mac_bytes: ..}`` or ``{size: N, fill: B}``
— never code.  In an expectation a field may also be ``any``,
``{min: .., max: ..}``, ``{in: [..]}``, ``{not: ..}``, ``{in_prefix: CIDR}`` (an
address inside a prefix), or ``absent`` for a layer.
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
    ``.solicited_node`` and ``.solicited_node_link_local`` give the solicited-node
    multicast address of the global and of the link-local IPv6 address;
    ``.prefix`` and ``.broadcast`` give the network's prefix and IPv4 broadcast.
    """

    def __init__(self, topology):
        self.topology = topology

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
        if attribute in ("solicited_node", "solicited_node_link_local"):
            address = (thing.ipv6_link_local if attribute.endswith("link_local")
                       else thing.address("ipv6") and thing.address("ipv6").ip)
            if address is None:
                raise KeyError(f"${name}: {owner} has no ipv6 address")
            return solicited_node(address)
        if attribute in ("prefix", "broadcast", "prefix6"):
            address = thing.address("ipv6" if attribute == "prefix6" else "ipv4")
            if attribute == "broadcast":
                return str(address.network.broadcast_address)
            return str(address.network)
        raise KeyError(f"${name}: unknown attribute {attribute!r}")


def solicited_node(address):
    """The solicited-node multicast address of an IPv6 *address* (RFC 4291 §2.7.1)."""
    low = int(ipaddress.IPv6Address(str(address))) & 0xFFFFFF
    return str(ipaddress.IPv6Address(int(ipaddress.IPv6Address("ff02::1:ff00:0")) | low))


def layer_class(name):
    """The scapy class for a layer name, or InputError."""
    if name not in LAYERS:
        raise InputError(f"unknown packet layer {name!r} (scapy link, IPv4, IPv6, ICMP "
                         "layers and Raw/Padding are allowed)")
    return LAYERS[name]


BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"


class Addressing:
    """The addressing a packet sent by an identity leaves out.

    From the sender: Ether ``src``, IP/IPv6 ``src`` (its link-local address
    when the destination is link-local), ARP ``hwsrc``/``psrc``.  From the DUT
    interface on the sender's network: IP/IPv6 ``dst`` and ARP ``pdst``.
    Ether ``dst`` follows the packet's own destination, as a host's would:
    the broadcast address for an ARP request, a limited or the network's
    directed broadcast; the mapped group address for IPv4 (RFC 1112 §6.4) or
    IPv6 (RFC 2464 §7) multicast; otherwise the DUT interface's MAC.  Only
    the first layer of each kind is filled in; a field given is never changed.
    """

    def __init__(self, topology, sender):
        self.sender = topology.identities.get(sender)
        self.dut = self.sender and topology.dut_interface_facing(self.sender)

    def fill(self, layers):
        """*layers* ([(name, resolved fields)]) with the missing addressing filled in."""
        if self.sender is None:
            return layers
        if not layers or layers[0][0] != "Ether":
            layers = [("Ether", {}), *layers]
        filled, seen = [], set()
        for name, fields in layers:
            if name not in seen and name in ("IP", "IPv6", "ARP"):
                fields = {**getattr(self, f"_{name.lower()}")(fields), **fields}
            seen.add(name)
            filled.append((name, fields))
        ether = filled[0][1]
        filled[0] = ("Ether", {"src": self.sender.mac,
                               "dst": self._link_destination(filled[1:]), **ether})
        return filled

    def _dut_address(self, family):
        address = self.dut and self.dut.address(family)
        return None if address is None else str(address.ip)

    def _ip(self, fields):
        return _present(src=self.sender.ipv4 and str(self.sender.ipv4.ip),
                        dst=self._dut_address("ipv4"))

    def _ipv6(self, fields):
        destination = fields.get("dst") or self._dut_address("ipv6")
        link_scoped = destination is not None and ipaddress.ip_address(destination).is_link_local
        source = (self.sender.ipv6_link_local if link_scoped
                  else self.sender.ipv6 and self.sender.ipv6.ip)
        return _present(src=source and str(source), dst=destination)

    def _arp(self, fields):
        return _present(hwsrc=self.sender.mac,
                        psrc=self.sender.ipv4 and str(self.sender.ipv4.ip),
                        pdst=self._dut_address("ipv4"))

    def _link_destination(self, layers):
        """The Ether dst a host would use for the (filled-in) layers after Ether."""
        if not layers:
            return self.dut and self.dut.mac
        name, fields = layers[0]
        if name == "ARP":
            return BROADCAST_MAC if fields.get("op", 1) in (1, "who-has") else self.dut.mac
        if name in ("IP", "IPv6") and fields.get("dst") is not None:
            address = ipaddress.ip_address(fields["dst"])
            if address.is_multicast:
                return _multicast_mac(address)
            network = self.sender.ipv4 and self.sender.ipv4.network
            if address.version == 4 and (address == ipaddress.IPv4Address("255.255.255.255")
                                         or (network and address == network.broadcast_address)):
                return BROADCAST_MAC
        return self.dut and self.dut.mac


def _present(**fields):
    return {k: v for k, v in fields.items() if v is not None}


def _multicast_mac(address):
    """The Ethernet group address of an IPv4 (RFC 1112 §6.4) or IPv6 (RFC 2464 §7) group."""
    raw = address.packed
    if address.version == 4:
        octets = bytes([0x01, 0x00, 0x5e, raw[1] & 0x7f, raw[2], raw[3]])
    else:
        octets = b"\x33\x33" + raw[-4:]
    return ":".join(f"{b:02x}" for b in octets)


def build(spec, refs, sender=None):
    """A scapy packet from a list of ``{Layer: {field: value}}`` (references resolved).

    A packet *sender* (an identity's name) sends takes the addressing it leaves
    out from ``Addressing``.
    """
    layers = [next(iter(entry.items())) for entry in spec]
    layers = [(name, refs.resolve(fields or {})) for name, fields in layers]
    layers = Addressing(refs.topology, sender).fill(layers)
    if not layers or layers[0][0] != "Ether" or layers[0][1].get("dst") is None:
        raise InputError("the packet needs an Ether layer with dst (only a packet an identity "
                         "sends to the DUT's network gets them by default)")
    packet, added = None, len(layers) - len(spec)    # an Ether layer the defaults put first
    for index, (name, fields) in enumerate(layers):
        cls = layer_class(name)
        try:
            layer = cls(**{k: _field_value(cls, k, v) for k, v in fields.items()})
        except Exception as exc:   # scapy's own complaint, e.g. a field the layer lacks
            error = InputError(f"scapy cannot build layer {name}: {type(exc).__name__} {exc}")
            error.layer = max(0, index - added)
            raise error from None
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


def field_of(frame, name):
    """The value of ``"Layer.field"`` in *frame* (None if the layer is absent)."""
    layer, _, field = name.partition(".")
    cls = layer_class(layer)
    return _get(frame, cls, field) if frame.haslayer(cls) else None


class Fragments:
    """The fragments of one IPv4 or IPv6 datagram as they arrive, and whether they cover
    its *total* payload octets exactly (RFC 791 §3.2; RFC 8200 §4.5).

    The first fragment taken fixes the datagram (source, destination,
    identification); a fragment of another datagram does not ``belong``.
    """

    def __init__(self, total, mtu=None):
        self.total, self.mtu = total, mtu
        self.key, self.pieces, self.sizes = None, [], []

    @staticmethod
    def _parts(frame):
        """(key, offset, length, more fragments) of a fragment, or None if *frame* is none."""
        from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment
        if IPv6ExtHdrFragment in frame:
            header = frame[IPv6ExtHdrFragment]
            return ((frame[IPv6].src, frame[IPv6].dst, header.id), header.offset * 8,
                    len(bytes(header.payload)), bool(header.m))
        if inet.IP in frame:
            ip = frame[inet.IP]
            more = bool(int(ip.flags) & 1)
            if not more and ip.frag == 0:
                return None
            length = ip.len - ip.ihl * 4
            return (ip.src, ip.dst, ip.proto, ip.id), ip.frag * 8, length, more
        return None

    def belongs(self, frame):
        """True if *frame* is a fragment of this datagram (the first one decides which)."""
        parts = self._parts(frame)
        return parts is not None and (self.key is None or parts[0] == self.key)

    def add(self, frame):
        """Take one fragment that ``belongs``."""
        key, offset, length, more = self._parts(frame)
        self.key = key
        self.pieces.append((offset, length, more))
        self.sizes.append(len(bytes(frame.payload)))

    def complete(self):
        """True once the last fragment and every octet up to it have arrived."""
        covered = sorted((o, o + n) for o, n, _ in self.pieces)
        end = 0
        for start, stop in covered:
            if start > end:
                return False
            end = max(end, stop)
        return any(not more for *_, more in self.pieces) and end >= self.total

    def problem(self):
        """What is wrong with the complete set (overlap, wrong end, size), or None."""
        pieces = sorted(self.pieces)
        for (o1, n1, _), (o2, _, _) in zip(pieces, pieces[1:]):
            if o1 + n1 != o2:
                return f"fragment at offset {o1} ({n1} octets) is followed by one at {o2}"
        last = pieces[-1]
        if last[2] or last[0] + last[1] != self.total:
            return (f"the fragments end at octet {last[0] + last[1]} "
                    f"({'more' if last[2] else 'no more'} fragments), not at {self.total}")
        if any(n % 8 for o, n, more in pieces if more):
            return "a fragment other than the last does not carry a multiple of 8 octets"
        if self.mtu is not None and max(self.sizes) > self.mtu:
            return f"a fragment of {max(self.sizes)} octets exceeds the MTU of {self.mtu}"
        return None

    def describe(self):
        """The fragments seen so far, for a verdict's reason."""
        if not self.pieces:
            return "got none"
        return "got " + ", ".join(f"{o}+{n}{'+MF' if m else ''}" for o, n, m in sorted(self.pieces))


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
        if "in_prefix" in want:
            return _in_prefix(got, want["in_prefix"])
    if isinstance(got, bytes) and isinstance(want, str):
        return got == want.encode()
    if isinstance(got, str) and isinstance(want, str):
        return _normal(got) == _normal(want)
    if isinstance(got, (list, tuple)) and isinstance(want, list):
        return list(got) == want
    return got == want


def _in_prefix(got, prefix):
    """True if *got* is an IP address inside *prefix* (CIDR), e.g. an autoconfigured source."""
    try:
        return ipaddress.ip_address(got) in ipaddress.ip_network(prefix, strict=False)
    except (TypeError, ValueError):
        return False


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
