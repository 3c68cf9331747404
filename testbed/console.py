"""The interactive console of ``testbed up``: Mininet's CLI plus ``dut`` and ``table``."""

import shlex

from mininet.cli import CLI

from .errors import TestbedError

DUT_HELP = """\
dut COMMAND — drive the device under test through its stack's control contract:
  dut caps                              what this stack can do
  dut alive | dut reset                 liveness; back to the topology's baseline
  dut link IF up|down                   dut mtu IF BYTES
  dut addr add|del IF ADDRESS/LEN       dut route add|del PREFIX|default|default6 [via GW] [dev IF]
  dut neigh [show [IF]]                 dut neigh flush [IF]      dut neigh add IF ADDRESS MAC
  dut forwarding ipv4|ipv6 on|off       dut knob NAME [VALUE]     (Linux: sysctl names)
  dut ping DEST [count N] [size N] [ttl N] [df]
  dut udp send DEST PORT TEXT           dut udp listen PORT SECONDS
Anything else (dut ip route, dut nstat) runs as a shell command in the DUT's namespace."""
CONTRACT_VERBS = {"caps", "alive", "reset", "link", "mtu", "addr", "route", "neigh",
                  "forwarding", "knob", "ping", "udp"}


class Console(CLI):
    """Mininet's CLI for a testbed Network, with the DUT's contract at hand."""

    prompt = "testbed> "

    def __init__(self, network, table, **kwargs):
        self.network, self.table = network, table
        super().__init__(network.net, **kwargs)

    def do_table(self, _line):
        """Show the nodes, interfaces and addresses (and the tester's identities)."""
        self.table()

    def do_dut(self, line):
        """Drive the DUT through its stack's control contract; `dut help` lists the commands.

        Anything else runs as a shell command in the DUT's namespace, as for any node.
        """
        words = shlex.split(line)
        if not words or words[0] == "help":
            print(DUT_HELP)
            return
        if words[0] not in CONTRACT_VERBS:
            self.default(f"{self.network.topology.dut.name} {line}")
            return
        try:
            result = self._dut(self.network.dut, words)
        except TestbedError as exc:
            print(f"*** {exc}")
        except (ValueError, IndexError, KeyError) as exc:
            print(f"*** bad arguments ({exc}); see `dut help`")
        else:
            if result is not None:
                print(result)

    def help_dut(self):
        """Help for the dut command."""
        print(DUT_HELP)

    @staticmethod
    def _dut(dut, words):
        verb, args = words[0], words[1:]
        if verb == "caps":
            return ", ".join(sorted(c.value for c in dut.capabilities)) or "(nothing)"
        if verb == "alive":
            return "alive" if dut.alive() else "NOT answering"
        if verb == "reset":
            dut.reset()
            return "back at baseline"
        if verb == "link":
            return dut.set_link(args[0], {"up": True, "down": False}[args[1]])
        if verb == "mtu":
            return dut.set_mtu(args[0], int(args[1]))
        if verb == "addr":
            action = {"add": dut.add_address, "del": dut.remove_address}[args[0]]
            return action(args[1], args[2])
        if verb == "route":
            options = dict(zip(args[2::2], args[3::2]))
            action = {"add": dut.add_route, "del": dut.remove_route}[args[0]]
            return action(args[1], options.get("via"), options.get("dev"))
        if verb == "neigh":
            action = args[0] if args else "show"
            if action == "show":
                entries = dut.neighbors(args[1] if len(args) > 1 else None)
                return "\n".join(f"{n.address:<28} {n.interface:<6} {n.mac or '-':<18} {n.state}"
                                 for n in entries) or "(no entries)"
            if action == "flush":
                return dut.flush_neighbors(args[1] if len(args) > 1 else None)
            if action == "add":
                return dut.add_neighbor(args[1], args[2], args[3])
            raise ValueError(f"unknown neigh action {action!r}")
        if verb == "forwarding":
            return dut.set_forwarding(args[0], {"on": True, "off": False}[args[1]])
        if verb == "knob":
            return dut.get_knob(args[0]) if len(args) == 1 else dut.set_knob(args[0], args[1])
        if verb == "ping":
            options = dict(zip(args[1::2], args[2::2]))
            result = dut.ping(args[0], count=int(options.get("count", 1)),
                              size=int(options.get("size", 56)),
                              ttl=int(options["ttl"]) if "ttl" in options else None,
                              dont_fragment="df" in args)
            lines = [f"reply from {r.source}: seq={r.seq} ttl={r.ttl} time={r.rtt_ms} ms"
                     for r in result.replies] + result.errors
            return "\n".join(lines + [f"{result.transmitted} sent, {result.received} received"])
        if verb == "udp" and args[0] == "send":
            return dut.send_udp(args[1], int(args[2]), args[3].encode())
        if verb == "udp" and args[0] == "listen":
            datagrams = dut.listen_udp(int(args[1])).datagrams(float(args[2]))
            return "\n".join(f"{d.source}:{d.source_port} {d.payload!r}" for d in datagrams) \
                or "(nothing received)"
        raise ValueError(f"unknown dut command {verb!r}")
