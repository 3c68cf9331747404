"""How `testbed up FILE --detach` and `testbed down` times grow with the node count.

Topologies come from topologies/generate.py (a chain of routers with four
hosts each, behind the DUT); after each `down` nothing of the run may be left.
Run as root after scripts/setup:

    .venv/bin/python benchmarks/bench_big.py [--nodes 50 100 200 500] [--kind chain]

Budget (issue "speed"): 500 nodes up in ≤ 30 s on a 2-core machine.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "topologies"))
import generate  # noqa: E402  (topologies/generate.py)

# runs of its own, so `testbed down` finds exactly the benchmark's run (set before
# testbed.paths reads it)
RUNS = os.environ["TESTBED_RUNS"] = tempfile.mkdtemp(prefix="testbed-bench-runs-")
from testbed import runstate  # noqa: E402

HOSTS_PER_ROUTER = 4
TESTBED = [sys.executable, "-m", "testbed"]
ENV = {**os.environ, "SETUPTOOLS_USE_DISTUTILS": "stdlib"}


def write_topology(kind, nodes, folder):
    """A generated topology of about *nodes* nodes in *folder*; (path, exact node count)."""
    routers = max(1, round((nodes - 2) / (1 + HOSTS_PER_ROUTER)))
    data = generate.generate(kind, routers, HOSTS_PER_ROUTER)
    path = folder / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path, len(data["nodes"])


def leftovers():
    """What a finished run may not leave: marked processes, run folders (empty when clean)."""
    return {**runstate.marked(), **{run.id: "folder" for run in runstate.Run.all()}}


def time_up_down(path):
    """(seconds for `up --detach`, seconds for `down`) of the topology at *path*."""
    start = time.perf_counter()
    subprocess.run([*TESTBED, "up", str(path), "--detach"], check=True,
                   stdout=subprocess.DEVNULL, env=ENV)
    up = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run([*TESTBED, "down"], check=True, stdout=subprocess.DEVNULL, env=ENV)
    return up, time.perf_counter() - start


def main():
    """Bring each size up and down once; print the table; fail if anything is left."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[50, 100, 200, 500])
    parser.add_argument("--kind", choices=("chain", "tree"), default="chain")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="testbed-bench-big-"))
    try:
        time_up_down(write_topology(args.kind, 10, folder)[0])   # warm caches and .pyc files
        print(f"{'nodes':>6} {'up s':>8} {'down s':>8} {'up s/node':>10}  left")
        for wanted in args.nodes:
            path, nodes = write_topology(args.kind, wanted, folder)
            up, down = time_up_down(path)
            left = leftovers()
            print(f"{nodes:>6} {up:>8.2f} {down:>8.2f} {up / nodes:>10.4f}  "
                  f"{left or 'nothing'}", flush=True)
            if left:
                sys.exit(f"run left something behind: {left}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(RUNS, ignore_errors=True)


if __name__ == "__main__":
    main()
