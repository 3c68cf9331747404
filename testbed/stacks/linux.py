"""The Linux kernel as the stack under test, in the DUT node's own namespace."""

import json
import platform
import select
import shlex
import sys
import time

from ..errors import ControlError, InputError
from ..linuxcmd import (FORWARDING, KERNEL_DEFAULTS, NO_DAD, baseline_sysctls, ip_batch,
                        is_sysctl_name, restore_batches, route_args,
                        router_advertised_defaults, sysctl_command, tx_checksums_in_software)
from .contract import Capability, Datagram, Dut, Neighbor
from .iputils import parse_ping
from .radvd import Advertiser


def _sysctl_name(name):
    if not is_sysctl_name(name):
        raise InputError(f"not a sysctl name: {name!r}")
    return name


class LinuxDut(Dut):
    """The Linux kernel in the DUT's namespace, driven with iproute2, sysctl and ping.

    Its baseline is the one of every Linux DUT (linuxcmd.baseline_sysctls).
    Its manifest may add ``sysctl:`` settings (applied at start and kept by
    every reset) and ``setup:`` commands run once in the DUT after start.
    It advertises as a router through Debian's radvd (stacks/radvd.py).
    """

    capabilities = frozenset(Capability)
    # The kernel's own IPv4 defaults, not the host's (see linuxcmd.KERNEL_DEFAULTS).
    # Steady state from the first moment: no DAD at baseline, so the DUT's
    # link-local address is usable at once (Linux sends no NS for forwarded
    # traffic while it is tentative).  NDP scenarios switch DAD on by knob.
    presets = KERNEL_DEFAULTS + NO_DAD

    def __init__(self, *args):
        super().__init__(*args)
        self._knob_originals = {}
        self._listeners = []
        self._advertiser = Advertiser(self.node, self.folder)

    # -- helpers ---------------------------------------------------------

    def _baseline_sysctls(self):
        return baseline_sysctls(self.baseline.forwarding,
                                {_sysctl_name(k): v for k, v in self.manifest.sysctl.items()})

    def _write_sysctls(self, settings):
        self.shell(sysctl_command(settings), "setting sysctls")

    # -- lifecycle -------------------------------------------------------

    def start(self):
        """Give the DUT its baseline interfaces, addresses, routes and sysctls; run setup."""
        self._restore(present={},
                      first=tx_checksums_in_software(self.baseline.interfaces.values()))
        for command in self.manifest.setup:
            self.shell(command, f"setup command {command!r}")

    def stop(self):
        """Close listeners, stop advertising; the kernel's state goes with the namespace."""
        self._advertiser.reset()
        for listener in self._listeners:
            listener.close()
        self._listeners.clear()

    def reset(self):
        """Restore the baseline, changing only what differs from it."""
        self._advertiser.reset()
        for listener in self._listeners:
            listener.close()
        self._listeners.clear()
        present = json.loads(self.shell("ip -j addr show", "reading addresses") or "[]")
        routes = json.loads(self.shell("ip -6 -j route show proto kernel", "reading routes")
                            or "[]")
        self._restore({entry["ifname"]: entry for entry in present}, kernel_routes=routes)

    def _restore(self, present, first=(), kernel_routes=()):
        """Bring addresses, routes, neighbours and sysctls to the baseline in one round trip.

        The batches go through files in the run's folder; the sysctls through
        one ``sysctl`` process, which also takes manifest and knob names that
        hold a dot of their own (eth0.5).
        """
        lines = restore_batches(
            [(i.name, i.mtu, [a for a in (i.ipv4, i.ipv6) if a is not None])
             for i in self.baseline.interfaces.values()],
            [(r.destination, r.gateway, r.device) for r in self.baseline.routes], present,
            kernel_routes)
        advertised = router_advertised_defaults(
            (i.name, i.mtu) for i in self.baseline.interfaces.values() if i.ipv6 is not None)
        commands = [*first, *(ip_batch(self.folder / f"dut-{family}.ip", lines[family], family)
                              for family in ("ipv4", "ipv6")),
                    sysctl_command({**advertised, **self._knob_originals,
                                    **self._baseline_sysctls()})]
        self.shell(" && ".join(commands), "restoring the baseline")
        self._knob_originals.clear()

    # -- contract hooks --------------------------------------------------

    def _set_link(self, interface, up):
        self.shell(f"ip link set dev {shlex.quote(interface)} {'up' if up else 'down'}",
                   "setting link state")

    def _set_mtu(self, interface, mtu):
        self.shell(f"ip link set dev {shlex.quote(interface)} mtu {mtu}", "setting the MTU")

    def _add_address(self, interface, address):
        # No "nodad": DAD follows accept_dad, off at baseline (NO_DAD), on where a test sets it.
        self.shell(f"ip addr add {address} dev {shlex.quote(interface)}", "adding an address")

    def _remove_address(self, interface, address):
        self.shell(f"ip addr del {address} dev {shlex.quote(interface)}", "removing an address")

    def _add_route(self, destination, gateway, interface):
        self.shell(f"ip {route_args('add', destination, gateway, interface)}", "adding a route")

    def _remove_route(self, destination, gateway, interface):
        self.shell(f"ip {route_args('del', destination, gateway, interface)}",
                   "removing a route")

    def _neighbors(self, interface):
        dev = f" dev {shlex.quote(interface)}" if interface else ""
        entries = json.loads(self.shell(f"ip -j neigh show{dev}", "reading neighbours") or "[]")
        return [Neighbor(e["dst"], e.get("dev", interface), e.get("lladdr"),
                         ",".join(e.get("state", [])) or "NONE") for e in entries]

    def _add_neighbor(self, interface, address, mac):
        self.shell(f"ip neigh replace {address} lladdr {shlex.quote(mac)} dev "
                   f"{shlex.quote(interface)} nud permanent", "adding a neighbour")

    def _flush_neighbors(self, interface, family):
        flag = {"ipv4": "-4 ", "ipv6": "-6 "}.get(family, "")
        where = f"dev {shlex.quote(interface)}" if interface else "all"
        self.shell(f"ip {flag}neigh flush {where} nud all", "flushing neighbours")

    def _set_forwarding(self, family, enabled):
        self._write_sysctls({FORWARDING[family]: int(enabled)})

    def _ping(self, destination, count, size, ttl, dont_fragment, timeout, interval, source):
        args = ["ping", "-n", f"-{destination.version}", "-c", str(count), "-s", str(size),
                "-W", f"{timeout:g}", "-i", f"{interval:g}"]
        if ttl is not None:
            args += ["-t", str(ttl)]
        args += ["-M", "do" if dont_fragment else "dont"]
        if source is not None:
            args += ["-I", str(source)]
        out, _ = self.node.run(shlex.join(args + [str(destination)]) + " 2>&1")
        return parse_ping(str(destination), out)

    def _send_udp(self, destination, port, payload, source_port):
        args = [sys.executable, "-m", "testbed.udp", "send", str(destination), str(port),
                payload.hex()]
        if source_port is not None:
            args += ["--source-port", str(source_port)]
        self.shell(shlex.join(args), "sending UDP")

    def _listen_udp(self, port, family):
        listener = UdpListener(self.node, port, family)
        self._listeners.append(listener)
        return listener

    def _set_knob(self, name, value):
        name = _sysctl_name(name)
        if name not in self._knob_originals:
            self._knob_originals[name] = self._get_knob(name)
        self._write_sysctls({name: value})

    def _get_knob(self, name):
        return self.shell(f"sysctl -n {shlex.quote(_sysctl_name(name))}", f"reading {name}").strip()

    def _advertise(self, interface, *settings):
        self._advertiser.advertise(interface, *settings)


class UdpListener:
    """A UDP socket in the DUT's namespace, reporting datagrams as JSON lines."""

    def __init__(self, node, port, family):
        self.process = node.popen([sys.executable, "-m", "testbed.udp", "listen", str(port),
                                   "--family", family], text=True)
        ready = self.process.stdout.readline()
        if not ready.startswith("listening"):
            self.close()
            raise ControlError(f"linux DUT: cannot listen on UDP port {port}: "
                               f"{ready.strip() or self.process.stderr.read().strip()}")

    def datagrams(self, timeout):
        """The datagrams that arrive within *timeout* seconds; then the listener stops."""
        received, stream = [], self.process.stdout
        deadline = time.monotonic() + timeout
        while select.select([stream], [], [], max(0.0, deadline - time.monotonic()))[0]:
            line = stream.readline()
            if not line:
                break
            item = json.loads(line)
            received.append(Datagram(item["source"], item["port"], bytes.fromhex(item["data"])))
        self.close()
        return received

    def close(self):
        """Stop listening."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            stream.close()


def version():
    """The running kernel's release."""
    return f"Linux {platform.release()}"
