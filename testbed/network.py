"""Build a Topology as real Mininet namespaces, veth links and Linux bridges.

Every node, switches included, lives in a network namespace of its own, so
nothing is created in the host's namespace and bridged traffic never meets
the host's firewall.  Mininet's own start-up (``Mininet.init``) would raise
host sysctls such as ``net.core.wmem_max``; the test bed skips it, because a
run must leave the host as it found it.
"""

import os
import shlex
import signal
import time

from mininet.link import Intf, Link
from mininet.net import Mininet
from mininet.node import Host, Switch

from . import runstate
from .errors import EnvironmentProblem

# Sysctls set in a node's namespace before its links exist, so that new
# interfaces inherit them (``default``) from their first moment.
SILENT = ("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
NO_DAD = ("net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
BRIDGE_NO_NETFILTER = tuple(f"net.bridge.bridge-nf-call-{t}tables=0" for t in ("arp", "ip", "ip6"))


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
    """A veth pair whose two ends get distinct interface indexes.

    The kernel handles a veth's carrier change at once only when the device's
    index differs from its peer's (``linkwatch_urgent_event``); in fresh
    namespaces both ends are usually index 2, and the change then waits up to
    a second, during which the qdisc drops every packet.
    """

    def __init__(self, node1, node2, index1, index2, **params):
        self.indexes = (index1, index2)
        super().__init__(node1, node2, **params)

    def makeIntfPair(self, intfname1, intfname2, addr1=None, addr2=None,
                     node1=None, node2=None, deleteIntfs=True):
        """Create the pair from inside node1's namespace, the peer straight in node2's."""
        out = node1.cmd(f"ip link add name {intfname1} address {addr1} index {self.indexes[0]} "
                        f"type veth peer name {intfname2} address {addr2} "
                        f"index {self.indexes[1]} netns {node2.pid}")
        if out.strip():
            raise EnvironmentProblem(f"cannot create veth {intfname1}-{intfname2}: {out.strip()}")


class TestbedNode(Host):
    """A node in its own namespace, with sysctls applied before any link."""

    def __init__(self, name, presets=(), **params):
        super().__init__(name, inNamespace=True, **params)
        sysctls = f"sysctl -qw {' '.join(presets)} 2>/dev/null; " if presets else ""
        self.cmd(sysctls + "ip link set dev lo up")

    def run(self, script):
        """Run a shell script in the node; return (output, exit status of the last command)."""
        out = self.cmd(f"{script} ; printf '\\n__rc=%d' $?")
        body, _, rc = out.rpartition("__rc=")
        return body.rstrip("\r\n").replace("\r\n", "\n"), int(rc.strip() or 1)


class Bridge(Switch):
    """A Linux bridge in a namespace of its own (no STP, no snooping, no filtering)."""

    def __init__(self, name, **params):
        params.pop("inNamespace", None)
        super().__init__(name, dpid="1", inNamespace=True, **params)
        self.controlIntf = None
        self.cmd("sysctl -qw " + " ".join(SILENT + BRIDGE_NO_NETFILTER) + " 2>/dev/null")

    def start(self, _controllers):
        """Create the bridge device and enslave every port."""
        lines = ["ip link add name br0 type bridge stp_state 0 forward_delay 0 "
                 "mcast_snooping 0",
                 "ip link set dev br0 up"]
        lines += [f"ip link set dev {intf} master br0 up" for intf in self.intfList()]
        self.cmd(" && ".join(lines))

    def stop(self, deleteIntfs=True):
        """Stop the bridge; its namespace (and everything in it) goes with the shell."""
        self.terminate()


class Network:
    """A running topology: Mininet nodes, links, and the DUT's stack.

    Use as a context manager, or call ``start()`` and ``stop()``; ``stop()``
    also sweeps any process left in the run's namespaces.
    """

    def __init__(self, topology, stack=None, run=None):
        self.topology, self.stack_spec = topology, stack
        self.run = run or runstate.Run.create(topology.name, stack.name if stack else None)
        self.net, self.dut = None, None

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
        os.environ[runstate.MARKER] = self.run.id
        Mininet.inited = True   # skip Mininet.init(): it rewrites host sysctls
        self.net = Mininet(topo=None, build=False, controller=None, ipBase="198.18.0.0/15",
                           intf=PresetIntf, waitConnected=False)
        try:
            self._build()
        except BaseException:
            self.stop()
            raise
        self.run.save(self.describe())

    def _build(self):
        topo = self.topology
        for node in topo.nodes.values():
            if node.role == "switch":
                self.net.addSwitch(node.name, cls=Bridge)
            else:
                self.net.addHost(node.name, cls=TestbedNode, ip=None,
                                 presets=self._presets(node))
        for number, (a, b) in enumerate(topo.links):
            ia, ib = topo.interface(a), topo.interface(b)
            self.net.addLink(ia.node, ib.node, cls=VethLink, index1=10 + 2 * number,
                             index2=11 + 2 * number, intfName1=ia.name, intfName2=ib.name,
                             addr1=ia.mac, addr2=ib.mac)
        for node in self.net.switches:
            node.start([])
        for node in topo.nodes.values():
            if node.role in ("tester", "host", "router"):
                out, rc = self.net[node.name].run(configure_script(node))
                if rc:
                    raise EnvironmentProblem(f"could not configure node {node.name}: "
                                             f"{out.strip() or f'exit {rc}'}")
        if self.stack_spec is not None:
            self.dut = self.stack_spec.adapter(self.net[topo.dut.name], topo.dut,
                                               self.stack_spec, self.run)
            self.dut.start()
        self._wait_operational()

    def _wait_operational(self, timeout=2.0):
        """Wait until every veth end is operationally up (until then its qdisc drops)."""
        for node in self.net.hosts:
            names = " ".join(shlex.quote(i.name) for i in node.intfList() if i.name != "lo")
            if not names:
                continue
            script = (f"for _ in $(seq {int(timeout * 100)}); do ok=1; for i in {names}; do "
                      "[ \"$(cat /sys/class/net/$i/operstate)\" = up ] || ok=0; done; "
                      "[ $ok = 1 ] && break; sleep 0.01; done; [ $ok = 1 ]")
            if node.run(script)[1]:
                raise EnvironmentProblem(f"interfaces of {node.name} did not come up")

    def _presets(self, node):
        if node.role == "tester":
            return SILENT
        if node.role == "dut":
            return self.stack_spec.adapter.presets if self.stack_spec else SILENT
        return NO_DAD

    def describe(self):
        """The state a detached run publishes: node shells, namespaces, table rows."""
        return {
            "topology": self.topology.name,
            "source": str(self.topology.source),
            "stack": self.stack_spec.name if self.stack_spec else None,
            "nodes": {name: {"pid": node.pid, "role": self.topology.nodes[name].role}
                      for name, node in self.net.nameToNode.items()},
            "namespaces": sorted(runstate.namespaces_of(
                node.pid for node in self.net.nameToNode.values())),
            "table": table_rows(self.topology),
        }

    def stop(self):
        """Stop the stack, end every node, and sweep the run's namespaces."""
        try:
            if self.dut is not None:
                self.dut.stop()
        finally:
            namespaces = runstate.namespaces_of(
                n.pid for n in (self.net.nameToNode.values() if self.net else ()))
            if self.net is not None:
                for node in self.net.nameToNode.values():
                    if node.shell:
                        _hang_up(node)
            runstate.sweep(self.run.id, namespaces)
            self.run.remove()
            self.net = None


def _hang_up(node):
    """End a node's shell and its process group, then reap it."""
    try:
        os.killpg(node.shell.pid, signal.SIGHUP)
    except ProcessLookupError:
        pass
    node.cleanup()


def configure_script(node):
    """The shell script that gives a plain node (tester, host, router) its baseline."""
    lines = []
    for intf in node.interfaces.values():
        name = shlex.quote(intf.name)
        lines.append(f"ethtool -K {name} tx off >/dev/null 2>&1")
        if node.role == "tester":
            lines.append(f"ip link set dev {name} mtu {intf.mtu} promisc on up")
            continue
        lines.append(f"ip link set dev {name} mtu {intf.mtu} up")
        if intf.ipv4:
            lines.append(f"ip -4 addr add {intf.ipv4} dev {name}")
        if intf.ipv6:
            lines.append(f"ip -6 addr add {intf.ipv6} dev {name} nodad")
    for family in ("ipv4", "ipv6"):
        on = int(family in node.forwarding)
        key = "net.ipv4.ip_forward" if family == "ipv4" else "net.ipv6.conf.all.forwarding"
        lines.append(f"sysctl -qw {key}={on}")
    for route in node.routes:
        lines.append(route_command("add", route.destination, route.gateway, route.device))
    return " && ".join(lines) if lines else "true"


def route_command(verb, destination, gateway=None, device=None):
    """An ``ip route`` command line for *verb* ("add"/"del")."""
    family = "-4" if destination.version == 4 else "-6"
    command = f"ip {family} route {verb} {destination}"
    if gateway is not None:
        command += f" via {gateway}"
    if device is not None:
        command += f" dev {shlex.quote(device)}"
    return command + " proto static"


def table_rows(topology):
    """Rows (node, role, interface, MAC, IPv4, IPv6) describing every endpoint and identity."""
    rows = []
    for node in topology.nodes.values():
        if node.role == "switch":
            ports = ", ".join(sorted(node.interfaces))
            rows.append([node.name, "switch", ports, "", "", ""])
            continue
        for intf in node.interfaces.values():
            rows.append([node.name, node.role, intf.name, intf.mac,
                         str(intf.ipv4 or ""), str(intf.ipv6 or "")])
            for ident in intf.identities.values():
                rows.append(["", f"  emulates {ident.name}", intf.name, ident.mac,
                             str(ident.ipv4 or ""), str(ident.ipv6 or "")])
    return rows


def check_environment():
    """Raise EnvironmentProblem unless we are root and Mininet's mnexec is installed."""
    if os.geteuid() != 0:
        raise EnvironmentProblem("testbed needs root (network namespaces): run it with sudo")
    if not any(os.access(os.path.join(d, "mnexec"), os.X_OK)
               for d in os.environ.get("PATH", "/usr/bin").split(":")):
        raise EnvironmentProblem("Mininet's mnexec is missing: run scripts/setup "
                                 "(it installs Debian's mininet package)")


def wait_until(predicate, timeout, interval=0.01):
    """Poll *predicate* until true or *timeout* seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
