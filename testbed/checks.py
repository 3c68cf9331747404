"""Verifying that a live topology works: the checks behind ``testbed up --check``.

These check the *test bed* — links, addressing, forwarding, the tester's
path to the DUT — not the stack's conformance; that is the scenarios' job.
"""

import itertools
import re
import secrets
from dataclasses import dataclass

FAMILIES = ("ipv4", "ipv6")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check."""

    name: str
    ok: bool | None      # None: not checked (detail says why)
    detail: str = ""


class Checker:
    """Runs the standard checks and the topology's own ``checks:`` on a started Emulation."""

    def __init__(self, emulation):
        self.emulation, self.topology, self.dut = emulation, emulation.topology, emulation.dut

    def run(self):
        """All checks, in order; the DUT is reset to its baseline afterwards."""
        results = [self.dut_alive()]
        results += self.same_network_pings()
        results += self.tester_reaches_dut()
        for check in self.topology.checks:
            results += getattr(self, f"check_{check.kind}")(**check.args)
        if self.dut is not None and self.dut.alive():
            self.dut.reset()
        return results

    # -- building blocks -------------------------------------------------

    def _ping(self, source, address, count=1):
        """Ping *address* from node *source* (through the contract where it runs a stack)."""
        stack = self.emulation.adapters.get(source)
        if stack is not None:
            if not stack.supports("ping", f"ipv{address.version}"):
                return False, f"the {stack.name} stack cannot ping"
            result = stack.ping(address, count=count, interval=0.05)
            return result.received > 0, "; ".join(result.errors)
        out, rc = self.emulation[source].run(
            f"ping -n -c {count} -i 0.05 -W 1 {address} 2>&1 | tail -n 2")
        return rc == 0, "" if rc == 0 else out.strip().splitlines()[0]

    def _members(self):
        """Network name -> [(node name, Interface)] of addressed, non-tester nodes."""
        members = {}
        for node in self.topology.nodes.values():
            if node.role in ("tester", "switch"):
                continue
            for intf in node.interfaces.values():
                if intf.network:
                    members.setdefault(intf.network, []).append((node.name, intf))
        return members

    # -- the checks ------------------------------------------------------

    def dut_alive(self):
        """The DUT's stack answers its control channel."""
        ok = self.dut is not None and self.dut.alive()
        return CheckResult("DUT stack is alive", ok, "" if ok else "no answer from the DUT")

    def same_network_pings(self):
        """Every pair of real nodes on a network reaches each other, in both families."""
        results = []
        for network, members in self._members().items():
            for (a, _), (b, intf_b) in itertools.combinations(members, 2):
                for family in FAMILIES:
                    address = intf_b.address(family)
                    if address is None:
                        continue
                    ok, detail = self._ping(a, address.ip)
                    results.append(CheckResult(f"{network}: {a} → {b} {address.ip}", ok, detail))
        return results

    def tester_reaches_dut(self):
        """Each tester interface's first identity resolves the DUT (ARP and NDP)."""
        results = []
        dut_interfaces = {i.network: i for i in self.topology.dut.interfaces.values()}
        for tester in self.topology.nodes_with_role("tester"):
            for intf in tester.interfaces.values():
                target = dut_interfaces.get(intf.network)
                if target is None or not intf.identities:
                    continue
                identity = next(iter(intf.identities.values()))
                with self._port(intf) as port:
                    if identity.ipv4 and target.ipv4:
                        results.append(self._arp(port, intf, identity, target))
                    if identity.ipv6 and target.ipv6:
                        results.append(self._ndp(port, intf, identity, target))
        return results

    def _port(self, intf):
        from .wire import Port
        return Port(self.emulation[intf.node].pid, intf.name)

    def _arp(self, port, intf, identity, target):
        from scapy.layers.l2 import ARP
        reply = self._resolve(port, identity, target, "ipv4")
        name = f"{intf.ref} {identity.name}: ARP for DUT {target.ipv4.ip}"
        if reply is None:
            return CheckResult(name, False, "no ARP reply within 1 s")
        ok = reply[ARP].hwsrc == target.mac and reply[ARP].pdst == str(identity.ipv4.ip)
        return CheckResult(name, ok, "" if ok else f"reply carried MAC {reply[ARP].hwsrc}")

    def _ndp(self, port, intf, identity, target):
        reply = self._resolve(port, identity, target, "ipv6")
        name = f"{intf.ref} {identity.name}: NDP for DUT {target.ipv6.ip}"
        return CheckResult(name, reply is not None, "" if reply else "no Neighbor Advertisement")

    @staticmethod
    def _resolve(port, identity, target, family):
        from .packets import resolution_probe
        stimulus, match = resolution_probe(identity, target, family)
        port.send(stimulus)
        return port.expect(match, timeout=1.0)

    def check_ping(self, **args):
        """``ping: {from, to}``: node *from* reaches interface *to* (routed), both families."""
        source, target = args["from"], self.topology.interface(args["to"])
        results = []
        for family in FAMILIES:
            if target.address(family) is not None:
                ok, detail = self._ping(source, target.address(family).ip)
                results.append(CheckResult(f"{source} → {args['to']} {target.address(family).ip}",
                                           ok, detail))
        return results

    def check_redirect(self, **args):
        """``redirect: {from, to, gateway}``: the DUT redirects *from* to *gateway* and *from* uses it."""
        source, node = args["from"], self.emulation[args["from"]]
        target = self.topology.interface(args["to"])
        gateway = self.topology.interface(args["gateway"])
        stack = self.emulation.adapters.get(source)
        if stack is not None and stack.kernel_silent:
            return [CheckResult(f"{source} → {args['to']} redirected", None,
                                f"not checked: {source} runs {stack.name}, and the check "
                                "reads the kernel's counters and routes")]
        results = []
        for family, table, counter in (("ipv4", "/proc/net/snmp", "InRedirects"),
                                       ("ipv6", "/proc/net/snmp6", "Icmp6InRedirects")):
            if target.address(family) is None or gateway.address(family) is None:
                continue
            flag = "-4" if family == "ipv4" else "-6"
            before = _snmp(node.run(f"cat {table}")[0], counter)
            node.run(f"ip {flag} route flush cache; ping -n -c 3 -i 0.05 -W 1 "
                     f"{target.address(family).ip}")
            after = _snmp(node.run(f"cat {table}")[0], counter)
            route = node.run(f"ip {flag} route get {target.address(family).ip}")[0]
            hop = gateway.ipv4.ip if family == "ipv4" else gateway.ipv6_link_local
            via = f"via {hop} "
            ok = after > before and via in route
            detail = "" if ok else (f"{source} received {after - before} redirect(s); "
                                    f"route now: {' '.join(route.split())}")
            results.append(CheckResult(f"{source} → {args['to']} redirected to {hop}",
                                       ok, detail))
        return results

    def check_forward(self, **args):
        """``forward: {from, to}``: the DUT forwards a packet between two tester identities."""
        from scapy.layers.inet import ICMP, IP
        from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
        from scapy.layers.l2 import Ether
        source = self.topology.identities[args["from"]]
        target = self.topology.identities[args["to"]]
        src_if, dst_if = (self.topology.interface(i.interface) for i in (source, target))
        ingress = next(i for i in self.topology.dut.interfaces.values()
                       if i.network == src_if.network)
        egress = next(i for i in self.topology.dut.interfaces.values()
                      if i.network == dst_if.network)
        results = []
        for family in FAMILIES:
            if source.address(family) is None or target.address(family) is None:
                continue
            name = f"DUT forwards {args['from']} → {args['to']} ({family})"
            if not self.dut.supports("neighbors", family):
                results.append(CheckResult(name, False, f"{self.dut.name} cannot add neighbours"))
                continue
            self.dut.add_neighbor(egress.name, target.address(family).ip, target.mac)
            ident = secrets.randbelow(0xFFFF)
            if family == "ipv4":
                packet = IP(src=str(source.ipv4.ip), dst=str(target.ipv4.ip), ttl=64) / \
                    ICMP(id=ident)
                layer, hop = IP, "ttl"
            else:
                packet = IPv6(src=str(source.ipv6.ip), dst=str(target.ipv6.ip), hlim=64) / \
                    ICMPv6EchoRequest(id=ident)
                layer, hop = IPv6, "hlim"
            with self._port(dst_if) as out_port, self._port(src_if) as in_port:
                in_port.send(Ether(src=source.mac, dst=ingress.mac) / packet)
                seen = out_port.expect(
                    lambda f: layer in f and f[layer].dst == str(target.address(family).ip)
                    and getattr(f[layer].payload, "id", None) == ident, timeout=1.0)
            if seen is None:
                results.append(CheckResult(name, False, f"nothing arrived on {dst_if.ref}"))
                continue
            problems = []
            if getattr(seen[layer], hop) != 63:
                problems.append(f"{hop} {getattr(seen[layer], hop)}, expected 63")
            if seen.src != egress.mac or seen.dst != target.mac:
                problems.append(f"MACs {seen.src} → {seen.dst}")
            results.append(CheckResult(name, not problems, "; ".join(problems)))
        return results


def _snmp(text, counter):
    """The value of *counter* in /proc/net/snmp (two-line tables) or snmp6 (name value)."""
    lines = text.splitlines()
    for header, values in zip(lines, lines[1:]):
        names, numbers = header.split(), values.split()
        if counter in names and names[0] == numbers[0]:
            return int(numbers[names.index(counter)])
    for line in lines:
        match = re.match(rf"^{counter}\s+(\d+)", line)
        if match:
            return int(match[1])
    return 0
