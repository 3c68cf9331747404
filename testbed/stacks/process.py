"""Stacks that run as a process of their own, driven over the control protocol.

The manifest's ``command`` starts the stack's shim in the DUT's namespace;
``ProcessDut`` is the one client for every such stack (``stacks/PROTOCOL.md``).
"""

import shlex
import signal
import subprocess
import time

from ..linuxcmd import SILENT, tx_checksums_in_software
from ..nodeshell import NodeGone
from ..errors import ControlError
from .contract import OPERATIONS, Datagram, Dut, Neighbor, PingReply, PingResult
from .control import OP_TIMEOUT, ControlClient, StackGone

ECHO_SLACK = 1.0      # seconds an echo may take beyond its own count, interval and timeout
STOP_GRACE = 2.0      # seconds between SIGTERM and SIGKILL


class ProcessDut(Dut):
    """A stack running as a process in the DUT's namespace, behind a shim.

    The DUT's own kernel stays silent on the interfaces (no IPv4 address,
    IPv6 disabled); the stack answers with the interfaces' MACs.
    """

    presets = SILENT
    kernel_silent = True

    def __init__(self, *args):
        super().__init__(*args)
        self.capabilities = self.manifest.capabilities
        self.process = self.client = None
        self.ready_after = None   # seconds from process start to configure answered
        self._listeners = []

    @property
    def control_path(self):
        """The shim's UNIX socket, in the stack's folder."""
        return self.folder / "dut.sock"

    def command(self):
        """The manifest's command with its placeholders filled in."""
        argv = []
        for argument in self.manifest.command:
            if argument == "{interfaces}":
                argv += list(self.baseline.interfaces)
            else:
                argv.append(self.manifest.expand(argument, control=self.control_path,
                                                 run=self.folder))
        return argv

    # -- lifecycle -------------------------------------------------------

    def start(self):
        """Bring the interfaces up, start the shim, give it the baseline."""
        self._prepare_links()
        log = open(self.folder / "stack.log", "ab")
        started = time.monotonic()
        try:
            self.process = self.node.popen(self.command(), stdin=subprocess.DEVNULL,
                                           stdout=log, stderr=subprocess.STDOUT,
                                           cwd=str(self.manifest.folder))
        except OSError as exc:
            raise StackGone(f"{self.name}: cannot start {self.manifest.command[0]}: {exc}") \
                from None
        finally:
            log.close()
        timeout = self.manifest.start_timeout
        try:
            self.client = ControlClient.connect(self.name, self.control_path, self.process,
                                                timeout)
            self.client.call("configure", wait=timeout, **self.baseline_message())
        except ControlError as exc:
            raise ControlError(f"{exc}{self._log_tail()}") from None
        self.ready_after = time.monotonic() - started

    def _log_tail(self, lines=5):
        """The end of the stack's log, to say why it would not start."""
        try:
            tail = (self.folder / "stack.log").read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return "".join(f"\n  stack.log: {line}" for line in tail)

    def _prepare_links(self):
        lines = [f"ip link set dev {shlex.quote(i.name)} mtu {i.mtu} up"
                 for i in self.baseline.interfaces.values()]
        lines += tx_checksums_in_software(self.baseline.interfaces.values())
        self.shell(" && ".join(lines), "bringing the DUT's interfaces up")

    def baseline_message(self):
        """The ``configure`` request's arguments: interfaces, routes, forwarding."""
        interfaces = [{"name": i.name, "mac": i.mac, "mtu": i.mtu,
                       "addresses": [str(a) for a in (i.ipv4, i.ipv6) if a is not None],
                       "link_local": f"{i.ipv6_link_local}/64"}
                      for i in self.baseline.interfaces.values()]
        routes = [{"destination": str(r.destination),
                   "gateway": None if r.gateway is None else str(r.gateway),
                   "interface": r.device} for r in self.baseline.routes]
        return {"interfaces": interfaces, "routes": routes,
                "forwarding": sorted(self.baseline.forwarding)}

    def stop(self):
        """SIGTERM the shim, SIGKILL it after a grace period; close the connection."""
        if self.client is not None:
            self.client.close()
            self.client = None
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        process.send_signal(signal.SIGCONT)     # a stopped (hung) stack must see it too
        try:
            process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def alive(self):
        """The shim's process runs and answers ``hello`` within OP_TIMEOUT."""
        if self.process is None or self.process.poll() is not None or self.client is None:
            return False
        try:
            self.client.call("hello")
            return self.node.run("true", timeout=OP_TIMEOUT)[1] == 0
        except (StackGone, NodeGone):
            return False

    def reset(self):
        """Ask the stack to return to its baseline; forget UDP listeners."""
        self._listeners.clear()
        self.client.call("reset")

    # -- contract operations ---------------------------------------------

    def _perform(self, operation, arguments):
        """Carry out *operation*: by its hook below if it has answers to read or arguments
        to shape, else as its protocol op with the arguments as they are."""
        if hasattr(self, f"_{operation.name}"):
            return super()._perform(operation, arguments)
        self._call(operation.name, **arguments)

    def _call(self, name, /, wait=OP_TIMEOUT, **arguments):
        """Ask the shim for contract operation *name*, by its protocol op; addresses as text."""
        return self.client.call(OPERATIONS[name].protocol, wait,
                                **{key: _json(value) for key, value in arguments.items()})

    def _neighbors(self, interface):
        found = self._call("neighbors", interface=interface).get("neighbors", [])
        return [Neighbor(n["address"], n["interface"], n.get("mac"), n.get("state", ""))
                for n in found]

    def _ping(self, destination, count, size, ttl, dont_fragment, timeout, interval, source):
        answer = self._call("ping", wait=count * interval + timeout + ECHO_SLACK,
                            destination=destination, count=count, size=size, ttl=ttl,
                            dont_fragment=dont_fragment, timeout=timeout, interval=interval,
                            source=source)
        result = PingResult(str(destination), answer.get("transmitted", 0))
        result.replies = [PingReply(r["source"], r["seq"], r["ttl"], r["size"], r["rtt_ms"])
                          for r in answer.get("replies", [])]
        result.errors = list(answer.get("errors", []))
        return result

    def _send_udp(self, destination, port, payload, source_port):
        self._call("send_udp", destination=destination, port=port, payload=payload.hex(),
                   source_port=source_port)

    def _listen_udp(self, port, family):
        handle = self._call("listen_udp", port=port, family=family)["handle"]
        listener = _UdpListener(self.client, handle)
        self._listeners.append(listener)
        return listener

    def _get_knob(self, name):
        return str(self._call("get_knob", name=name)["value"])


def _json(value):
    """*value* as the protocol carries it: addresses and networks as text."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)


class _UdpListener:
    """A UDP port the stack listens on, read through the control connection."""

    def __init__(self, client, handle):
        self.client, self.handle = client, handle

    def datagrams(self, timeout):
        """The datagrams that arrive within *timeout* seconds; then the listener closes."""
        answer = self.client.call("udp_receive", wait=timeout + ECHO_SLACK,
                                  handle=self.handle, timeout=timeout)
        self.close()
        return [Datagram(d["source"], d["port"], bytes.fromhex(d["data"]))
                for d in answer.get("datagrams", [])]

    def close(self):
        """Stop listening."""
        self.client.call("udp_close", handle=self.handle)
