"""Wall time of every suite on Linux (`testbed run -j`) and of the full matrix (`testbed matrix -j`).

    .venv/bin/python benchmarks/bench_matrix.py [--run-jobs 6] [--matrix-jobs 12] [--baseline 6]

Each side runs as the user would run it, whole commands, into scratch folders;
the exit code says whether every verdict was the expected one (0), which the
speed must not cost.  ``--baseline J`` also times the matrix at ``-j J`` in the
same invocation (the earlier setting: one session per stack), for a ratio.

Budgets (issue 13): every suite on Linux ≤ 60 s; the full matrix ≤ 300 s.
"""

import argparse
import subprocess
import sys
import tempfile
import time

TESTBED = [sys.executable, "-m", "testbed"]
BUDGETS = {"run": 60.0, "matrix": 300.0}


def timed(*args):
    """Run `testbed ARGS` into a scratch --out; (seconds, exit code)."""
    with tempfile.TemporaryDirectory(prefix="testbed-bench-") as out:
        started = time.monotonic()
        done = subprocess.run([*TESTBED, *args, "--out", out], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        return time.monotonic() - started, done.returncode


def main():
    """Measure, report, exit 1 if over a budget or a verdict was not the expected one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-jobs", type=int, default=6)
    parser.add_argument("--matrix-jobs", type=int, default=12)
    parser.add_argument("--baseline", type=int, metavar="J")
    args = parser.parse_args()
    bad = False
    seconds, code = timed("run", "--stack", "linux", "-j", str(args.run_jobs))
    print(f"every suite on linux, run -j {args.run_jobs}: {seconds:.1f} s "
          f"(budget {BUDGETS['run']:.0f} s), exit {code}")
    bad |= seconds > BUDGETS["run"] or code != 0
    seconds, code = timed("matrix", "-j", str(args.matrix_jobs))
    print(f"full matrix, -j {args.matrix_jobs}: {seconds:.1f} s "
          f"(budget {BUDGETS['matrix']:.0f} s), exit {code}")
    bad |= seconds > BUDGETS["matrix"] or code != 0
    if args.baseline:
        base, base_code = timed("matrix", "-j", str(args.baseline))
        print(f"full matrix, -j {args.baseline} (baseline): {base:.1f} s, exit {base_code}; "
              f"ratio {seconds / base:.2f}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
