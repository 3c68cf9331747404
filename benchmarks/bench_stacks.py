"""Start-to-ready time of each process stack.

    .venv/bin/python benchmarks/bench_stacks.py [--rounds 10] [STACK ...]

For every round it builds topology-1 with the stack on the DUT and reads the
adapter's own measurement: from starting the shim's process to its answer to
``configure`` (the stack holds its addresses and answers on the wire).  The
build of the namespaces is not counted.  Default: every built process stack.

Budgets (issue 4): gVisor and lwIP ≤ 0.2 s, PyTCP ≤ 1.5 s, UML ≤ 3 s.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile

RUNS = tempfile.mkdtemp(prefix="testbed-bench-runs-")
os.environ["TESTBED_RUNS"] = RUNS    # runs of its own, before testbed is imported

from testbed import stacks, topology  # noqa: E402
from testbed.network import Emulation  # noqa: E402

BUDGETS = {"gvisor": 0.2, "lwip": 0.2, "pytcp": 1.5, "uml": 3.0}


def main():
    """Measure, report, exit 1 if a median is over its budget."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    manifests = ([stacks.load(name) for name in args.stacks] if args.stacks else
             [s for s in stacks.available() if s.adapter_name == "process" and s.built])
    topo = topology.load("topology-1").conformance_view()
    over = False
    try:
        for manifest in manifests:
            times = []
            for _ in range(args.rounds):
                with Emulation(topo, manifest) as network:
                    times.append(network.dut.ready_after)
            median = statistics.median(times)
            budget = BUDGETS.get(manifest.name)
            verdict = "" if budget is None else (
                f"  budget {budget:g} s: {'ok' if median <= budget else 'OVER'}")
            over |= budget is not None and median > budget
            print(f"{manifest.name:<8} start-to-ready median {median * 1000:7.1f} ms  "
                  f"min {min(times) * 1000:7.1f}  max {max(times) * 1000:7.1f}  "
                  f"({len(times)} rounds){verdict}")
    finally:
        shutil.rmtree(RUNS, ignore_errors=True)
    sys.exit(1 if over else 0)


if __name__ == "__main__":
    main()
