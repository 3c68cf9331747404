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


def write_summary(results, path, comparison=None):
    """``summary.md``: the table, then every non-pass with its reason — set against the
    stack's expected verdicts (an ``expected.Comparison``) when it has them."""
    header, rows = summary_rows(results)
    lines = ["# Conformance summary", "",
             "#pass/#total per suite and stack; other verdicts in brackets.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    if comparison is None:
        lines += _section("Tests that did not pass", [(r, None) for r in results
                                                      if r.verdict != "pass"])
    else:
        lines += ["", "Verdicts against the stack's expected ones: "
                  + ("all as expected." if comparison.as_expected else
                     f"{len(comparison.differing)} differ.")]
        lines += _section("Regressions (expected pass)", comparison.regressions)
        lines += _section("Unexpected passes", comparison.unexpected_passes)
        lines += _section("Other changes", comparison.changes)
        lines += _section("Known departures (as expected)", comparison.known)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _section(title, entries):
    """A Markdown table of (Result, expected verdict or None) under *title* (none if empty)."""
    if not entries:
        return []
    expected = entries[0][1] is not None
    lines = ["", f"## {title}", "",
             "| stack | test | verdict | " + ("expected | " if expected else "")
             + "requirement | reason |", "|---|---|---|" + ("---|" if expected else "") + "---|---|"]
    for result, want in entries:
        lines.append(f"| {result.stack} | {result.id} {result.title} | {result.verdict} | "
                     + (f"{want} | " if expected else "")
                     + f"{result.classification}, {result.reference} | "
                     f"{result.reason.replace('|', '/')} |")
    return lines


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
