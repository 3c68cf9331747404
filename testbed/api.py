"""The Python API: a live topology to script experiments and tests against.

    from testbed import Testbed
    with Testbed("topology-3", stack="uml") as tb:
        code, out = tb.node("h1").run("ping -c1 198.18.3.10")
        tb.dut.add_route("198.18.9.0/24", "198.18.1.2")
        with tb.capture(["h1:eth0", "dut:eth0"], "/tmp/x.pcapng"):
            tb.node("h1").run("ping -c3 198.18.3.10")

``Testbed`` builds the topology (``network.Emulation``) with the stack as the
DUT and takes it down whatever happens: an exception, Ctrl-C, SIGTERM.
"""

import os
import shlex
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from . import nodeshell, shaping, signals
from . import stacks as stack_manifests
from . import topology as topologies
from .errors import InputError


class RunResult(NamedTuple):
    """What a command run in a node gave: its exit code and its output (stdout and stderr)."""

    code: int
    output: str

    @property
    def ok(self):
        """True when the command exited 0."""
        return self.code == 0


class Node:
    """One node of a running Testbed, as Mininet built it."""

    def __init__(self, testbed, name):
        self.testbed, self.name = testbed, name
        self.mininet = testbed.emulation[name]

    @property
    def pid(self):
        """The pid of the node's shell (``nsenter -t PID -n`` enters its namespace)."""
        return self.mininet.pid

    def run(self, command, timeout=60.0):
        """Run a shell *command* (in a subshell) in the node's namespace; a RunResult(code,
        output)."""
        output, code = nodeshell.run(self.mininet, f"( {command}\n) 2>&1", timeout)
        return RunResult(code, output)

    def popen(self, command):
        """Start *command* (a list or a shell string) in the node's namespace, in the
        background; a subprocess.Popen (stop it yourself, or it ends with the Testbed)."""
        args = command if isinstance(command, list) else ["sh", "-c", command]
        return self.mininet.popen(args)

    @property
    def stack(self):
        """The adapter of the stack this node runs (the control contract, as ``Testbed.dut``),
        or None for a plain node running its namespace's kernel."""
        return self.testbed.emulation.adapters.get(self.name)

    def address(self, interface="eth0", family="ipv4"):
        """The address (no prefix length) of *interface* in *family*, as a string."""
        value = self.testbed.topology.nodes[self.name].interfaces[interface].address(family)
        return None if value is None else str(value.ip)

    def __repr__(self):
        return f"<Node {self.name}>"


class Testbed:
    """A topology built with *stack* as the DUT, for scripts, notebooks and pytest.

    *topology* is a shipped name (``testbed list topologies``) or a YAML path;
    *stack* a stack name (``testbed stacks``) or a manifest path.  With
    ``live=True`` (default) the topology's ``live_only`` hosts and routers are
    built as real Linux nodes; ``live=False`` builds what a conformance run
    builds, where tester identities stand in for them (use it for
    ``send``/``expect`` as one of those identities: a live node and an
    identity sharing a MAC would confuse the switch).  *stacks* gives other
    hosts and routers a stack of their own ({"h1": "lwip"}; default: what the
    topology's ``stack:`` keys say): ``tb.node("h1").stack`` drives it.
    """

    __test__ = False     # not a test class, though pytest would think so from its name

    def __init__(self, topology="topology-3", stack="linux", live=True, stacks=None):
        self.topology_name, self.stack_name, self.live = topology, stack, live
        self.node_stacks = dict(stacks or {})
        self.topology = self.manifest = self.emulation = None
        self._capture, self._since = None, 0

    # -- life cycle --------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        """Build the topology and start the DUT's stack (``with`` does this for you)."""
        from .network import Emulation, check_environment
        self.manifest = stack_manifests.load(self.stack_name)
        stack_manifests.require_built(self.manifest)
        loaded = topologies.load(self.topology_name)
        self.topology = loaded if self.live else loaded.conformance_view()
        check_environment()
        if threading.current_thread() is threading.main_thread():
            signals.exit_on_termination()      # SIGTERM/SIGHUP unwind, so close() runs
        emulation = Emulation(self.topology, self.manifest,
                              stack_manifests.for_nodes(self.topology, self.node_stacks))
        emulation.start()                      # takes down what it built if it fails
        self.emulation = emulation
        return self

    def close(self):
        """Close the capture and take everything down (idempotent)."""
        with signals.held():
            try:
                if self._capture is not None:
                    self._capture.close()
            finally:
                self._capture = None
                if self.emulation is not None:
                    self.emulation.stop()
                self.emulation = None

    # -- nodes and the DUT -------------------------------------------------

    def node(self, name):
        """The Node called *name* (h1, rtr, dut, tester…)."""
        self._require_running()
        if name not in self.topology.nodes:
            raise InputError(f"{self.topology.name} has no node {name!r} "
                             f"(nodes: {', '.join(self.topology.nodes)})")
        return Node(self, name)

    @property
    def dut(self):
        """The DUT's stack adapter: the control contract (``add_route``, ``set_knob``,
        ``neighbors``, ``ping``… see ``testbed/stacks/contract.py``)."""
        self._require_running()
        return self.emulation.dut

    def address(self, ref, family="ipv4"):
        """The address of "node:ifname" or of a tester identity, as a string."""
        identities = self.topology.identities
        thing = identities[ref] if ref in identities else self.topology.interface(ref)
        value = thing.address(family)
        return None if value is None else str(value.ip)

    def mac(self, ref):
        """The MAC of "node:ifname" or of a tester identity."""
        identities = self.topology.identities
        return (identities[ref] if ref in identities else self.topology.interface(ref)).mac

    # -- shaping -----------------------------------------------------------

    def shape(self, ref, rate=None, delay=None, loss=None):
        """Shape the egress of interface *ref* ("node:ifname") with tc: a *rate* ("10mbit")
        by TBF; *delay*/*loss* need netem (Unsupported where the kernel lacks it)."""
        node, ifname = self._endpoint(ref)
        shaping.apply(self.emulation[node], ifname, rate, delay, loss)

    def unshape(self, ref):
        """Remove the shaping of interface *ref*."""
        node, ifname = self._endpoint(ref)
        shaping.clear(self.emulation[node], ifname)

    # -- packets -----------------------------------------------------------

    @contextmanager
    def capture(self, refs, path):
        """Record every frame on interfaces *refs* ("node:ifname") to pcapng *path* while
        the ``with`` body runs (tcpdump in each node's namespace, merged in time order;
        each frame names its interface).  Yields the Path."""
        self._require_running()
        path = Path(path)
        with tempfile.TemporaryDirectory(prefix="testbed-capture-") as scratch:
            dumps = []
            try:
                for n, ref in enumerate(refs):
                    node, ifname = self._endpoint(ref)
                    part = Path(scratch) / f"{n}.pcap"
                    dumps.append((ref, part, _tcpdump(self.emulation[node], ifname, part)))
                for _, part, proc in dumps:
                    _wait_listening(proc, part)
                yield path
            finally:
                time.sleep(0.05)          # frames still on their way in
                for _, _, proc in dumps:
                    proc.terminate()
                    proc.wait(timeout=5)
            _merge([(ref, part) for ref, part, _ in dumps], path)

    def send(self, identity, packet):
        """Send scapy *packet* (from Ether up) on the tester port of *identity* (a tester
        identity name or "tester:t0"); returns the scapy packet sent.  ``expect`` looks
        for answers from this moment on."""
        capture = self._tester()
        self._since = capture.mark()
        return capture.send(identity, packet).packet

    def expect(self, at, match=None, within=1.0):
        """The first frame (a scapy packet) received at identity or tester port *at* since
        the last ``send`` for which *match* (a function of the packet; default any) is
        true, or None if none came *within* seconds."""
        capture = self._tester()
        found = capture.wait_for(capture.port_of(at), match or (lambda packet: True),
                                 self._since, within)
        return None if found is None else found[1].packet

    def received(self, at):
        """Every frame (scapy packets) received at identity or tester port *at* since the
        last ``send``."""
        capture = self._tester()
        return [frame.packet for frame in capture.received(capture.port_of(at), self._since)]

    def answer_resolution(self, enabled):
        """Let the tester's identities answer ARP and Neighbor Solicitations (default) or not."""
        self._tester().answer_resolution(enabled)

    # -- helpers -----------------------------------------------------------

    def _tester(self):
        """The tester's capture, opened at first use."""
        self._require_running()
        if self._capture is None:
            from .capture import Capture
            self._capture = Capture(self.emulation)
            if self.live:   # a live node answers for itself; its stand-in must not
                self._capture.identities = {name: i for name, i in
                                            self.topology.identities.items() if not i.same_as}
        return self._capture

    def _endpoint(self, ref):
        self._require_running()
        node, _, ifname = str(ref).partition(":")
        if node not in self.topology.nodes or not ifname:
            raise InputError(f"{ref!r} is not node:ifname of {self.topology.name}")
        return node, ifname

    def _require_running(self):
        if self.emulation is None:
            raise InputError("the Testbed is not started: use `with Testbed(...) as tb:`")

    def __repr__(self):
        state = "up" if self.emulation is not None else "down"
        return f"<Testbed {self.topology_name} stack={self.stack_name} {state}>"


def _tcpdump(node, ifname, path):
    return node.popen(["tcpdump", "-i", ifname, "--immediate-mode", "-U", "-n", "-w", str(path)],
                      stdout=open(os.devnull, "wb"), stderr=open(f"{path}.log", "wb"))


def _wait_listening(proc, path, timeout=5.0):
    """Wait until tcpdump says it is listening (its pcap header is written)."""
    deadline = time.monotonic() + timeout
    log = Path(f"{path}.log")
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise InputError(f"tcpdump stopped: {log.read_text().strip()}")
        if "listening on" in log.read_text():
            return
        time.sleep(0.01)
    raise InputError(f"tcpdump did not start within {timeout} s: {shlex.quote(str(path))}")


def _merge(parts, path):
    """Merge the pcaps *parts* [(ref, file)] into one pcapng at *path*, in time order."""
    from scapy.layers.l2 import Ether  # noqa: F401  (registers the link type)
    from scapy.utils import PcapNgWriter, rdpcap
    packets = []
    for ref, part in parts:
        for packet in (rdpcap(str(part)) if part.stat().st_size else []):
            packet.sniffed_on = ref
            packets.append(packet)
    packets.sort(key=lambda packet: packet.time)
    with PcapNgWriter(str(path)) as writer:
        for packet in packets:
            writer.write(packet)
