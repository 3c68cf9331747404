"""The pytest plugin as a user meets it: pytest run in a project outside this repository."""

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

PYTEST = [str(Path(sys.executable).with_name("pytest")), "-p", "no:cacheprovider"]

USER_TEST = '''\
import pytest


@pytest.mark.stacks("linux", "null")
def test_h1_reaches_the_dut(testbed):
    tb = testbed("topology-3")
    result = tb.node("h1").run("ping -n -c1 -W1 " + tb.address("dut:eth0"))
    assert result.code == 0, f"no echo reply from the DUT: {result.output}"
'''


def _pytest(folder, *args):
    return subprocess.run([*PYTEST, *args], cwd=folder, capture_output=True, text=True,
                          timeout=300)


def test_fixture_and_stacks_marker_in_a_users_project(tmp_path, no_leftovers):
    (tmp_path / "test_reach.py").write_text(USER_TEST)
    run = _pytest(tmp_path, "-q", "-rf")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed, 1 passed" in run.stdout
    assert "FAILED test_reach.py::test_h1_reaches_the_dut[null]" in run.stdout
    assert "no echo reply from the DUT" in run.stdout


def _verdicts(junit):
    """{test id: (outcome, verdict)} from a junit file the suite items wrote."""
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        verdict = next(p.get("value") for p in case.iter("property") if p.get("name") == "verdict")
        outcome = "failed" if case.find("failure") is not None else "passed"
        found[case.get("name")] = (outcome, verdict)
    return found


def test_suite_items_serial_and_with_xdist_agree(tmp_path, no_leftovers):
    selection = ["--testbed-suite", "ARP-1", "--testbed-suite", "ARP-6", "--testbed-stack",
                 "lwip", "-k", "not ARP-1.8"]
    serial = _pytest(tmp_path, *selection, "--junitxml", "serial.xml")
    assert serial.returncode == 0, serial.stdout[-2000:]
    parallel = _pytest(tmp_path, *selection, "-n", "2", "--junitxml", "parallel.xml")
    assert parallel.returncode == 0, parallel.stdout[-2000:]
    verdicts = _verdicts(tmp_path / "serial.xml")
    assert len(verdicts) >= 10 and "ARP-1.8" not in verdicts
    assert verdicts == _verdicts(tmp_path / "parallel.xml")
    assert {v for _, v in verdicts.values()} >= {"pass", "fail"}   # lwip's known departures too


def test_an_unexpected_verdict_fails_the_item_naming_verdict_and_reason(tmp_path, no_leftovers):
    run = _pytest(tmp_path, "--testbed-suite", "ARP-1.1", "--testbed-stack", "null", "-x")
    assert run.returncode == 1
    assert "ARP-1.1 on null: verdict inconclusive, expected pass: set-up verification" \
        in run.stdout
    assert "Traceback" not in run.stdout
