"""Where the project's data and a run's state live."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOPOLOGIES = ROOT / "topologies"
STACKS = ROOT / "stacks"
SCENARIOS = ROOT / "scenarios"
# One folder per run (state, logs); tmpfs, so a reboot leaves nothing behind.
# TESTBED_RUNS gives a separate set of runs (the test suite uses its own).
RUNS_VARIABLE, DEFAULT_RUNS = "TESTBED_RUNS", "/run/testbed"
RUNS = Path(os.environ.get(RUNS_VARIABLE, DEFAULT_RUNS))
