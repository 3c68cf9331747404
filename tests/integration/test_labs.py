"""Every classroom lab, end to end: `testbed lab start` builds it, `check` finds no
task done on a fresh start, the teacher's solution steps (data in lab.yaml, applied
by `testbed lab solve`) make `check` find every task done, `stop` leaves nothing."""

import re
import subprocess
import sys

import pytest

from testbed import labs

TESTBED = [sys.executable, "-m", "testbed"]


def run_testbed(*args):
    return subprocess.run([*TESTBED, *args], capture_output=True, text=True, timeout=60)


def _start(name):
    started = run_testbed("lab", "start", name)
    assert started.returncode == 0, started.stdout + started.stderr
    return re.search(r"run (tb-[0-9a-f]{8})", started.stdout)[1]


@pytest.mark.parametrize("lab", labs.available(), ids=lambda lab: lab.name)
def test_lab_from_fresh_start_to_solved(lab, no_leftovers):
    run_id = _start(lab.name)
    try:
        fresh = run_testbed("lab", "check", lab.name, "--run", run_id)
        assert fresh.returncode == 1, fresh.stdout + fresh.stderr
        assert fresh.stdout.count("[not yet]") == len(lab.tasks), fresh.stdout
        assert f"0/{len(lab.tasks)} tasks done" in fresh.stdout
        assert fresh.stdout.count("hint: ") == len(lab.tasks)

        solved = run_testbed("lab", "solve", lab.name, "--run", run_id)
        assert solved.returncode == 0, solved.stdout + solved.stderr

        done = run_testbed("lab", "check", lab.name, "--run", run_id)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.count("[done]") == len(lab.tasks), done.stdout
    finally:
        stopped = run_testbed("lab", "stop", "--run", run_id)
    assert stopped.returncode == 0 and "is down" in stopped.stdout, stopped.stderr


def test_check_refuses_another_labs_run(no_leftovers):
    run_id = _start("icmp")
    try:
        wrong = run_testbed("lab", "check", "routing", "--run", run_id)
    finally:
        run_testbed("lab", "stop", "--run", run_id)
    assert wrong.returncode == 2
    assert "not lab routing" in wrong.stderr and "testbed lab start routing" in wrong.stderr
