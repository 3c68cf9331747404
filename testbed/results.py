"""Verdicts and results: what a test run claims about a stack.

A tiny module of its own (as pytest keeps its outcomes), importing neither
Mininet nor scapy, so results can be read, reported and compared anywhere.

Verdicts:
  pass          the DUT did what the requirement asks
  fail          the DUT behaved against the requirement
  unsupported   the stack cannot do a set-up the test needs (its adapter said so)
  inconclusive  the test could not tell: set-up verification or a positive control got no answer
  crash         the DUT stopped answering its control channel; it was restarted
  error         a fault in the test bed itself (or a DUT set-up that failed)
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

VERDICTS = ("pass", "fail", "unsupported", "inconclusive", "crash", "error")


class Verdict(Exception):
    """Ends a test with a verdict other than pass."""

    def __init__(self, verdict, reason):
        super().__init__(reason)
        self.verdict, self.reason = verdict, reason


@dataclass
class Result:
    """One test's outcome, as results.jsonl records it."""

    id: str
    suite: str
    title: str
    reference: str
    classification: str
    topology: str
    role: str
    stack: str
    verdict: str
    reason: str
    duration_s: float
    pcap: str
    send_to_verdict_ms: float | None = None
    description: str = ""          # the requirement in words
    ladder: list | None = None     # the exchange: Capture.ladder rows
    ladder_left_out: int = 0       # frames beyond the ladder's rows
    phases: dict | None = None     # where the test's time went: {phase: seconds} (PHASES)

    def to_json(self):
        """A JSON-able dict."""
        return asdict(self)


# The phases of a test's time, as Result.phases names them.
PHASES = {
    "reset": "the DUT reset to the baseline, and its role set",
    "setup": "the test's set-up operations",
    "introduce": "senders asking the DUT for its address",
    "send": "building and sending packets",
    "answer": "waiting for expected frames",
    "silence": "expect_none windows",
    "control": "positive controls",
    "dut": "contract operations during the steps",
    "wait": "wait steps",
    "record": "writing the pcap and the exchange",
    "health": "checking that the DUT is still alive",
}


class ResultsFile:
    """``results.jsonl``, one object per test, appended as each test finishes."""

    def __init__(self, path):
        self.stream = open(path, "w", encoding="utf-8")

    def add(self, result):
        """Append one Result and flush it to disk."""
        self.stream.write(json.dumps(result.to_json()) + "\n")
        self.stream.flush()

    def close(self):
        """Close the file."""
        self.stream.close()


def id_order(test_id):
    """Sort key of a test id in numeric order: ARP-2.10 after ARP-2.9."""
    prefix, _, number = test_id.rpartition("-")
    return prefix, tuple(int(part) if part.isdigit() else 0 for part in number.split("."))


def expected_verdict(expected, test_id):
    """The verdict *expected* ({id: (verdict, reason)}) holds for *test_id*: pass if unlisted."""
    return expected.get(test_id, ("pass", ""))[0]


def read(folder):
    """The Results a run wrote to *folder*/results.jsonl (none if it wrote nothing)."""
    path = Path(folder) / "results.jsonl"
    if not path.is_file():
        return []
    return [Result(**json.loads(line)) for line in path.read_text().splitlines() if line]
