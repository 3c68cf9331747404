"""Every suite against the null stack (no pass at all) and against Linux (stable verdicts)."""

import json

import pytest

from testbed import scenario, stacks
from testbed.engine import Runner

TESTS = scenario.load_all()
SUITES = sorted({t.suite for t in TESTS})


def run(stack, tests, out):
    return Runner(stacks.load(stack), out).run(tests)


@pytest.mark.parametrize("suite", SUITES)
def test_null_stack_passes_nothing(suite, tmp_path, no_leftovers):
    """A DUT that answers nothing must score zero: every test can fail or stay inconclusive."""
    results = run("null", [t for t in TESTS if t.suite == suite], tmp_path)
    passed = [r.id for r in results if r.verdict == "pass"]
    assert not passed, f"tests that pass against a dead DUT: {passed}"
    assert all(r.reason for r in results)


@pytest.mark.parametrize("suite", SUITES)
def test_linux_verdicts_are_stable(suite, tmp_path, no_leftovers):
    """Two runs of a suite against Linux give the same verdict for every test."""
    tests = [t for t in TESTS if t.suite == suite]
    first = {r.id: r.verdict for r in run("linux", tests, tmp_path / "1")}
    second = {r.id: r.verdict for r in run("linux", tests, tmp_path / "2")}
    assert first == second
    assert sum(v == "pass" for v in first.values()) > 0


def test_run_writes_results_junit_summary_and_pcaps(tmp_path, no_leftovers):
    import subprocess
    import sys
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "testbed", "run", "ARP-1.1", "ARP-3.2",
                           "--stack", "linux", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in lines] == ["ARP-1.1", "ARP-3.2"]
    for record in lines:
        assert {"id", "suite", "title", "reference", "classification", "stack", "verdict",
                "reason", "duration_s", "pcap"} <= set(record)
        assert (out / record["pcap"]).stat().st_size > 0
    assert "<testsuite name=\"ARP [linux]\"" in (out / "junit.xml").read_text()
    assert "| linux | 2/2 |" in (out / "summary.md").read_text()
