"""Wall time of every suite on Linux (`testbed run -j`) and of the full matrix (`testbed matrix -j`).

    .venv/bin/python benchmarks/bench_matrix.py [--run-jobs 12] [--matrix-jobs 12] [--baseline 6]
                                                [--repeat 5] [--skip-run] [--keep]

Each side runs as the user would run it, whole commands, into scratch folders;
the exit code says whether every verdict was the expected one (0), which the
speed must not cost.  ``--baseline J`` also times the matrix at ``-j J`` in the
same invocation (the earlier setting: one session per stack), for a ratio.
``--repeat N`` runs the full matrix N times and compares every stack's
verdicts test by test (``testbed diff``): the stability the speed must keep.
The result folders are removed at the end unless ``--keep`` is given.

Budgets (issue 13): every suite on Linux ≤ 60 s; the full matrix ≤ 300 s.
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from testbed import diff
from testbed.results import VERDICTS

TESTBED = [sys.executable, "-m", "testbed"]
BUDGETS = {"run": 60.0, "matrix": 300.0}


def timed(out, *args):
    """Run `testbed ARGS --out OUT`; (seconds, exit code, [(seconds, test id) as each ended])."""
    started = time.monotonic()
    process = subprocess.Popen([*TESTBED, *args, "--out", out], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    ends = [(time.monotonic() - started, words[1]) for words in map(str.split, process.stdout)
            if len(words) > 1 and words[0] in VERDICTS]
    code = process.wait()
    return time.monotonic() - started, code, ends


def main():
    """Measure, report, exit 1 if over a budget, a verdict was unexpected or unstable."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-jobs", type=int, default=12)
    parser.add_argument("--matrix-jobs", type=int, default=12)
    parser.add_argument("--baseline", type=int, metavar="J")
    parser.add_argument("--repeat", type=int, default=1, metavar="N")
    parser.add_argument("--skip-run", action="store_true", help="time the matrix only")
    parser.add_argument("--keep", action="store_true", help="keep the result folders")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="testbed-bench-")
    try:
        bad = measure(args, scratch)
    finally:
        if args.keep:
            print(f"results kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    sys.exit(1 if bad else 0)


def measure(args, scratch):
    """Run what *args* ask for into *scratch*, print the figures; True if any is bad."""
    bad = False
    if not args.skip_run:
        seconds, code, ends = timed(f"{scratch}/run", "run", "--stack", "linux",
                                    "-j", str(args.run_jobs))
        print(f"every suite on linux, run -j {args.run_jobs}: {seconds:.1f} s "
              f"(budget {BUDGETS['run']:.0f} s), exit {code}", flush=True)
        if len(ends) > 1:
            print(f"  the last test, {ends[-1][1]}, ended at {ends[-1][0]:.1f} s; "
                  f"the other {len(ends) - 1} by {ends[-2][0]:.1f} s", flush=True)
        bad |= seconds > BUDGETS["run"] or code != 0
    matrices, times = [], []
    for repetition in range(args.repeat):
        matrices.append(f"{scratch}/matrix-{repetition + 1}")
        seconds, code, _ = timed(matrices[-1], "matrix", "-j", str(args.matrix_jobs))
        times.append(seconds)
        print(f"full matrix, -j {args.matrix_jobs}: {seconds:.1f} s "
              f"(budget {BUDGETS['matrix']:.0f} s), exit {code}", flush=True)
        bad |= seconds > BUDGETS["matrix"] or code != 0
    if args.repeat > 1:
        first = diff.load(matrices[0])
        tests = sum(len(verdicts) for verdicts in first.values())
        changed = {change.key for other in matrices[1:]
                   for change in diff.compare(first, diff.load(other))[0]}
        print(f"verdicts of {tests} tests ({len(first)} stacks) identical in all "
              f"{args.repeat} runs: {not changed}" + "".join(f"\n  differs: {k}"
                                                            for k in sorted(changed)))
        bad |= bool(changed)
    if args.baseline:
        base, base_code, _ = timed(f"{scratch}/baseline", "matrix", "-j", str(args.baseline))
        ratio = f"; ratio {statistics.median(times) / base:.2f}" if times else ""
        print(f"full matrix, -j {args.baseline} (baseline): {base:.1f} s, exit {base_code}"
              + ratio)
    return bad


if __name__ == "__main__":
    main()
