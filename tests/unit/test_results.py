"""Results, reports and comparisons: light modules that work without Mininet or scapy."""

import json
import subprocess
import sys

from click.testing import CliRunner

from testbed import cli, diff, suites
from testbed.results import Result, ResultsFile, read


def result(test_id, verdict, stack="linux", suite="ARP", reason=""):
    return Result(test_id, suite, f"title {test_id}", "RFC 826, Packet Reception", "MUST",
                  "topology-1", "host", stack, verdict, reason, 0.1, "")


def write(folder, results):
    folder.mkdir(parents=True)
    stream = ResultsFile(folder / "results.jsonl")
    for item in results:
        stream.add(item)
    stream.close()
    return folder


def test_reading_and_reporting_results_loads_neither_mininet_nor_scapy():
    code = ("import sys, testbed.report, testbed.matrix, testbed.diff, testbed.results, "
            "testbed.htmlreport; "
            "sys.exit(bool({'mininet', 'scapy'} & set(sys.modules)))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_results_file_round_trips(tmp_path):
    written = [result("ARP-1.1", "pass"), result("ARP-1.2", "fail", reason="why")]
    assert read(write(tmp_path / "run", written)) == written
    assert read(tmp_path / "nothing") == []


def test_diff_lists_changed_verdicts_with_both_reasons_and_counts(tmp_path):
    a = write(tmp_path / "a", [result("ARP-1.1", "pass"), result("ARP-2.1", "pass"),
                               result("ICMP-1.1", "fail", suite="ICMPv4", reason="no reply")])
    b = write(tmp_path / "b", [result("ARP-1.1", "pass", stack="uml"),
                               result("ARP-2.1", "fail", stack="uml", reason="silent"),
                               result("ICMP-1.1", "fail", stack="uml", suite="ICMPv4")])
    changes, counts = diff.compare(diff.load(a), diff.load(b))
    assert [(c.key, c.a.verdict, c.b.verdict, c.b.reason) for c in changes] == [
        ("ARP-2.1", "pass", "fail", "silent")]
    assert counts == {"ARP": (2, 1, 2), "ICMPv4": (0, 0, 1)}
    invoked = CliRunner().invoke(cli.main, ["diff", str(a), str(b), "--json"])
    assert invoked.exit_code == 1
    assert json.loads(invoked.output)["changed"][0]["b"] == {"verdict": "fail", "reason": "silent"}
    assert CliRunner().invoke(cli.main, ["diff", str(a), str(a)]).exit_code == 0


def test_diff_of_two_matrices_compares_stack_by_stack(tmp_path):
    for side, verdict in (("a", "pass"), ("b", "crash")):
        write(tmp_path / side / "linux", [result("ARP-1.1", "pass")])
        write(tmp_path / side / "lwip", [result("ARP-1.1", verdict, stack="lwip")])
    changes, _ = diff.compare(diff.load(tmp_path / "a"), diff.load(tmp_path / "b"))
    assert [c.key for c in changes] == ["lwip ARP-1.1"]


def test_suite_table_orders_reports_and_knows_each_folder():
    assert suites.names()[0] == "ARP"
    assert suites.order("ARP") < suites.order("IPv4-GW") < suites.order("NOT-A-SUITE")
    assert all(suites.BY_FOLDER[s.folder] is s for s in suites.SUITES)


def test_expected_verdicts_tell_regressions_unexpected_passes_and_changes_apart(tmp_path):
    from testbed import expected
    path = tmp_path / "expected.yaml"
    path.write_text("ARP-2.1: {verdict: fail, reason: answers a broadcast sender}\n"
                    "ARP-3.1: {verdict: fail, reason: old}\n"
                    "ARP-4.1: {verdict: inconclusive, reason: no control}\n")
    want = expected.load(path)
    got = [result("ARP-1.1", "fail"), result("ARP-2.1", "fail"), result("ARP-3.1", "pass"),
           result("ARP-4.1", "fail"), result("ARP-5.1", "pass")]
    comparison = expected.compare(got, want)
    assert [r.id for r, _ in comparison.regressions] == ["ARP-1.1"]
    assert [r.id for r, _ in comparison.unexpected_passes] == ["ARP-3.1"]
    assert [(r.id, w) for r, w in comparison.changes] == [("ARP-4.1", "inconclusive")]
    assert [r.id for r, _ in comparison.known] == ["ARP-2.1"] and not comparison.as_expected
    expected.write(path, "linux", got[:3], want)        # ARP-4.1 did not run: kept
    rewritten = expected.load(path)
    assert rewritten["ARP-2.1"] == ("fail", "answers a broadcast sender")   # reason kept
    assert rewritten["ARP-1.1"][0] == "fail" and "MUST of RFC 826" in rewritten["ARP-1.1"][1]
    assert "ARP-3.1" not in rewritten and rewritten["ARP-4.1"] == ("inconclusive", "no control")
    assert expected.compare(got[:3], rewritten).as_expected


def test_expected_file_lives_beside_its_manifest_and_is_checked(tmp_path):
    from testbed import expected
    from testbed.errors import InputError
    assert expected.path_for("/x/stacks/lwip/stack.yaml").name == "expected.yaml"
    assert expected.path_for("/x/examples/linux-arp-deaf.yaml").name == \
        "linux-arp-deaf.expected.yaml"
    assert expected.load(tmp_path / "none.yaml") is None
    bad = tmp_path / "bad.yaml"
    bad.write_text("ARP-1.1: {verdict: maybe}\n")
    import pytest
    with pytest.raises(InputError, match=r"bad.yaml:1: ARP-1.1: give verdict"):
        expected.load(bad)
