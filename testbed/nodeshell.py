"""Running scripts in a node's shell: the one place that knows Mininet's node protocol.

A Mininet 2.3.0 node keeps a ``bash`` on a pty, started with ``mnexec``;
``Node.sendCmd`` writes a command to it and sets ``node.waiting``, and the
shell prints chr(127) as its prompt when the command is done.  Mininet's own
reader (``waitOutput``) would wait forever on a shell that died, so this
module reads the pty itself, through the node's ``readbuf`` (what was read
past the last prompt), ``stdout``, ``decoder`` and ``shell`` process, and
clears ``waiting`` as ``waitOutput`` would.  Nothing else in the test bed
touches those attributes; this module imports no Mininet itself.
"""

import os
import select
import time

from .errors import EnvironmentProblem

PROMPT = chr(127)   # Mininet's shells print it as their prompt


class NodeGone(EnvironmentProblem):
    """A node's shell died or stopped answering (for the DUT: it crashed)."""


def run(node, script, timeout=60.0):
    """Run a shell script in *node*; return (output, exit status of the last command)."""
    return finish(send({node: script}), timeout)[node]


def send(scripts):
    """Start {node: script} in every node's shell at once; finish() collects them."""
    for node, script in scripts.items():
        if node.shell is None or node.shell.poll() is not None:
            raise NodeGone(f"node {node.name}: its shell has died")
        if node.waiting:
            raise NodeGone(f"node {node.name}: still busy with a command that never finished")
        node.sendCmd(f"{script} ; printf '\\n__rc=%d' $?")
    return list(scripts)


def finish(nodes, timeout=60.0):
    """Wait for the scripts send() started; {node: (output, exit status)}.

    Mininet would wait forever on a shell that died (it keeps the pty's other
    end open), so the shell process is watched while waiting; a dead or
    silent one raises NodeGone.
    """
    results, deadline = {}, time.monotonic() + timeout
    for node in nodes:
        body, _, rc = _until_prompt(node, deadline, timeout).rpartition("__rc=")
        results[node] = body.rstrip("\r\n").replace("\r\n", "\n"), int(rc.strip() or 1)
    return results


def _until_prompt(node, deadline, timeout):
    """What *node*'s shell prints up to its prompt (Mininet's sentinel, chr 127)."""
    output, fd = node.readbuf, node.stdout.fileno()
    node.readbuf = ""
    while PROMPT not in output:
        # Checked before every read: a dead shell may look readable (its terminal
        # hung up) or never readable (we hold the pty's other end).
        if node.shell.poll() is not None:
            raise NodeGone(f"node {node.name}: its shell has died")
        if time.monotonic() > deadline:
            raise NodeGone(f"node {node.name}: no answer within {timeout:g} s")
        if not select.select([fd], [], [], 0.05)[0] or node.shell.poll() is not None:
            continue
        try:
            output += node.decoder.decode(os.read(fd, 65536))
        except OSError as exc:
            raise NodeGone(f"node {node.name}: {exc.strerror}") from None
    node.waiting = False
    body, _, rest = output.partition(PROMPT)
    node.readbuf = rest
    return body
