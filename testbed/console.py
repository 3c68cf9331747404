"""The interactive console of ``testbed up``: Mininet's CLI plus ``dut`` and ``table``.

``dut`` drives the DUT through every operation the contract declares
(``stacks.contract.OPERATIONS``): its usage and help come from the
declarations, its words bind to the operation's signature.
"""

import shlex

from mininet.cli import CLI

from .errors import TestbedError
from .stacks.contract import OPERATIONS, PingResult

LISTEN_SECONDS = 5.0     # how long `dut listen_udp` waits for datagrams, unless seconds=S
# The console's own dut commands: verb -> (help, what it does and prints).
BUILTINS = {
    "caps": ("what this stack can do",
             lambda dut: ", ".join(sorted(c.value for c in dut.capabilities)) or "(nothing)"),
    "alive": ("does the stack answer?",
              lambda dut: "alive" if dut.alive() else "NOT answering"),
    "reset": ("back to the topology's baseline",
              lambda dut: dut.reset() or "back at baseline"),
}
COLUMN = 46             # where `dut help` starts the help lines


def dut_help():
    """`dut help`: the console's own commands, then each contract operation's usage and help."""
    lines = ["dut COMMAND — drive the device under test through its stack's control contract:"]
    lines += [f"  {verb:<{COLUMN - 2}}{help}" for verb, (help, _) in BUILTINS.items()]
    for operation in OPERATIONS.values():
        usage = f"  {operation.name} {operation.usage}"
        gap = " " * (COLUMN - len(usage)) if len(usage) < COLUMN else "\n" + " " * COLUMN
        lines.append(f"{usage}{gap}{operation.help}")
    lines += ["Arguments go in the order shown, or as name=value "
              "(dut ping 198.18.1.2 count=3 dont_fragment=yes).",
              "Anything else (dut ip route, dut nstat) runs as a shell command in the DUT's "
              "namespace."]
    return "\n".join(lines)


def run(dut, operation, words):
    """Perform *operation* on *dut* with its argument *words*; the result as text.

    Words bind to the operation's signature in order, or as ``name=value``;
    the contract converts them (numbers, addresses, up/down, on/off, yes/no).
    """
    positional, named = [], {}
    for word in words:
        name, equals, value = word.partition("=")
        if equals and (name in operation.signature.parameters or name == "seconds"):
            named[name] = value
        else:
            positional.append(word)
    seconds = float(named.pop("seconds", LISTEN_SECONDS))
    return show(getattr(dut, operation.name)(*positional, **named), seconds)


def show(result, seconds):
    """An operation's result as console text: ping replies, neighbours, datagrams, a value."""
    if isinstance(result, PingResult):
        lines = [f"reply from {r.source}: seq={r.seq} ttl={r.ttl} time={r.rtt_ms} ms"
                 for r in result.replies] + result.errors
        return "\n".join(lines + [f"{result.transmitted} sent, {result.received} received"])
    if isinstance(result, list):        # neighbours
        return "\n".join(f"{n.address:<28} {n.interface:<6} {n.mac or '-':<18} {n.state}"
                         for n in result) or "(no entries)"
    if hasattr(result, "datagrams"):
        print(f"listening for {seconds:g} s …")
        return "\n".join(f"{d.source}:{d.source_port} {d.payload!r}"
                         for d in result.datagrams(seconds)) or "(nothing received)"
    return "ok" if result is None else str(result)


class Console(CLI):
    """Mininet's CLI for a testbed Emulation, with the DUT's contract at hand."""

    prompt = "testbed> "

    def __init__(self, emulation, table, **kwargs):
        self.emulation, self.table = emulation, table
        super().__init__(emulation.net, **kwargs)

    def do_table(self, _line):
        """Show the nodes, interfaces and addresses (and the tester's identities)."""
        self.table()

    def do_dut(self, line):
        """Drive the DUT through its stack's control contract; `dut help` lists the commands.

        Anything else runs as a shell command in the DUT's namespace, as for any node.
        """
        words = shlex.split(line)
        if not words or words[0] == "help":
            print(dut_help())
            return
        verb, dut = words[0], self.emulation.dut
        if verb not in BUILTINS and verb not in OPERATIONS:
            self.default(f"{self.emulation.topology.dut.name} {line}")
            return
        try:
            if verb in BUILTINS:
                result = BUILTINS[verb][1](dut)
            else:
                result = run(dut, OPERATIONS[verb], words[1:])
        except TestbedError as exc:
            print(f"*** {exc}")
        except (TypeError, ValueError) as exc:
            print(f"*** bad arguments ({exc}); see `dut help`")
        else:
            print(result)

    def help_dut(self):
        """Help for the dut command."""
        print(dut_help())
