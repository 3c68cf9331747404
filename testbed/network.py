"""Build a Topology as real Mininet namespaces, veth links and Linux bridges (Emulation).

Every node, switches included, lives in a network namespace of its own, so
nothing is created in the host's namespace and bridged traffic never meets
the host's firewall.  Mininet's own start-up (``Mininet.init``) would raise
host sysctls such as ``net.core.wmem_max``; the test bed skips it, because a
run must leave the host as it found it.
"""

import os
import shlex
import shutil
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from mininet.link import Intf, Link
from mininet.net import Mininet
from mininet.node import Host, Switch
from mininet.util import numCores

from . import nodeshell, runstate, shaping, signals
from .errors import EnvironmentProblem, Unsupported
from .linuxcmd import (BRIDGE_NO_NETFILTER, FORWARDING, KERNEL_DEFAULTS, NO_DAD, SILENT,
                       ip_batch, proc_writes, route_args, tx_checksums_in_software)


class PresetIntf(Intf):
    """A veth end whose MAC was set when the pair was created.

    Mininet's Intf would set the MAC again and bring the link up with three
    ``ifconfig`` runs; the test bed configures each node in one batch instead.
    """

    def config(self, mac=None, ip=None, **_params):
        """Record the MAC; configuration happens in the node's batch."""
        self.mac = mac
        return {}


class VethLink(Link):
    """A veth pair, created beforehand by ``veth_batch`` (one ``ip -batch`` per node).

    Its two ends get distinct interface indexes: the kernel handles a veth's
    carrier change at once only when the device's index differs from its
    peer's (``linkwatch_urgent_event``); in fresh namespaces both ends are
    usually index 2, and the change then waits up to a second, during which
    the qdisc drops every packet.
    """

    def makeIntfPair(self, *args, **kwargs):
        """Nothing to do: the pair exists already."""


def veth_batch(ends):
    """``ip -batch`` lines creating veth pairs from inside the first end's namespace.

    *ends* is a list of (name1, mac1, index1, name2, mac2, index2, peer pid).
    """
    return [f"link add name {n1} address {m1} index {i1} type veth peer name {n2} "
            f"address {m2} index {i2} netns {pid}" for n1, m1, i1, n2, m2, i2, pid in ends]


class TestbedNode(Host):
    """A node in its own namespace, with sysctls applied before any link."""

    def __init__(self, name, presets=(), **params):
        super().__init__(name, inNamespace=True, **params)
        if presets:
            self.cmd(proc_writes(presets))

    def run(self, script, timeout=60.0):
        """Run a shell script in the node; return (output, exit status of the last command)."""
        return nodeshell.run(self, script, timeout)


class Bridge(Switch):
    """A Linux bridge in a namespace of its own (no STP, no snooping, no filtering)."""

    def __init__(self, name, **params):
        params.pop("inNamespace", None)
        super().__init__(name, dpid="1", inNamespace=True, **params)
        self.controlIntf = None
        self.cmd(proc_writes(SILENT + BRIDGE_NO_NETFILTER) + " 2>/dev/null")

    def start_script(self):
        """The commands that create the bridge and enslave every port."""
        lines = ["ip link add name br0 type bridge stp_state 0 forward_delay 0 "
                 "mcast_snooping 0",
                 "ip link set dev br0 up"]
        lines += [f"ip link set dev {intf} master br0 up" for intf in self.intfList()]
        return " && ".join(lines)

    def stop(self, deleteIntfs=True):
        """Stop the bridge; its namespace (and everything in it) goes with the shell."""
        self.terminate()


class Emulation:
    """A topology emulated on this machine: Mininet nodes, links, and the stacks.

    *manifest* is the DUT's stack; *stacks* maps other nodes to the stacks they
    run (default: what the topology's ``stack:`` keys name; see
    ``stacks.for_nodes``).  Every node running a stack gets an adapter
    (``adapters``; ``dut`` is the DUT's).  (Not a topology's ``Network``,
    which is one of its L2 segments.)

    Use as a context manager, or call ``start()`` and ``stop()``; ``stop()``
    also sweeps any process left in the run's namespaces.
    """

    def __init__(self, topology, manifest=None, stacks=None):
        from .stacks import for_nodes
        self.topology, self.manifest = topology, manifest
        self.stacks = for_nodes(topology) if stacks is None else dict(stacks)
        self.run, self.net, self.dut, self.adapters = None, None, None, {}
        self._marker_before = None
        self.notes = []    # what the nodes' stacks could not take

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def __getitem__(self, name):
        """The Mininet node called *name*."""
        return self.net[name]

    def start(self):
        """Build namespaces and links, configure every node, start the DUT's stack."""
        check_environment()
        try:
            self.run = runstate.Run.create(self.topology.name,
                                           self.manifest.name if self.manifest else None)
            self._marker_before = os.environ.get(runstate.MARKER)
            os.environ[runstate.MARKER] = self.run.id
            Mininet.inited = True   # skip Mininet.init(): it rewrites host sysctls
            numCores.ncores = os.cpu_count()   # not Mininet's `grep` of /proc/cpuinfo
            self.net = Mininet(topo=None, build=False, controller=None,
                               ipBase="198.18.0.0/15", intf=PresetIntf, waitConnected=False)
            self._build()
            self.run.save(self.describe())
        except BaseException:   # Ctrl-C included: take down whatever exists
            self.stop()
            raise

    def _build(self):
        topo = self.topology
        self._add_nodes()
        self._add_links()
        scripts = {node: node.start_script() for node in self.net.switches}
        scripts.update({self.net[node.name]: self._batch_command(node.name,
                                                                 configure_batch(node),
                                                                 configure_script(node))
                        for node in topo.nodes.values()
                        if node.role in ("tester", "host", "router")
                        and node.name not in self.stacks})
        pending = nodeshell.send(scripts)          # the nodes configure themselves meanwhile
        if self.manifest is not None:
            self.dut = self.adapters[topo.dut.name] = self.manifest.adapter(
                self.net[topo.dut.name], topo.dut, self.manifest, self.run)
            self.dut.start()
        for name, manifest in self.stacks.items():
            self._start_node_stack(topo.nodes[name], manifest)
        for node, (out, rc) in nodeshell.finish(pending).items():
            if rc:
                raise EnvironmentProblem(f"could not configure node {node.name}: "
                                         f"{out.strip() or f'exit {rc}'}")
        self._wait_operational()
        self._shape_links()

    def _start_node_stack(self, node, manifest):
        """Start the stack of a node other than the DUT, then add its routes one by one.

        A route the stack cannot hold (lwIP takes IPv6 routes only from Router
        Advertisements) becomes a note, and the node runs without it: a live node
        is for watching a stack, and what it can do is still worth watching.
        (Its ``reset`` returns to the stack's start: addresses, no routes.)
        """
        adapter = manifest.adapter(self.net[node.name], replace(node, routes=[]), manifest,
                                   self.run)
        self.adapters[node.name] = adapter
        adapter.start()
        for route in node.routes:
            try:
                adapter.add_route(route.destination, route.gateway, route.device)
            except Unsupported as exc:
                self.notes.append(f"{node.name} ({manifest.name}) has no route to "
                                  f"{route.destination}: {exc}")

    def _shape_links(self):
        """Apply the topology's link shaping, in both directions (tc on each end)."""
        for (a, b), spec in self.topology.shaping.items():
            for end in (a, b):
                node, _, ifname = end.partition(":")
                shaping.apply(self.net[node], ifname, spec.rate, spec.delay, spec.loss)

    def _add_nodes(self):
        """Start every node's shell at once, then register them in file order.

        check_environment has found the tools; Mininet's own per-class check of
        them runs a `which` subprocess per tool from every thread that arrives
        before the first has finished (ten for topology-3, a quarter of `up`).
        """
        TestbedNode.isSetup = Bridge.isSetup = True

        def make(node):
            if node.role == "switch":
                return Bridge(node.name)
            return TestbedNode(node.name, presets=self._presets(node))
        with ThreadPoolExecutor(max_workers=8, initializer=signals.main_thread_only) as pool:
            made = list(pool.map(make, self.topology.nodes.values()))
        for node in made:
            (self.net.switches if isinstance(node, Bridge) else self.net.hosts).append(node)
            self.net.nameToNode[node.name] = node

    def _batch_command(self, name, lines, before=""):
        """A command running *before*, then iproute2 *lines* in one process."""
        run = ip_batch(self.run.dir / f"{name}.ip", lines)
        return f"{before} && {run}" if before else run

    def _add_links(self):
        """Create every veth pair (one batch per node, all nodes at once), then record them."""
        topo, ends = self.topology, {}
        for number, (a, b) in enumerate(topo.links):
            ia, ib = topo.interface(a), topo.interface(b)
            ends.setdefault(ia.node, []).append(
                (ia.name, ia.mac, 10 + 2 * number, ib.name, ib.mac, 11 + 2 * number,
                 self.net[ib.node].pid))
        batches = {self.net[node]: self._batch_command(f"{node}-links", veth_batch(pairs))
                   for node, pairs in ends.items()}
        created = nodeshell.finish(nodeshell.send(batches))
        for node, (out, rc) in created.items():
            if rc:
                raise EnvironmentProblem(f"cannot create the links of {node.name}: {out.strip()}")
        for a, b in topo.links:
            ia, ib = topo.interface(a), topo.interface(b)
            self.net.addLink(ia.node, ib.node, cls=VethLink, intfName1=ia.name,
                             intfName2=ib.name, addr1=ia.mac, addr2=ib.mac)

    def _wait_operational(self, timeout=2.0):
        """Wait until every veth end is operationally up (until then its qdisc drops).

        Shell built-ins only: a fork per check would cost more than the wait."""
        scripts = {}
        for node in self.net.hosts:
            names = " ".join(shlex.quote(i.name) for i in node.intfList() if i.name != "lo")
            if names:
                scripts[node] = (
                    f"for ((n = 0; n < {int(timeout * 100)}; n++)); do ok=1; for i in {names}; do "
                    "read -r state < /sys/class/net/$i/operstate; [ \"$state\" = up ] || ok=0; "
                    "done; "
                    "[ $ok = 1 ] && break; sleep 0.01; done; [ $ok = 1 ]")
        for node, (_, rc) in nodeshell.finish(nodeshell.send(scripts)).items():
            if rc:
                raise EnvironmentProblem(f"interfaces of {node.name} did not come up")

    def _presets(self, node):
        if node.role == "tester":
            return SILENT
        if node.role == "dut":
            return self.manifest.adapter.presets if self.manifest else SILENT
        if node.name in self.stacks:
            return self.stacks[node.name].adapter.presets
        return KERNEL_DEFAULTS + NO_DAD

    def describe(self):
        """The state a detached run publishes: node shells, namespaces, table rows."""
        stacks = self.stack_names()
        return {
            "topology": self.topology.name,
            "source": str(self.topology.source),
            "stack": self.manifest.name if self.manifest else None,
            "nodes": {name: {"pid": node.pid, "role": self.topology.nodes[name].role,
                             "address": self.topology.first_address(name),
                             "stack": stacks.get(name),
                             "kernel_silent": name in self.adapters
                             and self.adapters[name].kernel_silent}
                      for name, node in self.net.nameToNode.items()},
            "namespaces": sorted(runstate.namespaces_of(
                node.pid for node in self.net.nameToNode.values())),
            "table": table_rows(self.topology, stacks),
            "notes": self.notes,
        }

    def stack_names(self):
        """{node name: stack name} for every node running a stack, the DUT included."""
        return stack_names(self.topology, self.manifest, self.stacks)

    def stop(self):
        """Stop the stacks, end every node, and sweep the run's namespaces.

        Ctrl-C and termination signals wait until this is done.
        """
        with signals.held():
            try:
                for adapter in self.adapters.values():
                    adapter.stop()
            finally:
                nodes = list(self.net.nameToNode.values()) if self.net else []
                # Sweep while the node shells still hold the namespaces: once a
                # namespace dies the kernel reuses its number for the next one
                # created, perhaps by a run side by side, which a later sweep
                # by number would hit.
                if self.run is not None:
                    runstate.sweep(self.run.id, runstate.namespaces_of(n.pid for n in nodes))
                for node in nodes:
                    if node.shell:
                        _hang_up(node)
                if self.run is not None:
                    self.run.remove()
                    _restore_marker(self._marker_before)
                self.net, self.dut, self.adapters = None, None, {}


def _restore_marker(value):
    """Give this process back the run marker it had before (none, usually): a process it
    starts later (multiprocessing's resource tracker) must not pass for this run's."""
    if value is None:
        os.environ.pop(runstate.MARKER, None)
    else:
        os.environ[runstate.MARKER] = value


def _hang_up(node):
    """End a node's shell and its process group, then reap it."""
    try:
        os.killpg(node.shell.pid, signal.SIGHUP)
    except ProcessLookupError:
        pass
    node.cleanup()


def configure_script(node):
    """The commands before a plain node's (tester, host, router) iproute2 batch."""
    writes = [f"{FORWARDING[f]}={int(f in node.forwarding)}" for f in ("ipv4", "ipv6")]
    return " && ".join([*tx_checksums_in_software(node.interfaces.values()),
                        proc_writes(writes)])


def configure_batch(node):
    """``ip -batch`` lines giving a plain node its links' state, addresses and routes."""
    lines = ["link set dev lo up"]
    for intf in node.interfaces.values():
        if node.role == "tester":
            lines.append(f"link set dev {intf.name} mtu {intf.mtu} promisc on up")
            continue
        lines.append(f"link set dev {intf.name} mtu {intf.mtu} up")
        if intf.ipv4:
            lines.append(f"addr add {intf.ipv4} dev {intf.name}")
        if intf.ipv6:
            lines.append(f"addr add {intf.ipv6} dev {intf.name} nodad")
    lines += [route_args("add", r.destination, r.gateway, r.device) for r in node.routes]
    return lines


def stack_names(topology, manifest, stacks):
    """{node name: stack name}: the DUT's *manifest* (if any) and the other nodes' *stacks*
    ({node name: Manifest})."""
    names = {name: other.name for name, other in stacks.items()}
    if manifest is not None:
        names[topology.dut.name] = manifest.name
    return names


def table_rows(topology, stacks=None):
    """Rows (node, role, interface, MAC, IPv4, IPv6) describing every endpoint and identity;
    a node in *stacks* ({node name: stack name}) shows its stack beside its role."""
    rows = []
    for node in topology.nodes.values():
        if node.role == "switch":
            ports = ", ".join(sorted(node.interfaces))
            rows.append([node.name, "switch", ports, "", "", ""])
            continue
        role = f"{node.role} ({stacks[node.name]})" if node.name in (stacks or {}) else node.role
        for intf in node.interfaces.values():
            rows.append([node.name, role, intf.name, intf.mac,
                         str(intf.ipv4 or ""), str(intf.ipv6 or "")])
            for ident in intf.identities.values():
                rows.append(["", f"  emulates {ident.name}", intf.name, ident.mac,
                             str(ident.ipv4 or ""), str(ident.ipv6 or "")])
    return rows


def check_environment():
    """Raise EnvironmentProblem unless we are root and Mininet's tools are installed."""
    if os.geteuid() != 0:
        raise EnvironmentProblem("testbed needs root (network namespaces): run it with sudo")
    for tool in ("mnexec", "ifconfig"):       # what Mininet's nodes need
        if shutil.which(tool) is None:
            raise EnvironmentProblem(f"Mininet's {tool} is missing: run scripts/setup "
                                     "(it installs Debian's mininet package)")
