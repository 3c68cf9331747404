"""Continuous capture on every tester interface, with the identities answering for themselves.

One thread reads all tester ports from the moment the capture opens, so a
reply that races its stimulus is never missed, and an expectation returns the
moment its frame arrives.  Each frame carries the kernel's receive time, and
a window is judged on those times once the thread has read everything queued
(``sync``): a busy machine that reads a frame late neither loses nor gains it.  Unless a test turns it off, each emulated identity
answers ARP requests and Neighbor Solicitations for its own addresses.
"""

import os
import select
import threading
import time
from dataclasses import dataclass, field

from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, IPv6
from scapy.layers.l2 import ARP, Ether
from scapy.utils import PcapNgWriter

from . import signals
from .wire import Port


@dataclass
class Frame:
    """A frame seen or sent on a tester port."""

    time: float               # when it arrived (kernel time) or was sent, as time.time()
    port: str                 # "tester:t0"
    data: bytes
    sent_by: str | None = None   # the identity (or port) that sent it, if we did
    _packet: Ether | None = field(default=None, repr=False)

    @property
    def packet(self):
        """The frame parsed by scapy (once)."""
        if self._packet is None:
            self._packet = Ether(self.data)
        return self._packet


class Capture:
    """All tester ports of a started Emulation, read by one thread."""

    def __init__(self, emulation):
        topology = emulation.topology
        self.ports = {}
        for node in topology.nodes_with_role("tester"):
            for intf in node.interfaces.values():
                self.ports[intf.ref] = Port(emulation[node.name].pid, intf.name)
        self.identities = topology.identities
        self.names = {i.mac: name for name, i in self.identities.items()}
        self.names.update({intf.mac: f"DUT {intf.name}"
                           for intf in topology.dut.interfaces.values()})
        self._answering = True
        self.frames = []
        self._changed = threading.Condition()
        self._wake_r, self._wake_w = os.pipe()
        self._sync_asked = self._sync_done = 0
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="capture", daemon=True)
        self._thread.start()

    def port_of(self, name):
        """The port ref for an identity name or a port ref."""
        if name in self.ports:
            return name
        if name in self.identities:
            return self.identities[name].interface
        raise KeyError(f"no identity or tester port {name!r}")

    def send(self, sender, packet):
        """Send a scapy packet on the port of *sender* (identity or port); return its Frame."""
        port = self.port_of(sender)
        data = bytes(packet)
        frame = Frame(time.time(), port, data, sent_by=sender)
        with self._changed:          # recorded first, so an answer is never listed before it
            self.frames.append(frame)
        self.ports[port].send(data)
        return frame

    def answer_resolution(self, enabled):
        """Let the identities answer ARP requests and Neighbor Solicitations for their
        addresses (the default), or stop them, as a test's ``resolve`` asks."""
        self._answering = bool(enabled)

    def mark(self):
        """The index of the next frame to arrive (a cursor for expectations)."""
        with self._changed:
            return len(self.frames)

    def wait_for(self, port, match, since, timeout, until=None):
        """(index, frame) of the first received frame on *port* from index *since* that
        *match* accepts, or None after *timeout* seconds.

        With *until* (a time.time() value), only frames that arrived by then count,
        and the answer waits, if need be, until every frame that had arrived by
        then has been read.
        """
        deadline = time.monotonic() + timeout
        index, synced = since, False
        with self._changed:
            while True:
                while index < len(self.frames):
                    frame = self.frames[index]
                    index += 1
                    if frame.sent_by is None and frame.port == port and \
                            (until is None or frame.time <= until) and match(frame.packet):
                        return index - 1, frame
                remaining = deadline - time.monotonic()
                if remaining > 0:
                    self._changed.wait(remaining)
                elif until is None or synced:
                    return None
                else:
                    self._sync()
                    synced = True

    def _sync(self):
        """Wait (holding the condition) until the thread has read every frame queued in
        the ports' sockets now."""
        self._sync_asked += 1
        wanted = self._sync_asked
        os.write(self._wake_w, b"s")
        self._changed.wait_for(lambda: self._sync_done >= wanted or not self._running, 2.0)

    def received(self, port, since):
        """The frames received (not sent by us) on *port* from index *since*."""
        with self._changed:
            return [f for f in self.frames[since:] if f.sent_by is None and f.port == port]

    def write_pcap(self, path, since):
        """Write every frame from index *since* to a pcapng, one interface per tester port."""
        with self._changed:
            frames = self.frames[since:]
        with PcapNgWriter(str(path)) as writer:
            for frame in frames:
                packet = Ether(frame.data)
                packet.time = frame.time
                packet.sniffed_on = frame.port
                if frame.sent_by:
                    packet.comment = f"sent by the tester as {frame.sent_by}".encode()
                writer.write(packet)

    def ladder(self, since, matched=(), most=60):
        """The frames from index *since* as a ladder diagram's rows: when (seconds from the
        first), on which port, who to whom (identity or DUT interface names), a decoded
        summary, and whether the frame was one the test's expectations matched (indexes
        in *matched*).  At most *most* rows; ``(rows, frames left out)``."""
        with self._changed:
            frames = self.frames[since:]
        rows, start = [], frames[0].time if frames else 0.0
        for index, frame in enumerate(frames[:most], since):
            packet = frame.packet
            rows.append({"t": round(frame.time - start, 4), "port": frame.port,
                         "src": self.names.get(packet.src, packet.src),
                         "dst": self._name_of(packet.dst), "sent": frame.sent_by is not None,
                         "summary": packet.summary(), "matched": index in matched})
        return rows, max(0, len(frames) - most)

    def _name_of(self, mac):
        if mac == "ff:ff:ff:ff:ff:ff":
            return "broadcast"
        if int(mac.split(":")[0], 16) & 1:
            return f"multicast {mac}"
        return self.names.get(mac, mac)

    def close(self):
        """Stop the thread and close the ports."""
        with self._changed:
            self._running = False
            self._changed.notify_all()
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=2)
        for port in self.ports.values():
            port.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    # -- the capture thread ------------------------------------------------

    def _loop(self):
        signals.main_thread_only()
        by_socket = {port.sock: ref for ref, port in self.ports.items()}
        while self._running:
            ready, _, _ = select.select([*by_socket, self._wake_r], [], [])
            if self._wake_r in ready:
                os.read(self._wake_r, 512)     # first: each request counted before its byte
                with self._changed:
                    asked = self._sync_asked
                while ready:            # drain every port, then say what was asked is done
                    self._read(ready, by_socket)
                    ready = select.select(list(by_socket), [], [], 0)[0]
                with self._changed:
                    self._sync_done = asked
                    self._changed.notify_all()
                continue
            self._read(ready, by_socket)

    def _read(self, ready, by_socket):
        """Read one frame from each of the *ready* ports, record it, answer for identities."""
        for sock in ready:
            if sock not in by_socket:
                continue
            port = by_socket[sock]
            try:
                data, outgoing, when = self.ports[port].receive()
            except BlockingIOError:
                continue
            except OSError:         # the interface went away (its peer's namespace died)
                del by_socket[sock]
                continue
            if outgoing:
                continue
            frame = Frame(when, port, data)
            with self._changed:
                self.frames.append(frame)
                self._changed.notify_all()
            if self._answering:
                self._answer(frame)

    def _answer(self, frame):
        """Reply to ARP requests and Neighbor Solicitations for an identity on that port."""
        packet = frame.packet
        for identity in self.identities.values():
            if identity.interface != frame.port:
                continue
            reply = _arp_reply(packet, identity) or _neighbor_advert(packet, identity)
            if reply is not None:
                self.send(identity.name, reply)
                return


def _arp_reply(packet, identity):
    if ARP not in packet or packet[ARP].op != 1 or identity.ipv4 is None:
        return None
    if packet[ARP].pdst != str(identity.ipv4.ip):
        return None
    request = packet[ARP]
    return (Ether(src=identity.mac, dst=request.hwsrc) /
            ARP(op=2, hwsrc=identity.mac, psrc=request.pdst, hwdst=request.hwsrc,
                pdst=request.psrc))


def _neighbor_advert(packet, identity):
    if ICMPv6ND_NS not in packet or identity.ipv6 is None:
        return None
    target = packet[ICMPv6ND_NS].tgt
    if target not in (str(identity.ipv6.ip), str(identity.ipv6_link_local)):
        return None
    source = packet[IPv6].src
    unspecified = source == "::"     # DAD probe: answer to all-nodes (RFC 4861 section 7.2.4)
    return (Ether(src=identity.mac, dst="33:33:00:00:00:01" if unspecified else packet.src) /
            IPv6(src=target, dst="ff02::1" if unspecified else source, hlim=255) /
            ICMPv6ND_NA(tgt=target, R=int(identity.name.startswith("RTR")),
                        S=int(not unspecified), O=1) /
            ICMPv6NDOptDstLLAddr(lladdr=identity.mac))
