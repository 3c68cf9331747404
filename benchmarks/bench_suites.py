"""Speed and stability of the conformance suites against a stack.

    .venv/bin/python benchmarks/bench_suites.py [--stack linux] [--repeat 5] [SUITE ...]

For each repetition it runs the suites (default ARP, ICMPv4, IPv4-GW) with a
fresh topology, and reports the wall time per suite and in all, the median
time from first send to verdict of the *positive* tests that passed (those
expecting an answer, with no expect_none or wait step), and whether every
repetition gave every test the same verdict.  Then where the time went:
per phase of a test (results.PHASES), the total over all runs, its share of
the tests' time, and its median per test that had the phase.  ``--jobs N``
runs each repetition as ``testbed run -j N`` does.

Budget (issue 3): median positive test ≤ 20 ms; the three suites ≤ 20 s.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

RUNS = tempfile.mkdtemp(prefix="testbed-bench-runs-")
os.environ["TESTBED_RUNS"] = RUNS    # runs of its own, before testbed is imported
OUT = f"{RUNS}-out"                   # the runs' results

from testbed import scenario, stacks  # noqa: E402
from testbed.engine import run_tests  # noqa: E402
from testbed.results import PHASES  # noqa: E402


def positive(test):
    """True if the test only expects answers (no silence windows, no waits)."""
    kinds = {next(iter(step)) for step in test.steps}
    return "expect" in kinds and not kinds & {"expect_none", "wait"}


def print_phases(phases):
    """Where the tests' time went: total, share and median per test, for each phase."""
    total = sum(sum(values) for values in phases.values()) or 1.0
    print(f"{'phase':<10} {'total s':>8} {'share':>6} {'median ms':>10}  what")
    for phase, what in PHASES.items():
        values = phases.get(phase, [])
        if values:
            print(f"{phase:<10} {sum(values):8.2f} {sum(values) / total:6.1%} "
                  f"{statistics.median(values) * 1000:10.1f}  {what}")


def main():
    """Run, time, compare."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", default=["ARP", "ICMPv4", "IPv4-GW"])
    parser.add_argument("--stack", default="linux")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    tests = scenario.select(scenario.load_all(), args.suites)
    kinds = {t.id: positive(t) for t in tests}
    manifest = stacks.load(args.stack)
    runs, walls, latencies, phases = [], [], [], {}
    for repetition in range(args.repeat):
        start = time.perf_counter()
        results = run_tests(tests, manifest, f"{OUT}/{repetition}",    # as `testbed run` does
                            jobs=args.jobs)
        walls.append(time.perf_counter() - start)
        verdicts = {r.id: r.verdict for r in results}
        latencies += [r.send_to_verdict_ms for r in results
                      if kinds[r.id] and r.send_to_verdict_ms is not None]
        for result in results:
            for phase, seconds in (result.phases or {}).items():
                phases.setdefault(phase, []).append(seconds)
        per_suite = {s: sum(r.duration_s for r in results if r.suite == s) for s in args.suites}
        runs.append(verdicts)
        print(f"run {repetition + 1}: {walls[-1]:.2f} s wall (tests: "
              + ", ".join(f"{s} {t:.2f} s" for s, t in per_suite.items()) + "); "
              f"{sum(v == 'pass' for v in verdicts.values())}/{len(verdicts)} pass", flush=True)
    differing = sorted(i for i in runs[0] if len({r[i] for r in runs}) > 1)
    totals = walls
    print(f"tests: {len(tests)} ({sum(kinds.values())} positive)")
    print(f"suites total: median {statistics.median(totals):.2f} s (budget ≤ 20 s)")
    print(f"positive tests, first send to verdict: median {statistics.median(latencies):.2f} ms, "
          f"p90 {sorted(latencies)[int(len(latencies) * 0.9)]:.2f} ms (budget ≤ 20 ms)")
    print(f"same verdicts in all {args.repeat} runs: {not differing}"
          + (f" (differing: {', '.join(differing)})" if differing else ""))
    print_phases(phases)
    return 1 if differing else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:        # also after Ctrl-C or a failure: no scratch folder outlives the benchmark
        shutil.rmtree(RUNS, ignore_errors=True)
        shutil.rmtree(OUT, ignore_errors=True)
