"""Reading what iputils' ping prints (the Linux and UML stacks ping with it).

Kept free of heavy imports: the UML launcher uses it inside its own process.
"""

import re

from .contract import PingReply, PingResult

_REPLY = re.compile(r"^(\d+) bytes from ([0-9a-fA-F.:]+?):? icmp_seq=(\d+) (?:ttl|hlim)=(\d+) "
                    r"time=([\d.]+) ms")
_ERROR = re.compile(r"^From ([0-9a-fA-F.:]+?):? icmp_seq=(\d+) (.+)$")
_SENT = re.compile(r"^(\d+) packets transmitted")
_LOCAL = re.compile(r"^ping: ((?:local error|connect|sendmsg): .+)$")


def parse_ping(destination, output):
    """A PingResult from the output of iputils ping."""
    result = PingResult(destination)
    for line in output.splitlines():
        if m := _REPLY.match(line):
            result.replies.append(PingReply(m[2], int(m[3]), int(m[4]), int(m[1]), float(m[5])))
        elif m := _ERROR.match(line):
            result.errors.append(f"from {m[1]}: {m[3].strip()}")
        elif m := _LOCAL.match(line):
            result.errors.append(m[1].strip())
        elif m := _SENT.match(line):
            result.transmitted = int(m[1])
    return result
