"""report.html: the page written for a run folder and a matrix folder, without a browser
(tests/integration/test_htmlreport_browser.py renders it in Chromium)."""

import json
import re
from html.parser import HTMLParser

from click.testing import CliRunner

from testbed import cli, expected, htmlreport
from testbed.results import Result, ResultsFile

EVIL = '<script>alert("x")</script><!-- & </script> \u2028 <img src=x onerror=alert(1)>'


def ladder(stack_mac="02:8f:a0:48:b5:e3", evil=False):
    return [{"t": 0.0, "port": "tester:t0", "src": "HOST-1", "dst": "broadcast", "sent": True,
             "summary": "Ether / ARP who has 198.18.1.1 says 198.18.1.10", "matched": False},
            {"t": 0.0002, "port": "tester:t0", "src": "DUT eth0", "dst": "HOST-1", "sent": False,
             "summary": EVIL if evil else f"Ether / ARP is at {stack_mac} says 198.18.1.1",
             "matched": True}]


def result(test_id, verdict, stack="linux", suite="ARP", reason="", reference="RFC 826, "
           "Packet Reception, p.5", evil=False):
    return Result(test_id, suite, f"title of {test_id}", reference, "MUST", "topology-1", "host",
                  stack, verdict, reason, 0.1, f"pcap/{test_id}.pcapng", None,
                  f"The requirement of {test_id} in words.", ladder(evil=evil), 0)


def write(folder, results, want=None):
    folder.mkdir(parents=True)
    stream = ResultsFile(folder / "results.jsonl")
    for item in results:
        stream.add(item)
    stream.close()
    if want is not None:
        expected.save_copy(folder / "expected.json", want)
    return folder


def data_block(page):
    """The page's JSON block, decoded."""
    match = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    return json.loads(match.group(1))


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text, of a page."""

    def __init__(self, page):
        super().__init__()
        self.tags, self.text = [], []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_rfc_links_go_to_the_section_when_numbered_and_to_the_rfc_otherwise():
    link = htmlreport.rfc_link
    assert link("RFC 1122, 3.2.2.1") == "https://www.rfc-editor.org/rfc/rfc1122#section-3.2.2.1"
    assert link("RFC 1812, 5.2.7.2 Redirect") == \
        "https://www.rfc-editor.org/rfc/rfc1812#section-5.2.7.2"
    assert link("RFC 2644, 3 Router Requirements").endswith("rfc2644#section-3")
    assert link("RFC 1122 §3.3.6").endswith("rfc1122#section-3.3.6")
    assert link("RFC 4861, Appendix C").endswith("rfc4861#appendix-C")
    assert link("RFC 826, Packet Reception, p.5") == "https://www.rfc-editor.org/rfc/rfc826"
    assert link("RFC 792, Redirect Message, p.13") == "https://www.rfc-editor.org/rfc/rfc792"
    assert link("IEEE 802.3") is None and link("") is None


def test_run_report_has_heatmap_filters_links_and_escapes_everything(tmp_path):
    run = write(tmp_path / "run", [
        result("ARP-1.1", "pass", reference="RFC 1122, 2.3.2.1"),
        result("ARP-1.2", "fail", reason=EVIL, evil=True),
        result("ICMP-1.1", "unsupported", suite="ICMPv4", reason="cannot addr_add"),
        result("ICMP-1.10", "pass", suite="ICMPv4"),
        result("ICMP-1.2", "fail", suite="ICMPv4", reason="no reply")],
        want={"ARP-1.2": ("fail", "known: answers anyway"),
              "ICMP-1.1": ("unsupported", "no second address"),
              "ICMP-1.2": ("unsupported", "was unsupported")})
    path = htmlreport.write(run)
    assert path == run / "report.html"
    page = path.read_text(encoding="utf-8")

    # nothing from the results can end the data block or make markup
    assert "alert" not in page.split('id="data"')[0]
    assert '<script>alert' not in page and "<img" not in page and "<!--" not in page
    assert page.count("</script>") == 2
    assert "</script" not in htmlreport.JS and "</script" not in htmlreport.CSS
    elements = Elements(page)
    assert [t for t, _ in elements.tags].count("script") == 2
    assert not any(k.startswith("on") for _, attrs in elements.tags for k in attrs)

    # heatmap: passes/total per suite, coloured, each cell a link to that suite on that stack
    assert re.search(r'<th scope="row">ARP</th><td style="background:hsl\(60,[^"]*"><a '
                     r'href="#suite=ARP&amp;stack=linux"[^>]*><b>1/2</b><small>fail 1</small>',
                     page)
    assert '<b>1/3</b><small>fail 1, unsupported 1</small>' in page   # ICMPv4
    assert re.search(r'class=total><th scope="row">all suites</th><td style="background:'
                     r'hsl\(48,[^>]*><a href="#stack=linux"[^>]*><b>2/5</b>', page)
    assert "1 ≠ expected" in page                       # ICMP-1.2: expected unsupported

    # filters: suite, verdicts present (with counts), levels, differs from expected
    tags = elements.tags
    assert [a["value"] for t, a in tags if t == "option"] == ["", "ARP", "ICMPv4", "", "linux"]
    assert [a["value"] for t, a in tags if a.get("name") == "verdict"] == \
        ["pass", "fail", "unsupported"]
    assert [a["value"] for t, a in tags if a.get("name") == "cls"] == ["MUST"]
    assert any(a.get("id") == "f-unexpected" for _, a in tags)
    assert "differs from expected <small>1</small>" in page

    # the data: tests in suite and number order, strings once, RFC links and pcaps
    block = data_block(page)
    tests = {t[0]: t for t in block["tests"]}
    assert list(tests) == ["ARP-1.1", "ARP-1.2", "ICMP-1.1", "ICMP-1.2", "ICMP-1.10"]
    assert block["rfc"] + tests["ARP-1.1"][6] == \
        "https://www.rfc-editor.org/rfc/rfc1122#section-2.3.2.1"
    assert block["rfc"] + tests["ARP-1.2"][6] == "https://www.rfc-editor.org/rfc/rfc826"
    assert tests["ARP-1.2"][5] == "The requirement of ARP-1.2 in words."
    strings, verdicts = block["s"], block["verdicts"]
    cell = tests["ARP-1.2"][9][0]
    assert verdicts[cell[0]] == "fail" and strings[cell[1]] == EVIL
    assert verdicts[cell[2]] == "fail" and strings[cell[3]] == "known: answers anyway"
    assert strings[cell[4]] == "pcap/ARP-1.2.pcapng" and block["stacks"][0]["dir"] == ""
    frames = [cell[5][n:n + 6] for n in range(0, len(cell[5]), 6)]
    assert [(f[0], strings[f[2]], strings[f[3]], f[4]) for f in frames] == \
        [(0, "HOST-1", "broadcast", 1), (2, "DUT eth0", "HOST-1", 2)]
    assert strings[frames[1][5]] == EVIL
    assert len(strings) == len(set(strings))
    unexpected = tests["ICMP-1.2"][9][0]
    assert verdicts[unexpected[0]] == "fail" and verdicts[unexpected[2]] == "unsupported"
    assert tests["ARP-1.1"][9][0][2] == verdicts.index("pass")      # not listed: pass expected


def test_matrix_report_puts_stacks_side_by_side_and_counts_disagreements(tmp_path):
    matrix = tmp_path / "matrix"
    write(matrix / "lwip", [result("ARP-1.1", "pass", stack="lwip"),
                            result("ARP-1.2", "crash", stack="lwip", reason="died")])
    write(matrix / "linux", [result("ARP-1.1", "pass"), result("ARP-1.2", "pass"),
                             result("ICMP-1.1", "fail", suite="ICMPv4")])
    (matrix / "matrix.json").write_text(json.dumps({"stacks": [
        {"name": "linux", "version": "Linux 6.1", "incomplete": None},
        {"name": "lwip", "version": "liblwip0 2.1.3", "incomplete": "exited 3 after 2 tests"}]}))
    page = htmlreport.write(matrix).read_text(encoding="utf-8")
    heading = re.search(r"<thead><tr>(.*?)</tr></thead>", page).group(1)
    assert re.findall(r'<th scope="col">([^<]*)</th>', heading) == ["suite", "linux", "lwip"]
    assert 'href="#suite=ARP&amp;stack=lwip"' in page and "<b>1/2</b><small>crash 1</small>" \
        in page
    assert '<td class="none">—</td>' in page                  # ICMPv4 did not run on lwip
    assert "run incomplete: exited 3 after 2 tests" in page and "Linux 6.1" in page
    assert 'href="lwip/summary.md"' in page
    assert "stacks disagree <small>1</small>" in page          # ARP-1.2: pass and crash
    assert "matrix of 2 stacks · 3 tests, 5 verdicts" in page
    block = data_block(page)
    assert [s["name"] for s in block["stacks"]] == ["linux", "lwip"]
    assert [s["dir"] for s in block["stacks"]] == ["linux", "lwip"]
    icmp = next(t for t in block["tests"] if t[0] == "ICMP-1.1")
    assert icmp[9][1] == 0 and icmp[9][0][2] == -1             # not run on lwip; no expectations
    assert len(page.encode()) < 60_000


def test_old_results_without_ladders_get_them_from_their_pcaps(tmp_path):
    from scapy.layers.l2 import ARP, Ether
    from scapy.utils import PcapNgWriter
    run = tmp_path / "old"
    (run / "pcap").mkdir(parents=True)
    old = {k: v for k, v in result("ARP-1.1", "pass").to_json().items()
           if k not in ("description", "ladder", "ladder_left_out", "send_to_verdict_ms")}
    (run / "results.jsonl").write_text(json.dumps(old) + "\n" + '{"id": "ARP-1.2", "suite"')
    asked = Ether(src="02:00:00:00:01:0a", dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="198.18.1.1")
    asked.time, asked.sniffed_on, asked.comment = 100.0, "tester:t0", \
        b"sent by the tester as HOST-1"
    answer = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:01:0a") / ARP(op=2)
    answer.time, answer.sniffed_on = 100.003, "tester:t0"
    with PcapNgWriter(str(run / "pcap" / "ARP-1.1.pcapng")) as writer:
        writer.write(asked)
        writer.write(answer)
    invoked = CliRunner().invoke(cli.main, ["report", str(run)])
    assert invoked.exit_code == 0 and "report.html" in invoked.output
    block = data_block((run / "report.html").read_text(encoding="utf-8"))
    (test,) = block["tests"]                           # the line cut short is skipped
    strings, frames = block["s"], test[9][0][5]
    assert test[5] == ""
    assert [strings[i] for i in (frames[2], frames[3], frames[8], frames[9])] == \
        ["HOST-1", "broadcast", "DUT (t0)", "HOST-1"]
    assert frames[6] == 30 and strings[frames[11]].startswith("Ether / ARP is at")


def test_report_command_refuses_a_folder_without_results(tmp_path):
    invoked = CliRunner().invoke(cli.main, ["report", str(tmp_path)])
    assert invoked.exit_code == 2 and "no results.jsonl" in invoked.output


def test_long_ladders_are_capped(tmp_path):
    rows = ladder() * 30
    long = result("ARP-1.1", "pass")
    long.ladder, long.ladder_left_out = rows, 5
    block = data_block(htmlreport.write(write(tmp_path / "run", [long])).read_text())
    cell = block["tests"][0][9][0]
    assert len(cell[5]) == 6 * htmlreport.LADDER_ROWS and cell[6] == 5 + 60 - htmlreport.LADDER_ROWS
