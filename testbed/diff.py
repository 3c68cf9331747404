"""``testbed diff A B``: what changed between two results folders.

A folder is what ``testbed run`` writes (``results.jsonl``) or what
``testbed matrix`` writes (one such folder per stack).  Two runs of one stack
each (two stacks, two kernels, before and after a patch) are compared test
by test; two matrices are compared stack by stack.  Like ``results.py`` this
module needs neither Mininet nor scapy.
"""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from . import suites
from .errors import InputError
from .results import id_order, read


def load(folder):
    """{stack: {test id: Result}} of a run folder or a matrix folder."""
    folder = Path(folder)
    sources = [folder] if (folder / "results.jsonl").is_file() else \
        sorted(p.parent for p in folder.glob("*/results.jsonl"))
    if not sources:
        raise InputError("no results.jsonl here, nor in a folder per stack", folder)
    runs = {}
    for source in sources:
        for result in read(source):
            runs.setdefault(result.stack, {})[result.id] = result
    return runs


@dataclass
class Change:
    """One test whose verdict differs (a Result is None where the test did not run)."""

    key: str            # "ARP-1.1", or "linux ARP-1.1" when comparing matrices
    suite: str
    a: object
    b: object

    def to_json(self):
        """A JSON-able dict."""
        side = {"verdict": None, "reason": None}
        return {"test": self.key, "suite": self.suite,
                "a": {"verdict": self.a.verdict, "reason": self.a.reason} if self.a else side,
                "b": {"verdict": self.b.verdict, "reason": self.b.reason} if self.b else side}


def compare(a, b):
    """(changes, {suite: (passes in a, passes in b, tests)}) between two loaded folders."""
    if len(a) == 1 and len(b) == 1:
        pairs = {"": (next(iter(a.values())), next(iter(b.values())))}
    else:
        pairs = {stack: (a.get(stack, {}), b.get(stack, {})) for stack in {**a, **b}}
    changes, counts = [], {}
    for stack, (left, right) in sorted(pairs.items()):
        for test_id in sorted({*left, *right},
                              key=lambda i: (suites.order((left.get(i) or right[i]).suite),
                                             id_order(i))):
            x, y = left.get(test_id), right.get(test_id)
            suite = (x or y).suite
            passes = counts.setdefault(suite, Counter())
            passes["a"] += bool(x and x.verdict == "pass")
            passes["b"] += bool(y and y.verdict == "pass")
            passes["tests"] += 1
            if x is None or y is None or x.verdict != y.verdict:
                changes.append(Change(f"{stack} {test_id}".strip(), suite, x, y))
    ordered = dict(sorted(counts.items(), key=lambda item: suites.order(item[0])))
    return changes, {s: (c["a"], c["b"], c["tests"]) for s, c in ordered.items()}
