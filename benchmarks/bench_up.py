"""How long `testbed up topology-3 --detach` takes, against plain Mininet for the same graph.

Both are measured in the same run, alternating, as whole commands from
process start to "ready" (the topology built and configured).  The plain side
is plain_mininet_topology3.py.  Run as root after scripts/setup:

    .venv/bin/python benchmarks/bench_up.py [--rounds 10]

Budget (issue 2): testbed ≤ 1 s and ≤ 1.2 × plain Mininet.
"""

import argparse
import os
import statistics
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTBED = [sys.executable, "-m", "testbed"]
# Both sides import Mininet, which imports distutils; let both use the standard
# library's (setuptools' stand-in loads pkg_resources: ~0.1 s, the same for both).
ENV = {**os.environ, "SETUPTOOLS_USE_DISTUTILS": "stdlib",
       # runs of its own, so `testbed down` finds exactly the benchmark's run
       "TESTBED_RUNS": tempfile.mkdtemp(prefix="testbed-bench-runs-")}


def time_testbed():
    """Seconds for `testbed up topology-3 --detach` to return; the run is then taken down."""
    start = time.perf_counter()
    subprocess.run([*TESTBED, "up", "topology-3", "--detach"], check=True,
                   stdout=subprocess.DEVNULL, env=ENV)
    elapsed = time.perf_counter() - start
    subprocess.run([*TESTBED, "down"], check=True, stdout=subprocess.DEVNULL, env=ENV)
    return elapsed


def time_plain():
    """Seconds until the plain Mininet script says ready; it is then torn down."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(HERE / "plain_mininet_topology3.py")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, env=ENV)
    assert process.stdout.readline().strip() == "ready"
    elapsed = time.perf_counter() - start
    process.stdin.close()
    process.wait(timeout=30)
    return elapsed


def main():
    """Alternate the two, print medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    rounds = parser.parse_args().rounds
    try:
        time_testbed(), time_plain()          # warm the page cache and .pyc files
        ours, plain = [], []
        for _ in range(rounds):
            ours.append(time_testbed())
            plain.append(time_plain())
    finally:        # also after Ctrl-C or a failure
        shutil.rmtree(ENV["TESTBED_RUNS"], ignore_errors=True)
    m_ours, m_plain = statistics.median(ours), statistics.median(plain)
    print(f"rounds: {rounds}")
    print(f"testbed up topology-3 --detach: median {m_ours:.3f} s "
          f"(min {min(ours):.3f}, max {max(ours):.3f})")
    print(f"plain Mininet, same graph:      median {m_plain:.3f} s "
          f"(min {min(plain):.3f}, max {max(plain):.3f})")
    print(f"ratio: {m_ours / m_plain:.2f} (budget ≤ 1.20); testbed ≤ 1 s: {m_ours <= 1.0}")


if __name__ == "__main__":
    main()
