"""PyTCP (PyPI ``pytcp``) as a DUT, driven by the stack control protocol.

    shim.py --control SOCKET [--log CHANNELS] IFACE [IFACE...]

PyTCP is one stack per process on one interface.  Its library class
``TcpIpStack`` opens a TAP and claims addresses with ARP probes and DAD
(several seconds), so the shim does what ``TcpIpStack.start`` does itself:
it starts PyTCP's subsystems (``pytcp.lib.stack``) on a raw AF_PACKET socket
bound to the first interface -- PyTCP's RX/TX rings only ``os.read`` and
``os.write`` the descriptor they are given -- and puts the configured
addresses straight into the packet handler's address lists, which is where
``acquire_ip4_addresses``/``acquire_ip6_addresses`` put them once their
checks pass.  Nothing in PyTCP is patched except one observer: PyTCP has no
ICMP socket, so echo replies and ICMP errors are collected by wrapping the
packet handler's ICMP input handlers (after PyTCP's own Ethernet, IP and ICMP
parsing and checks), which then run unchanged.

What PyTCP cannot do is refused, never faked: a second interface, routes
other than a default gateway (PyTCP keeps one gateway per address), raising
the MTU above the start value (the TX ring sized its buffer then), echo with
another TTL or with DF set (its ICMP send path fixes both), link state,
forwarding and knobs.
"""

import argparse
import ctypes
import importlib.metadata
import ipaddress
import itertools
import os
import socket
import struct
import sys
import threading
import time

from pytcp import config
from pytcp.lib import stack
from pytcp.lib.ip4_address import Ip4Address, Ip4Host
from pytcp.lib.ip6_address import Ip6Address, Ip6Host
from pytcp.lib.ip_helper import pick_local_ip_address
from pytcp.lib.mac_address import MacAddress
from pytcp.lib.socket import AF_INET4, AF_INET6, SOCK_DGRAM, ReceiveTimeout
from pytcp.lib.socket import socket as pytcp_socket
from pytcp.lib.tx_status import TxStatus
from pytcp.subsystems.arp_cache import ArpCache
from pytcp.subsystems.nd_cache import NdCache
from pytcp.subsystems.packet_handler import PacketHandler

from testbed.stacks.serve import Refused, Shim

SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
SO_ATTACH_FILTER = 26
# Classic BPF: drop frames the kernel marks PACKET_OTHERHOST, accept the rest.
OTHERHOST_FILTER = [
    (0x20, 0, 0, 0xFFFFF004),   # ld  pkttype (SKF_AD_OFF + SKF_AD_PKTTYPE)
    (0x15, 0, 1, 3),            # jeq #PACKET_OTHERHOST, drop, accept
    (0x06, 0, 0, 0),            # drop: ret #0
    (0x06, 0, 0, 0x40000),      # accept: ret #262144
]

# iputils' wording for the ICMP errors PyTCP parses (Destination Unreachable).
UNREACHABLE4 = {0: "Destination Net Unreachable", 1: "Destination Host Unreachable",
                2: "Destination Protocol Unreachable", 3: "Destination Port Unreachable",
                4: "Frag needed and DF set", 5: "Source Route Failed"}
UNREACHABLE6 = {0: "Destination unreachable: No route",
                1: "Destination unreachable: Administratively prohibited",
                2: "Destination unreachable: Beyond scope of source address",
                3: "Destination unreachable: Address unreachable",
                4: "Destination unreachable: Port unreachable"}


def open_interface(name):
    """A raw AF_PACKET socket on *name* that reads like a NIC: no own frames, no other hosts'."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    program = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in OTHERHOST_FILTER))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER,
                    struct.pack("HL", len(OTHERHOST_FILTER), ctypes.addressof(program)))
    sock.bind((name, 0x0003))   # ETH_P_ALL
    return sock


class EchoWatch:
    """What PyTCP's ICMP input sees for one echo session: replies and errors."""

    def __init__(self, ident, destination):
        self.ident, self.destination = ident, destination
        self.sent = {}            # seq -> send time
        self.replies, self.errors = [], []
        self.changed = threading.Condition()

    def reply(self, source, seq, ttl, size):
        """An echo reply for us arrived."""
        with self.changed:
            if seq in self.sent and all(r["seq"] != seq for r in self.replies):
                rtt = (time.monotonic() - self.sent[seq]) * 1000
                self.replies.append({"source": source, "seq": seq, "ttl": ttl, "size": size,
                                     "rtt_ms": round(rtt, 3)})
                self.changed.notify_all()

    def error(self, text):
        """An ICMP error quoting one of our requests arrived."""
        with self.changed:
            self.errors.append(text)
            self.changed.notify_all()


class PyTcpShim(Shim):
    """The control protocol's operations, carried out on PyTCP's subsystems."""

    stack = "pytcp"
    version = importlib.metadata.version("pytcp")

    def __init__(self, interfaces):
        self.interfaces = interfaces
        self.interface = interfaces[0]
        self.link = open_interface(self.interface)
        self.baseline = None
        self.gateways = {4: None, 6: None}
        self.listeners = {}
        self.handles = itertools.count(1)
        self.watch = None
        self.watch_lock = threading.Lock()
        self.started = False

    # -- start and baseline ---------------------------------------------------

    def op_configure(self, interfaces, routes=(), forwarding=()):
        """Start PyTCP on the first interface with the given MAC, MTU, addresses and routes."""
        if self.started:
            raise Refused("already configured", "invalid")
        others = sorted(({i["name"] for i in interfaces} | set(self.interfaces)) - {self.interface})
        if others or len(interfaces) != 1:
            raise Refused(f"pytcp runs on one interface per process; it serves {self.interface} "
                          f"only, not {', '.join(others) or 'this list'}", "unsupported")
        if forwarding:
            raise Refused("pytcp does not forward", "unsupported")
        (interface,) = interfaces
        addresses = list(interface.get("addresses", []))
        if interface.get("link_local"):
            addresses.insert(0, interface["link_local"])
        hosts = [self._host(a) for a in addresses]
        self.baseline = {"mtu": int(interface["mtu"]), "hosts": [str(h) for h in hosts],
                         "routes": list(routes)}
        config.TAP_MTU = self.baseline["mtu"]   # read by the TX ring once, when it starts
        stack.packet_handler.assign_mac_address(MacAddress(interface["mac"]))
        stack.timer.start()
        stack.arp_cache.start()
        stack.nd_cache.start()
        stack.rx_ring.start(self.link.fileno())
        stack.tx_ring.start(self.link.fileno())
        stack.packet_handler.start()
        stack.packet_handler._assign_ip6_multicast(Ip6Address("ff02::1"))
        self.started = True
        self._restore()

    def op_reset(self):
        """Back to the configured baseline."""
        if not self.started:
            raise Refused("not configured yet", "invalid")
        for handle in list(self.listeners):
            self.op_udp_close(handle)
        stack.arp_cache._arp_cache.clear()
        stack.nd_cache._nd_cache.clear()
        stack.packet_handler.ip4_frag_flows.clear()
        stack.packet_handler.ip6_frag_flows.clear()
        config.TAP_MTU = self.baseline["mtu"]
        self._restore()

    def _restore(self):
        """Addresses and gateways as configured (IPv6 only touched if changed: it sends MLD)."""
        handler = stack.packet_handler
        hosts = [self._host(a) for a in self.baseline["hosts"]]
        handler.ip4_host[:] = [h for h in hosts if h.version == 4]
        wanted6 = [h for h in hosts if h.version == 6]
        if [str(h) for h in handler.ip6_host] != [str(h) for h in wanted6]:
            for host in list(handler.ip6_host):
                handler._remove_ip6_host(host)
            for host in wanted6:
                handler._assign_ip6_host(host)
        self.gateways = {4: None, 6: None}
        self._apply_gateways()
        for route in self.baseline["routes"]:
            self.op_route_add(**route)

    # -- addresses and routes -------------------------------------------------

    @staticmethod
    def _host(cidr):
        """A PyTCP Ip4Host/Ip6Host from "address/prefix"."""
        try:
            version = ipaddress.ip_interface(cidr).version
        except ValueError as exc:
            raise Refused(str(exc), "invalid") from None
        return Ip4Host(cidr) if version == 4 else Ip6Host(cidr)

    def _check_interface(self, interface):
        if interface not in (None, self.interface):
            raise Refused(f"pytcp serves {self.interface} only, not {interface}", "invalid")

    def _hosts(self, version):
        return stack.packet_handler.ip4_host if version == 4 else stack.packet_handler.ip6_host

    def _apply_gateways(self):
        """Give each address the default gateway of its family where PyTCP takes it: IPv4 on
        the gateway's network, IPv6 on every global address (PyTCP picks the source for an
        off-link destination among the addresses that have a gateway)."""
        for version, gateway in self.gateways.items():
            for host in self._hosts(version):
                host.gateway = None
                if gateway is not None and (gateway in host.network if version == 4
                                            else not host.address.is_link_local):
                    host.gateway = gateway

    def op_addr_add(self, interface, address):
        """Add an address (usable at once: no probe, as for the baseline)."""
        self._check_interface(interface)
        host = self._host(address)
        if any(h.address == host.address for h in self._hosts(host.version)):
            raise Refused(f"{host.address} is already assigned")
        if host.version == 4:
            stack.packet_handler.ip4_host.append(host)
        else:
            stack.packet_handler._assign_ip6_host(host)
        self._apply_gateways()

    def op_addr_del(self, interface, address):
        """Remove an address."""
        self._check_interface(interface)
        host = self._host(address)
        for existing in self._hosts(host.version):
            if str(existing) == str(host):
                if host.version == 4:
                    stack.packet_handler.ip4_host.remove(existing)
                else:
                    stack.packet_handler._remove_ip6_host(existing)
                return
        raise Refused(f"{address} is not assigned")

    def op_route_add(self, destination, gateway=None, interface=None):
        """A default route: PyTCP's per-address gateway.  Other routes do not exist in PyTCP."""
        self._check_interface(interface)
        version = self._default(destination)
        if gateway is None:
            raise Refused("pytcp sends off-link traffic only to a gateway", "unsupported")
        address = Ip4Address(gateway) if version == 4 else Ip6Address(gateway)
        if version == 4 and not any(address in h.network for h in self._hosts(4)):
            raise Refused(f"gateway {gateway} is on none of the stack's networks")
        if version == 6 and not address.is_link_local:
            raise Refused(f"pytcp takes only a link-local IPv6 gateway, not {gateway}", "unsupported")
        if self.gateways[version] is not None:
            raise Refused(f"a default gateway ({self.gateways[version]}) is already set")
        self.gateways[version] = address
        self._apply_gateways()

    def op_route_del(self, destination, gateway=None, interface=None):
        """Remove the default gateway."""
        self._check_interface(interface)
        version = self._default(destination)
        current = self.gateways[version]
        if current is None or (gateway is not None and str(current) != str(ipaddress.ip_address(gateway))):
            raise Refused(f"no default route via {gateway or 'any gateway'}")
        self.gateways[version] = None
        self._apply_gateways()

    @staticmethod
    def _default(destination):
        network = ipaddress.ip_network(destination)
        if network.prefixlen:
            raise Refused(f"pytcp has no routing table, only a default gateway; no route to {destination}",
                          "unsupported")
        return network.version

    def op_mtu_set(self, interface, mtu):
        """PyTCP's one MTU (config.TAP_MTU, read on every send); it cannot grow past the start value."""
        self._check_interface(interface)
        if not 68 <= int(mtu) <= self.baseline["mtu"]:
            raise Refused(f"pytcp's TX ring was started for MTU {self.baseline['mtu']}; "
                          f"cannot set {mtu}", "unsupported")
        config.TAP_MTU = int(mtu)

    # -- neighbours -----------------------------------------------------------

    def op_neigh_list(self, interface=None):
        """PyTCP's ARP and ND caches (entries are permanent or dynamic; no other states)."""
        self._check_interface(interface)
        return {"neighbors": [
            {"address": str(address), "interface": self.interface, "mac": str(entry.mac_address),
             "state": "PERMANENT" if entry.permanent else "DYNAMIC"}
            for cache in (stack.arp_cache._arp_cache, stack.nd_cache._nd_cache)
            for address, entry in list(cache.items())]}

    def op_neigh_add(self, interface, address, mac):
        """A permanent entry (PyTCP's caches know them; only their API lacks a setter)."""
        self._check_interface(interface)
        if ipaddress.ip_address(address).version == 4:
            stack.arp_cache._arp_cache[Ip4Address(address)] = ArpCache.CacheEntry(MacAddress(mac), True)
        else:
            stack.nd_cache._nd_cache[Ip6Address(address)] = NdCache.CacheEntry(MacAddress(mac), True)

    def op_neigh_flush(self, interface=None, family=None):
        """Empty the ARP and/or ND cache."""
        self._check_interface(interface)
        if family in (None, "ipv4"):
            stack.arp_cache._arp_cache.clear()
        if family in (None, "ipv6"):
            stack.nd_cache._nd_cache.clear()

    # -- echo -----------------------------------------------------------------

    def op_echo(self, destination, count, size, timeout, interval, dont_fragment=False,
                ttl=None, source=None):
        """Echo requests sent by PyTCP's ICMP output; replies and errors seen by its ICMP input."""
        target = ipaddress.ip_address(destination)
        if dont_fragment and target.version == 4:
            raise Refused("pytcp's ICMPv4 output cannot set DF", "unsupported")
        if ttl is not None and int(ttl) != (config.IP4_DEFAULT_TTL if target.version == 4 else 64):
            raise Refused("pytcp's ICMP output uses a fixed TTL/hop limit", "unsupported")
        remote = Ip4Address(destination) if target.version == 4 else Ip6Address(destination)
        local = (type(remote)(source) if source else pick_local_ip_address(remote))
        payload = bytes(i & 0xFF for i in range(int(size)))
        watch = EchoWatch(int.from_bytes(os.urandom(2), "big"), str(target))
        with self.watch_lock:
            self.watch = watch
        transmitted = 0
        try:
            for seq in range(1, int(count) + 1):
                if seq > 1:
                    time.sleep(float(interval))
                with watch.changed:
                    watch.sent[seq] = time.monotonic()
                status = self._send_echo(local, remote, watch.ident, seq, payload)
                if status is TxStatus.PASSED__ETHER__TO_TX_RING:
                    transmitted += 1
                else:
                    watch.error(f"local error: pytcp dropped request {seq}: {status.name}")
            deadline = time.monotonic() + float(timeout)
            with watch.changed:
                while len(watch.replies) < int(count) and (left := deadline - time.monotonic()) > 0:
                    watch.changed.wait(left)
                return {"transmitted": transmitted, "replies": list(watch.replies),
                        "errors": list(watch.errors)}
        finally:
            with self.watch_lock:
                self.watch = None

    @staticmethod
    def _send_echo(local, remote, ident, seq, payload):
        if remote.version == 4:
            return stack.packet_handler.send_icmp4_packet(local, remote, 8, ec_id=ident,
                                                          ec_seq=seq, ec_data=payload)
        return stack.packet_handler.send_icmp6_packet(local, remote, 128, ec_id=ident,
                                                      ec_seq=seq, ec_data=payload)

    def observe_icmp(self, packet_rx, version):
        """Called after PyTCP handled an ICMP message: note replies and errors for the echo session."""
        with self.watch_lock:
            watch = self.watch
        if watch is None or packet_rx.parse_failed:
            return
        ip = packet_rx.ip4 if version == 4 else packet_rx.ip6
        icmp = packet_rx.icmp4 if version == 4 else packet_rx.icmp6
        if icmp.type == (0 if version == 4 else 129):
            if icmp.ec_id == watch.ident and str(ip.src) == watch.destination:
                watch.reply(str(ip.src), icmp.ec_seq, ip.ttl if version == 4 else ip.hop,
                            len(icmp.ec_data) + 8)
        elif icmp.type == (3 if version == 4 else 1):
            quoted = bytes(icmp.un_data)
            if _quotes_echo(quoted, version, watch.destination, watch.ident):
                words = UNREACHABLE4 if version == 4 else UNREACHABLE6
                watch.error(f"from {ip.src}: {words.get(icmp.code, f'Destination unreachable, code {icmp.code}')}")

    # -- UDP ------------------------------------------------------------------

    def op_udp_send(self, destination, port, payload, source_port=None):
        """One datagram through a PyTCP UDP socket."""
        family = AF_INET6 if ipaddress.ip_address(destination).version == 6 else AF_INET4
        sock = pytcp_socket(family, SOCK_DGRAM)
        try:
            if source_port:
                sock.bind(("::" if family is AF_INET6 else "0.0.0.0", int(source_port)))
            data = bytes.fromhex(payload)
            if sock.sendto(data, (str(destination), int(port))) != len(data):
                print(f"pytcp shim: pytcp did not send the datagram to {destination}:{port}",
                      file=sys.stderr)
        except OSError as exc:
            raise Refused(str(exc)) from None
        finally:
            sock.close()

    def op_udp_listen(self, port, family="ipv4"):
        """A PyTCP UDP socket bound to *port* on every address of *family*."""
        sock = pytcp_socket(AF_INET6 if family == "ipv6" else AF_INET4, SOCK_DGRAM)
        try:
            sock.bind(("::" if family == "ipv6" else "0.0.0.0", int(port)))
        except OSError as exc:
            raise Refused(str(exc)) from None
        handle = next(self.handles)
        self.listeners[handle] = sock
        return {"handle": handle}

    def op_udp_receive(self, handle, timeout):
        """The datagrams the listener receives within *timeout* seconds."""
        sock = self._listener(handle)
        datagrams, deadline = [], time.monotonic() + float(timeout)
        while (left := deadline - time.monotonic()) > 0:
            try:
                data, (source, port) = sock.recvfrom(timeout=left)
            except ReceiveTimeout:
                break
            datagrams.append({"source": source, "port": port, "data": bytes(data).hex()})
        return {"datagrams": datagrams}

    def op_udp_close(self, handle):
        """Close a listener."""
        self._listener(handle).close()
        del self.listeners[handle]

    def _listener(self, handle):
        if handle not in self.listeners:
            raise Refused(f"no UDP listener {handle}", "invalid")
        return self.listeners[handle]


def _quotes_echo(quoted, version, destination, ident):
    """True if an ICMP error's quoted datagram is one of our echo requests to *destination*."""
    if version == 4:
        if len(quoted) < 20 or quoted[0] >> 4 != 4 or quoted[9] != 1:
            return False
        start = (quoted[0] & 0x0F) * 4
        return (str(ipaddress.ip_address(quoted[16:20])) == destination and len(quoted) >= start + 6
                and quoted[start] == 8 and int.from_bytes(quoted[start + 4:start + 6], "big") == ident)
    return (len(quoted) >= 46 and quoted[0] >> 4 == 6 and quoted[6] == 58 and quoted[40] == 128
            and str(ipaddress.ip_address(quoted[24:40])) == destination
            and int.from_bytes(quoted[44:46], "big") == ident)


def install_icmp_observer(shim):
    """Wrap PyTCP's ICMPv4/ICMPv6 input so the shim sees what it parsed (PyTCP has no ICMP socket)."""
    for version, name in ((4, "_phrx_icmp4"), (6, "_phrx_icmp6")):
        original = getattr(PacketHandler, name)

        def observed(handler, packet_rx, original=original, version=version):
            original(handler, packet_rx)
            shim.observe_icmp(packet_rx, version)

        setattr(PacketHandler, name, observed)


def main():
    """Entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="pytcp-shim")
    parser.add_argument("--control", required=True, help="UNIX socket to serve the protocol on")
    parser.add_argument("--log", default="stack",
                        help="PyTCP log channels, comma-separated (e.g. stack,ether,arp,ip4,icmp4)")
    parser.add_argument("interfaces", nargs="+")
    args = parser.parse_args()
    sys.stdout = sys.stderr               # PyTCP logs with print(); stderr is the stack's log
    config.LOG_CHANEL = set(filter(None, args.log.split(",")))
    shim = PyTcpShim(args.interfaces)
    install_icmp_observer(shim)
    shim.serve(args.control)


if __name__ == "__main__":
    main()
