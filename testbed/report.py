"""Reports of a run's results: junit.xml and the seed-style summary.md."""

from collections import Counter
from xml.etree import ElementTree

from . import suites as suite_table
from .results import VERDICTS


def counts(results):
    """{(suite, stack): Counter of verdicts}."""
    table = {}
    for result in results:
        table.setdefault((result.suite, result.stack), Counter())[result.verdict] += 1
    return table


def cell(counter):
    """ "47/52 (fail 3, inconclusive 2)": passes over total, other verdicts beside."""
    total = sum(counter.values())
    others = ", ".join(f"{v} {counter[v]}" for v in VERDICTS[1:] if counter[v])
    return f"{counter['pass']}/{total}" + (f" ({others})" if others else "")


def summary_rows(results):
    """(header, rows) of the seed's table: one row per stack, one column per suite."""
    table = counts(results)
    suites = sorted({key[0] for key in table}, key=suite_table.order)
    stacks = list(dict.fromkeys(r.stack for r in results))
    rows = [[stack] + [cell(table[(suite, stack)]) if (suite, stack) in table else "n/a"
                       for suite in suites] for stack in stacks]
    return ["stack"] + suites, rows


def write_summary(results, path):
    """``summary.md``: the table, then every non-pass with its reason."""
    header, rows = summary_rows(results)
    lines = ["# Conformance summary", "",
             "#pass/#total per suite and stack; other verdicts in brackets.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    others = [r for r in results if r.verdict != "pass"]
    if others:
        lines += ["", "## Tests that did not pass", "",
                  "| stack | test | verdict | requirement | reason |", "|---|---|---|---|---|"]
        lines += [f"| {r.stack} | {r.id} {r.title} | {r.verdict} | {r.classification}, "
                  f"{r.reference} | {r.reason.replace('|', '/')} |" for r in others]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_junit(results, path):
    """``junit.xml``: a testsuite per suite and stack; fail → failure, crash/error → error,
    unsupported/inconclusive → skipped (with the reason)."""
    root = ElementTree.Element("testsuites")
    for (suite, stack), counter in counts(results).items():
        members = [r for r in results if r.suite == suite and r.stack == stack]
        element = ElementTree.SubElement(
            root, "testsuite", name=f"{suite} [{stack}]", tests=str(len(members)),
            failures=str(counter["fail"]), errors=str(counter["crash"] + counter["error"]),
            skipped=str(counter["unsupported"] + counter["inconclusive"]),
            time=f"{sum(r.duration_s for r in members):.3f}")
        for result in members:
            case = ElementTree.SubElement(element, "testcase", classname=f"{stack}.{suite}",
                                          name=f"{result.id} {result.title}",
                                          time=f"{result.duration_s:.4f}")
            tag = {"fail": "failure", "crash": "error", "error": "error",
                   "unsupported": "skipped", "inconclusive": "skipped"}.get(result.verdict)
            if tag:
                ElementTree.SubElement(case, tag, type=result.verdict,
                                       message=f"{result.verdict}: {result.reason}")
            ElementTree.SubElement(case, "system-out").text = (
                f"{result.classification} {result.reference}; pcap: {result.pcap}")
    ElementTree.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
