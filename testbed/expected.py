"""Known departures: the verdicts a stack is expected to get, and how a run compares.

``stacks/<name>/expected.yaml`` (for a manifest elsewhere, ``<stem>.expected.yaml``
beside it) lists the tests whose verdict is not *pass*, each with the verdict
expected and a one-line reason; a test not listed is expected to pass.  A run
then tells *regressions* (expected pass, got anything else), *unexpected
passes* and other *changes* apart from the known departures, as gVisor's
packetimpact and the TAHI users' baselines do.  Like ``results.py``, this
module needs neither Mininet nor scapy.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import yamlsource
from .errors import InputError
from .results import VERDICTS, expected_verdict, id_order

HEADER = """\
# Expected verdicts of the {name} stack: the tests whose verdict is not pass, each
# with the verdict expected and why (the requirement departed from, an upstream bug).
# A test not listed is expected to pass. `testbed run --update-expected` rewrites
# this file from a run and keeps the reasons already written for unchanged verdicts.
"""


def path_for(manifest_path):
    """Where the expectations of the stack whose manifest is *manifest_path* live."""
    manifest_path = Path(manifest_path)
    if manifest_path.name == "stack.yaml":
        return manifest_path.with_name("expected.yaml")
    return manifest_path.with_name(f"{manifest_path.stem}.expected.yaml")


def load(path):
    """{test id: (verdict, reason)} from an expectations file, or None if there is none."""
    path = Path(path)
    if not path.is_file():
        return None
    data = yamlsource.load(path) or {}
    if not isinstance(data, dict):
        raise InputError("an expectations file maps test ids to {verdict, reason}", path, 1)
    expected = {}
    for test_id, entry in data.items():
        if not isinstance(entry, dict) or entry.get("verdict") not in VERDICTS[1:]:
            raise InputError(f"{test_id}: give verdict (one of {', '.join(VERDICTS[1:])}) "
                             "and reason", path, data.line_of(test_id))
        expected[str(test_id)] = (entry["verdict"], str(entry.get("reason", "")))
    return expected


@dataclass
class Comparison:
    """A run's results set against the expectations (lists of (Result, expected verdict))."""

    regressions: list = field(default_factory=list)        # expected pass, got another
    unexpected_passes: list = field(default_factory=list)  # expected a departure, got pass
    changes: list = field(default_factory=list)            # one departure for another
    known: list = field(default_factory=list)              # departures as expected

    @property
    def as_expected(self):
        """True if every verdict is the one expected."""
        return not (self.regressions or self.unexpected_passes or self.changes)

    @property
    def differing(self):
        """Every (Result, expected verdict) that is not as expected."""
        return self.regressions + self.unexpected_passes + self.changes


def compare(results, expected):
    """Set *results* against *expected* ({id: (verdict, reason)})."""
    comparison = Comparison()
    for result in results:
        want = expected_verdict(expected, result.id)
        if result.verdict == want:
            if want != "pass":
                comparison.known.append((result, want))
        elif want == "pass":
            comparison.regressions.append((result, want))
        elif result.verdict == "pass":
            comparison.unexpected_passes.append((result, want))
        else:
            comparison.changes.append((result, want))
    return comparison


def write(path, name, results, previous=None):
    """Rewrite the expectations at *path* from *results*, keeping the entries of tests
    that did not run and the reasons of verdicts that did not change."""
    previous = dict(previous or {})
    ran = {result.id for result in results}
    entries = {test_id: entry for test_id, entry in previous.items() if test_id not in ran}
    for result in results:
        if result.verdict == "pass":
            continue
        old = previous.get(result.id)
        reason = old[1] if old and old[0] == result.verdict and old[1] else _reason(result)
        entries[result.id] = (result.verdict, reason)
    lines = [HEADER.format(name=name)]
    for test_id in sorted(entries, key=id_order):
        verdict, reason = entries[test_id]
        lines.append(yaml.safe_dump({test_id: {"verdict": verdict, "reason": reason}},
                                    width=1000, allow_unicode=True, sort_keys=False).rstrip())
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def save_copy(path, expected):
    """Keep the expectations a run was held to beside its results (JSON)."""
    Path(path).write_text(json.dumps({k: list(v) for k, v in expected.items()}, indent=0),
                          encoding="utf-8")


def load_copy(folder):
    """The expectations a run in *folder* was held to ({id: (verdict, reason)}), or None."""
    path = Path(folder) / "expected.json"
    if not path.is_file():
        return None
    return {k: tuple(v) for k, v in json.loads(path.read_text()).items()}


def _reason(result):
    """A first reason for a new entry: the requirement, and what the run saw."""
    seen = result.reason if len(result.reason) <= 200 else result.reason[:197] + "..."
    return f"{result.classification} of {result.reference} ({result.title}); seen: {seen}"
