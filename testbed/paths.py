"""Where the project's data and a run's state live."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOPOLOGIES = ROOT / "topologies"
STACKS = ROOT / "stacks"
SCENARIOS = ROOT / "scenarios"
# One folder per run (state, logs); tmpfs, so a reboot leaves nothing behind.
RUNS = Path(os.environ.get("TESTBED_RUNS", "/run/testbed"))
