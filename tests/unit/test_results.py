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
    code = ("import sys, testbed.report, testbed.matrix, testbed.diff, testbed.results; "
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
