"""Link shaping with tc in a node's namespace: a rate by TBF; delay and loss by netem.

A rate is a token bucket (``tc qdisc ... tbf``) on the interface's egress, so
shaping a link shapes both of its ends.  Delay and loss need the kernel's
netem qdisc; where the kernel lacks it (``modprobe sch_netem`` fails) the
request is refused with one *unsupported* message, never half applied.
"""

import re
import shlex

from . import nodeshell
from .errors import InputError, Unsupported

_UNITS = {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "tbit": 1e12,
          "bps": 8, "kbps": 8e3, "mbps": 8e6, "gbps": 8e9, "tbps": 8e12}
NO_NETEM = ("delay and loss need the kernel's netem qdisc (sch_netem), which this kernel "
            "lacks; only rate shaping (tc tbf) is supported here")


class ShapingUnsupported(Unsupported):
    """This kernel cannot shape a link as asked (no netem for delay or loss)."""

    def __init__(self, message):
        self.stack, self.operation = None, "shape a link"
        Exception.__init__(self, message)


def bits_per_second(rate):
    """A tc rate ("10mbit", "512kbit", "1mbps" = bytes) in bits per second."""
    found = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([kmgt]?(?:bit|bps))", str(rate).strip().lower())
    if not found:
        raise InputError(f"bad rate {rate!r}: write it as tc does, e.g. 10mbit or 512kbit")
    return float(found[1]) * _UNITS[found[2]]


def commands(ifname, rate=None, delay=None, loss=None):
    """The tc command that shapes *ifname*'s egress (replacing its root qdisc)."""
    dev = shlex.quote(ifname)
    if delay or loss:
        words = [f"delay {shlex.quote(delay)}" if delay else "",
                 f"loss {shlex.quote(loss)}" if loss else "",
                 f"rate {shlex.quote(rate)}" if rate else ""]
        return f"tc qdisc replace dev {dev} root netem {' '.join(w for w in words if w)}"
    bps = bits_per_second(rate)
    burst = max(int(bps / 8 / 100), 16000)      # 10 ms at the rate, at least ~10 frames
    return f"tc qdisc replace dev {dev} root tbf rate {int(bps)}bit burst {burst} latency 100ms"


def apply(node, ifname, rate=None, delay=None, loss=None):
    """Shape *ifname* in Mininet *node*; Unsupported if the kernel cannot, InputError if
    nothing or something malformed is asked."""
    if not (rate or delay or loss):
        raise InputError(f"shaping {node.name}:{ifname}: give a rate, delay or loss")
    out, rc = nodeshell.run(node, commands(ifname, rate, delay, loss) + " 2>&1")
    if rc == 0:
        return
    if (delay or loss) and "unknown" in out.lower():
        raise ShapingUnsupported(f"shaping {node.name}:{ifname}: {NO_NETEM}")
    raise InputError(f"shaping {node.name}:{ifname}: tc said: {out.strip()}")


def clear(node, ifname):
    """Remove any shaping from *ifname* (back to the default qdisc)."""
    nodeshell.run(node, f"tc qdisc del dev {shlex.quote(ifname)} root 2>/dev/null; true")
