"""Raw frames on a tester interface: send scapy packets, wait for matching ones."""

import select
import socket
import time

from scapy.layers.l2 import Ether

from . import netns

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SO_TIMESTAMPNS = 35      # the kernel's receive time of each frame (linux/socket.h)


class Port:
    """An AF_PACKET socket bound to one tester interface.

    Opened inside the tester's namespace; frames are queued from the moment
    it opens, so a reply that races the send is never missed.
    """

    def __init__(self, node_pid, ifname):
        self.ifname = ifname
        with netns.entered(node_pid):
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            self.sock.bind((ifname, 0))
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.setblocking(False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, packet):
        """Send one frame (a scapy packet or bytes)."""
        self.sock.send(bytes(packet))

    def receive(self):
        """One queued frame: (bytes, whether this socket sent it, the kernel's receive time
        as time.time() would have said then).  Raises BlockingIOError when none is queued."""
        data, ancillary, _, address = self.sock.recvmsg(65535, 64)
        when = next((int.from_bytes(d[:8], "little") + int.from_bytes(d[8:16], "little") / 1e9
                     for level, kind, d in ancillary
                     if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS), None)
        return data, address[2] == PACKET_OUTGOING, time.time() if when is None else when

    def expect(self, match, timeout):
        """The first received frame (as scapy Ether) for which *match* is true, or None."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.sock], [], [], remaining)[0]:
                return None
            data, address = self.sock.recvfrom(65535)
            if address[2] == PACKET_OUTGOING:
                continue
            frame = Ether(data)
            if match(frame):
                return frame

    def close(self):
        """Close the socket."""
        self.sock.close()
