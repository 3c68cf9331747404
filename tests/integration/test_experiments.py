"""The experiments in experiments/ run end to end in their --quick mode."""

import subprocess
import sys
from pathlib import Path

import pytest

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def _run(script, *args):
    run = subprocess.run([sys.executable, str(EXPERIMENTS / script), "--quick", *args],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_redirects(no_leftovers):
    out = _run("redirects/redirects.py")
    linux = next(line for line in out.splitlines() if line.startswith("| linux |"))
    assert linux.count("sent (") == 2 and linux.count("acts on it") == 2


@pytest.mark.slow
def test_neighbour_cache(tmp_path, no_leftovers):
    out = _run("neighbour-cache/neighbour_cache.py", "--plot", str(tmp_path / "plot.png"))
    assert "| linux | ipv4 | 1 sent (1 broadcast)" in out
    assert (tmp_path / "plot.png").stat().st_size > 1000


def test_forwarding(tmp_path, no_leftovers):
    out = _run("forwarding/forwarding.py", "--plot", str(tmp_path / "plot.png"))
    linux = next(line for line in out.splitlines() if line.startswith("| linux |"))
    assert float(linux.split("|")[2]) > 100           # Mbit/s through the Linux DUT
    assert (tmp_path / "plot.png").stat().st_size > 1000
