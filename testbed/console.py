"""The interactive console of ``testbed up``: Mininet's CLI plus ``dut`` and ``table``.

A node whose stack runs outside its namespace's kernel (lwIP on h1) takes the
same stack commands as ``dut``: ``h1 ping hc``.

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
    return show(*_invoke(dut, operation, words))


def _invoke(dut, operation, words):
    """Perform *operation* with *words*: (its result, seconds to listen for datagrams)."""
    positional, named = [], {}
    for word in words:
        name, equals, value = word.partition("=")
        if equals and (name in operation.signature.parameters or name == "seconds"):
            named[name] = value
        else:
            positional.append(word)
    seconds = float(named.pop("seconds", LISTEN_SECONDS))
    return getattr(dut, operation.name)(*positional, **named), seconds


def perform(adapter, words):
    """Carry out a console command (*words*: a builtin or an operation, then its arguments)
    on *adapter*; return (text, ok).  ok is False for a ping that got no reply.

    Raises TestbedError from the stack, TypeError/ValueError for bad arguments.
    """
    verb = words[0]
    if verb in BUILTINS:
        return BUILTINS[verb][1](adapter), True
    result, seconds = _invoke(adapter, OPERATIONS[verb], words[1:])
    return show(result, seconds), not isinstance(result, PingResult) or result.received > 0


def is_command(words):
    """True if *words* start with a console command of a stack (builtin or operation)."""
    return bool(words) and (words[0] in BUILTINS or words[0] in OPERATIONS)


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
        if not is_command(words):
            self.default(f"{self.emulation.topology.dut.name} {line}")
            return
        self._perform(self.emulation.dut, words)

    def _perform(self, adapter, words):
        try:
            print(perform(adapter, words)[0])
        except TestbedError as exc:
            print(f"*** {exc}")
        except (TypeError, ValueError) as exc:
            print(f"*** bad arguments ({exc}); see `dut help`")

    def default(self, line):
        """``NODE COMMAND``: on a node whose stack runs outside its kernel (``h1 ping hc``
        with h1 on lwIP), a stack command goes to the stack; anything else, and every
        command on other nodes, runs in the node's namespace as Mininet's CLI does."""
        words = shlex.split(line) if line.strip() else []
        adapter = self.emulation.adapters.get(words[0]) if words else None
        if adapter is not None and adapter.kernel_silent and is_command(words[1:]):
            topology = self.emulation.topology
            self._perform(adapter, [topology.first_address(w) or w if w in topology.nodes else w
                                    for w in words[1:]])
            return
        super().default(line)

    def help_dut(self):
        """Help for the dut command."""
        print(dut_help())
