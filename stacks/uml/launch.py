"""User-Mode Linux as the stack under test: the shim speaking stacks/PROTOCOL.md.

``launch.py --control SOCKET --run DIR IFNAME...`` serves the control protocol.
On ``configure`` it boots Debian's linux.uml on the DUT's interfaces (the
vector driver's raw transport, with the topology's MACs) and a hostfs root:
the host's own file system, read-only, so the guest runs the host's iproute2,
sysctl and ping.  Its init is ``agent``, a shell that runs scripts for this
launcher on the guest's first serial line, bound to a socketpair.
"""

import argparse
import ipaddress
import json
import os
import re
import select
import shlex
import socket
import struct
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))   # testbed itself, when run from a checkout

from testbed.linuxcmd import (FORWARDING, baseline_sysctls, is_sysctl_name,  # noqa: E402
                              proc_writes, restore_batches, route_args,
                              router_advertised_defaults, sysctl_command)
from testbed.stacks.iputils import parse_ping    # noqa: E402
from testbed.stacks.serve import Refused, Shim     # noqa: E402

KERNEL = "/usr/bin/linux.uml"
UDP_TOOL = HERE / "bin" / "uml-udp"
BOOT_TIMEOUT = 10.0   # seconds from starting linux.uml to the agent's "@@ready"
OP_TIMEOUT = 0.9      # seconds a guest script may take for an ordinary operation
# Kernel options: a small guest that skips the RAID6/XOR speed tests of the
# built-in btrfs (almost a second of boot), keeps the console on stderr and
# gives no other serial line or console a host pty.
BOOT_OPTIONS = ["mem=128M", "rootfstype=hostfs", "rootflags=/", "ro", "quiet",
                "initcall_blacklist=raid6_select_algo,calibrate_xor_blocks",
                "con=null", "con0=null,fd:2", "ssl=null"]
# The raw socket under each vector interface reads back the frames UML sends
# (PACKET_OUTGOING), and the driver attaches no filter for them on its raw
# transport: this classic BPF program, loaded with bpffile=, drops them.
NO_OUTGOING = b"".join(struct.pack("<HBBI", *insn) for insn in (
    (0x20, 0, 0, 0xfffff004),   # ld pkttype (SKF_AD_OFF + SKF_AD_PKTTYPE)
    (0x15, 0, 1, 4),            # jeq PACKET_OUTGOING
    (0x06, 0, 0, 0),            # ret 0: drop
    (0x06, 0, 0, 0x40000)))     # ret: the whole frame
_RESULT = re.compile(rb"\n@@rc (\d+) (\d+)\n")


class Guest:
    """A running UML kernel and the agent shell on its serial line."""

    def __init__(self, run, interfaces):
        """Boot on *interfaces* ([(name, mac)]), keeping UML's files in *run*."""
        self.channel, theirs = socket.socketpair()
        bpf = Path(run) / "no-outgoing.bpf"
        bpf.write_bytes(NO_OUTGOING)
        vectors = [f"vec{i}:transport=raw,ifname={name},mac={mac},bpffile={bpf}"
                   for i, (name, mac) in enumerate(interfaces)]
        # The guest's scratch space: a tmpfs the agent mounts over this empty
        # folder of the run's (not over /tmp, which may hold the checkout
        # itself, seen read-only through hostfs).  Kernel parameters it does
        # not know reach init as environment variables.
        self.scratch = Path(run) / "guest"
        self.scratch.mkdir(exist_ok=True)
        command = [KERNEL, *BOOT_OPTIONS, f"uml_dir={run}", "umid=dut",
                   f"init={HERE / 'agent'}", f"SCRATCH={self.scratch}",
                   f"ssl0=fd:{theirs.fileno()}", *vectors]
        self.process = subprocess.Popen(
            command, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
            stdout=sys.stderr, env={**os.environ, "TMPDIR": str(run)},
            start_new_session=True)
        theirs.close()
        # UML forks helpers and a host process per guest process, which outlive a
        # killed kernel process.  A guard kills their whole process group when it
        # reads EOF: when the launcher is gone, however it went (SIGTERM, crash, kill).
        guard, self._guard_pipe = os.pipe()
        subprocess.Popen(["/bin/sh", "-c", "trap '' TERM INT HUP; read _; "
                          f"kill -9 -{self.process.pid}"], stdin=guard)
        os.close(guard)
        self.buffer, self.sequence = b"", 0

    def wait_ready(self):
        """Wait for the agent to come up."""
        deadline = time.monotonic() + BOOT_TIMEOUT
        while b"@@ready\n" not in self.buffer:
            self._receive(deadline, "booting")
        self.buffer = self.buffer.split(b"@@ready\n", 1)[1]

    def _receive(self, deadline, what):
        """Add what the agent sent to the buffer, waiting no later than *deadline*."""
        if not select.select([self.channel], [], [], max(0.0, deadline - time.monotonic()))[0]:
            raise Refused(f"UML guest: no answer in time while {what}")
        data = self.channel.recv(65536)
        if not data:
            raise Refused(f"UML guest is gone (exit {self.process.poll()}) while {what}")
        self.buffer += data

    def run(self, script, timeout=OP_TIMEOUT, what="running a script"):
        """Run the shell *script* in the guest: (output, exit status)."""
        self.sequence += 1
        self.channel.sendall(f"{script}\n@@run {self.sequence}\n".encode())
        deadline = time.monotonic() + timeout
        while True:
            while match := _RESULT.search(self.buffer):
                output, self.buffer = self.buffer[:match.start()], self.buffer[match.end():]
                if int(match[1]) == self.sequence:
                    return output.decode(errors="replace"), int(match[2])
                # else a late answer to a script that timed out: dropped
            self._receive(deadline, what)

    def shell(self, script, what, timeout=OP_TIMEOUT):
        """Run *script*; its output, or Refused naming *what* if it failed."""
        output, status = self.run(script, timeout, what)
        if status:
            raise Refused(f"{what} failed: {output.strip() or f'exit {status}'}")
        return output


class UmlShim(Shim):
    """The control protocol, carried out by iproute2, sysctl and ping in the guest."""

    stack = "uml"

    def __init__(self, run, interfaces):
        self.run_dir, self.names = run, interfaces
        self.version = _version()
        self.guest = None
        self.baseline = None
        self.knob_originals = {}
        self.listeners = {}   # handle: [pid, lines already reported]
        self.next_handle = 1

    # -- lifecycle -------------------------------------------------------

    def op_configure(self, interfaces, routes=(), forwarding=()):
        """Boot the guest with the topology's MACs and give it the baseline."""
        if self.guest is not None:
            raise Refused("already configured", "invalid")
        given = {i["name"]: i for i in interfaces}
        if sorted(given) != sorted(self.names):
            raise Refused(f"configure names {sorted(given)}, started on {self.names}", "invalid")
        self.baseline = {"interfaces": [given[name] for name in self.names],
                         "routes": list(routes), "forwarding": set(forwarding)}
        for name in self.names:   # the host computes the checksums UML leaves to "hardware"
            subprocess.run(["ethtool", "-K", name, "tx", "off"], check=True,
                           stdout=subprocess.DEVNULL)
        self.guest = Guest(self.run_dir, [(i["name"], i["mac"])
                                          for i in self.baseline["interfaces"]])
        self.guest.wait_ready()
        # DAD off on every device before the links come up; then the names.
        dad = {f"net.ipv6.conf.{scope}.accept_dad": "0"
               for scope in ("all", "default", *(f"vec{i}" for i in range(len(self.names))))}
        renames = [f"link set dev vec{i} name {name}" for i, name in enumerate(self.names)]
        self.guest.shell(self._restore_script({}, proc_writes(dad, stop_on_error=True), renames),
                         "configuring the guest", timeout=2.0)

    def op_reset(self):
        """Back to the baseline, changing only what differs from it."""
        present = json.loads(self.guest.shell("ip -j addr show", "reading addresses") or "[]")
        routes = json.loads(self.guest.shell("ip -6 -j route show proto kernel",
                                             "reading routes") or "[]")
        self.guest.shell(self._restore_script({e["ifname"]: e for e in present},
                                              kernel_routes=routes),
                         "restoring the baseline")
        self.knob_originals.clear()

    def _restore_script(self, present, first=":", renames=(), kernel_routes=()):
        """A guest script bringing links, addresses, routes, caches, sysctls to the baseline.

        *present* is ``ip -j addr show`` by interface name; *first* runs before
        iproute2, *renames* open its IPv4 batch.  The lines and sysctls are the
        linux adapter's (testbed.linuxcmd); only their delivery differs, as the
        script runs in the guest's own shell, sent over the agent's serial
        line: the batches travel inside it as here-documents (no file to
        write), and the baseline sysctls are /proc writes by shell builtins,
        since every process started in the guest costs a host process too.
        """
        lines = restore_batches(
            [(i["name"], i["mtu"], i.get("addresses", [])) for i in self.baseline["interfaces"]],
            [_route(**route) for route in self.baseline["routes"]], present,
            kernel_routes)
        lines["ipv4"][:0] = renames
        script = [f"{self._close_listeners()} && {first} &&"]
        for family, flag in (("ipv4", "-4"), ("ipv6", "-6")):
            script += [f"ip {flag} -force -batch - <<'@@EOF' &&", *lines[family], "@@EOF"]
        if self.knob_originals:
            script.append(sysctl_command(self.knob_originals) + " &&")
        advertised = router_advertised_defaults((i["name"], i["mtu"])
                                                for i in self.baseline["interfaces"])
        script.append(proc_writes({**advertised,
                                   **baseline_sysctls(self.baseline["forwarding"])},
                                  stop_on_error=True))
        return "\n".join(script)

    def _close_listeners(self):
        """A script line stopping every UDP listener (and forgetting them)."""
        pids = " ".join(str(pid) for pid, _ in self.listeners.values())
        self.listeners.clear()
        return f"{{ kill {pids}; rm -f {self.guest.scratch}/udp.*; }} 2>/dev/null" if pids else ":"

    # -- links and addresses ---------------------------------------------

    def op_link_set(self, interface, up):
        """Interface up or down."""
        self.guest.shell(f"ip link set dev {_name(interface)} {'up' if up else 'down'}",
                         "setting the link state")

    def op_mtu_set(self, interface, mtu):
        """Interface MTU."""
        self.guest.shell(f"ip link set dev {_name(interface)} mtu {int(mtu)}",
                         "setting the MTU")

    def op_addr_add(self, interface, address):
        """Add an address; IPv6 DAD follows accept_dad (off at baseline, on by knob)."""
        self.guest.shell(f"ip addr add {_cidr(address)} dev {_name(interface)}",
                         "adding an address")

    def op_addr_del(self, interface, address):
        """Remove an address."""
        self.guest.shell(f"ip addr del {_cidr(address)} dev {_name(interface)}",
                         "removing an address")

    def op_route_add(self, destination, gateway=None, interface=None):
        """Add a static route."""
        self.guest.shell("ip " + route_args("add", *_route(destination, gateway, interface)),
                         "adding a route")

    def op_route_del(self, destination, gateway=None, interface=None):
        """Remove a static route."""
        self.guest.shell("ip " + route_args("del", *_route(destination, gateway, interface)),
                         "removing a route")

    # -- neighbours and forwarding ---------------------------------------

    def op_neigh_list(self, interface=None):
        """The ARP and NDP caches."""
        dev = f" dev {_name(interface)}" if interface else ""
        entries = json.loads(self.guest.shell(f"ip -j neigh show{dev}", "reading neighbours")
                             or "[]")
        return {"neighbors": [{"address": e["dst"], "interface": e.get("dev", interface),
                               "mac": e.get("lladdr"),
                               "state": ",".join(e.get("state", [])) or "NONE"}
                              for e in entries]}

    def op_neigh_add(self, interface, address, mac):
        """A permanent neighbour entry."""
        address = ipaddress.ip_address(address)
        if not re.fullmatch(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}", mac):
            raise Refused(f"not a MAC: {mac!r}", "invalid")
        self.guest.shell(f"ip neigh replace {address} lladdr {mac} dev {_name(interface)} "
                         "nud permanent", "adding a neighbour")

    def op_neigh_flush(self, interface=None, family=None):
        """Empty the caches (of one interface, of one family)."""
        flags = {"ipv4": "-4 ", "ipv6": "-6 ", None: ""}
        if family not in flags:
            raise Refused(f"no family {family!r}", "invalid")
        flag = flags[family]
        where = f"dev {_name(interface)}" if interface else "all"
        self.guest.shell(f"ip {flag}neigh flush {where} nud all", "flushing neighbours")

    def op_forwarding_set(self, family, enabled):
        """IP forwarding on or off for a family."""
        self.guest.shell(proc_writes({FORWARDING[family]: int(enabled)}, stop_on_error=True),
                         "setting forwarding")

    # -- traffic from the stack ------------------------------------------

    def op_echo(self, destination, count=1, size=56, ttl=None, dont_fragment=False,
                timeout=1.0, interval=1.0, source=None):
        """Ping from the guest with iputils ping."""
        destination = ipaddress.ip_address(destination)
        args = ["ping", "-n", f"-{destination.version}", "-c", str(int(count)),
                "-s", str(int(size)), "-W", f"{timeout:g}", "-i", f"{interval:g}",
                "-M", "do" if dont_fragment else "dont"]
        if ttl is not None:
            args += ["-t", str(int(ttl))]
        if source is not None:
            args += ["-I", str(ipaddress.ip_address(source))]
        output, _ = self.guest.run(shlex.join(args + [str(destination)]),
                                   count * interval + timeout + 2.0, "pinging")
        result = parse_ping(str(destination), output)
        return {"transmitted": result.transmitted, "errors": result.errors,
                "replies": [asdict(reply) for reply in result.replies]}

    def op_udp_send(self, destination, port, payload, source_port=None):
        """One datagram from the guest."""
        args = [str(UDP_TOOL), "send", str(ipaddress.ip_address(destination)), str(int(port)),
                bytes.fromhex(payload).hex()]
        if source_port is not None:
            args.append(str(int(source_port)))
        self.guest.shell(shlex.join(args), "sending UDP")

    def op_udp_listen(self, port, family="ipv4"):
        """A UDP socket in the guest; its datagrams collect in a guest file."""
        if family not in FORWARDING:
            raise Refused(f"no family {family!r}", "invalid")
        handle = self.next_handle
        self.next_handle += 1
        pid = self.guest.shell(shlex.join([str(UDP_TOOL), "listen", str(int(port)), family,
                                           f"{self.guest.scratch}/udp.{handle}"]),
                               "listening on UDP")
        self.listeners[handle] = [int(pid), 0]
        return {"handle": handle}

    def op_udp_receive(self, handle, timeout):
        """The datagrams that arrived by the end of *timeout* seconds, not reported before."""
        listener = self._listener(handle)
        time.sleep(timeout)
        output = self.guest.shell(
            f"while read -r d; do echo \"$d\"; done < {self.guest.scratch}/udp.{handle}",
            "reading datagrams")
        lines = output.splitlines()[listener[1]:]
        listener[1] += len(lines)
        datagrams = []
        for line in lines:
            source, port, data = (line.split() + [""])[:3]
            datagrams.append({"source": source, "port": int(port), "data": data})
        return {"datagrams": datagrams}

    def op_udp_close(self, handle):
        """Stop a listener."""
        pid, _ = self._listener(handle)
        del self.listeners[handle]
        self.guest.shell(f"kill {pid}; rm -f {self.guest.scratch}/udp.{handle}",
                         "closing a UDP listener")

    def _listener(self, handle):
        if handle not in self.listeners:
            raise Refused(f"no UDP listener {handle!r}", "invalid")
        return self.listeners[handle]

    # -- knobs: the guest kernel's sysctls -------------------------------

    def op_knob_set(self, name, value):
        """Set a sysctl; reset puts back the value it had."""
        name = _knob(name)
        script = sysctl_command({name: value})
        first = name not in self.knob_originals
        output = self.guest.shell(f"sysctl -n {name} && {script}" if first else script,
                                  f"setting {name}")
        if first:
            self.knob_originals[name] = output.strip()

    def op_knob_get(self, name):
        """A sysctl's value."""
        name = _knob(name)
        return {"value": self.guest.shell(f"sysctl -n {name}", f"reading {name}").strip()}


def _name(interface):
    if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,15}", str(interface)):
        raise Refused(f"not an interface name: {interface!r}", "invalid")
    return interface


def _cidr(text):
    try:
        return ipaddress.ip_interface(text)
    except ValueError as exc:
        raise Refused(str(exc), "invalid") from None


def _knob(name):
    if not is_sysctl_name(name):
        raise Refused(f"not a sysctl name: {name!r}", "invalid")
    return name


def _route(destination, gateway=None, interface=None):
    """A route's (destination, gateway, device) for route_args, checked."""
    try:
        destination = ipaddress.ip_network(destination, strict=False)
        gateway = None if gateway is None else ipaddress.ip_address(gateway)
    except ValueError as exc:
        raise Refused(str(exc), "invalid") from None
    return destination, gateway, None if interface is None else _name(interface)


def _version():
    """The UML kernel's release, as the Debian package installs its modules."""
    releases = sorted(p.name for p in Path("/usr/lib/uml/modules").iterdir())
    return f"User-Mode Linux {releases[-1]}" if releases else "User-Mode Linux"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--control", required=True, help="UNIX socket to serve")
    parser.add_argument("--run", required=True, type=Path, help="the run's own folder")
    parser.add_argument("interfaces", nargs="+", help="the DUT's interfaces, in order")
    args = parser.parse_args()
    UmlShim(args.run, args.interfaces).serve(args.control)


if __name__ == "__main__":
    main()
