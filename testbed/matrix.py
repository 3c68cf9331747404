"""``testbed matrix``: the same suites against several stacks, side by side.

Each stack runs as its own ``testbed run`` process (its own run, marker and
clean-up), writing ``DIR/<stack>/`` exactly as ``testbed run`` does; this
module then reads their ``results.jsonl`` back and writes ``DIR/matrix.md``
and ``DIR/matrix.json``.
"""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from . import expected, report, signals, suites
from .results import read as read_results

RUN_EXIT_OK = (0, 1)   # testbed run: all passed / some did not


def run_stack(manifest, selectors, out, silence=None, update_expected=False, jobs=1):
    """Run *selectors* against one stack in a child ``testbed run -j jobs``; return its
    exit status.

    Its console output goes to ``out/run.log``.
    """
    out.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "testbed", "run", *selectors, "--stack", str(manifest.path),
            "--out", str(out), "-j", str(jobs)]
    if silence is not None:
        argv += ["--silence", str(silence)]
    if update_expected:
        argv.append("--update-expected")
    with open(out / "run.log", "wb") as log:
        return subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT).returncode


def comparison(results):
    """[(test Result of the first stack that ran it, {stack: Result})], in suite order."""
    by_test = {}
    for result in results:
        by_test.setdefault(result.id, {})[result.stack] = result
    rows = [(next(iter(per.values())), per) for per in by_test.values()]
    rows.sort(key=lambda row: suites.order(row[0].suite))
    return rows


def write(out, manifests, results, failures):
    """Write ``matrix.md`` and ``matrix.json`` into *out*.

    *failures* maps a stack whose run did not complete to why.
    """
    header, rows = report.summary_rows(results)
    data = {
        "stacks": [{**{k: v for k, v in s.describe().items() if k in
                       ("name", "version", "adapter", "capabilities")},
                    "results": f"{s.name}/results.jsonl",
                    "incomplete": failures.get(s.name)} for s in manifests],
        "summary": {row[0]: dict(zip(header[1:], row[1:])) for row in rows},
        "counts": {f"{suite}/{stack}": dict(counter)
                   for (suite, stack), counter in report.counts(results).items()},
        "tests": [{"id": first.id, "suite": first.suite, "title": first.title,
                   "reference": first.reference, "classification": first.classification,
                   "verdicts": {stack: {"verdict": r.verdict, "reason": r.reason,
                                        "pcap": f"{stack}/{r.pcap}" if r.pcap else ""}
                                for stack, r in per.items()}}
                  for first, per in comparison(results)],
    }
    (out / "matrix.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    (out / "matrix.md").write_text(_markdown(header, rows, manifests, results, failures),
                                   encoding="utf-8")


def _markdown(header, rows, manifests, results, failures):
    """The matrix as Markdown: the seed's table, the stacks, then every test."""
    stacks = [s.name for s in manifests]
    lines = ["# Conformance matrix", "",
             "#pass/#total per suite and stack; other verdicts in brackets. "
             "Each stack's own results, summary and pcaps are in its folder.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += ["", "| stack | version | capabilities |", "|---|---|---|"]
    for manifest in manifests:
        item = manifest.describe()
        lines.append(f"| [{manifest.name}]({manifest.name}/summary.md) | {item['version']} | "
                     f"{', '.join(item['capabilities'])} |")
    for name, why in failures.items():
        lines.append(f"\n**{name}: run incomplete** — {why}")
    mark = {"pass": "pass", "fail": "**FAIL**"}
    lines += ["", "## Per test", "",
              "Verdicts per stack; rows where the stacks disagree are marked ≠.", "",
              "| test | requirement | " + " | ".join(stacks) + " | |",
              "|---|---|" + "---|" * len(stacks) + "---|"]
    for first, per in comparison(results):
        verdicts = [per[s].verdict if s in per else "—" for s in stacks]
        differ = "≠" if len({v for v in verdicts if v != "—"}) > 1 else ""
        lines.append(f"| {first.id} {first.title} | {first.classification}, {first.reference} | "
                     + " | ".join(mark.get(v, v) for v in verdicts) + f" | {differ} |")
    return "\n".join(lines) + "\n"


def make(manifests, selectors, out_dir, silence=None, on_stack=None, update_expected=False,
         jobs=1):
    """Run *selectors* against every manifest, *jobs* sessions at a time, and write the matrix.

    Each stack's run is a process of its own with its own namespaces, so runs
    side by side do not meet.  Up to *jobs* stacks run at once; when *jobs*
    exceeds the stacks, each stack's run cuts its tests into pieces too
    (``testbed run -j``), so that about *jobs* sessions run side by side.  Returns (results, failures, comparisons):
    *failures* maps a stack whose run did not complete to why; *comparisons*
    maps each stack that has expected verdicts to its ``expected.Comparison``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    got, failures, comparisons = {}, {}, {}
    at_once = max(1, min(jobs, len(manifests)))
    pieces = max(1, jobs // len(manifests)) if manifests else 1
    with ThreadPoolExecutor(at_once, initializer=signals.main_thread_only) as pool:
        running = {pool.submit(run_stack, manifest, selectors, out / manifest.name, silence,
                               update_expected, pieces): manifest for manifest in manifests}
        for done in as_completed(running):
            manifest = running[done]
            got[manifest.name] = read_results(out / manifest.name)
            status = done.result()
            if status not in RUN_EXIT_OK:
                failures[manifest.name] = (f"`testbed run` exited {status} after "
                                           f"{len(got[manifest.name])} tests; "
                                           f"see {manifest.name}/run.log")
            want = expected.load(expected.path_for(manifest.path))
            if want is not None:
                comparisons[manifest.name] = expected.compare(got[manifest.name], want)
            if on_stack is not None:
                on_stack(manifest, got[manifest.name], failures.get(manifest.name),
                         comparisons.get(manifest.name))
    results = [result for manifest in manifests for result in got[manifest.name]]
    write(out, manifests, results, failures)
    return results, failures, comparisons
