"""report.html in a real browser: Debian's chromium (installed by scripts/setup), headless.

The page of a real run must show its heatmap and, for the test named in the URL
fragment, a ladder of the exchange; a synthetic matrix of 3,000 test x stack
cells must be ready (rows rendered and laid out) in under a second.
"""

import re
import shutil
import subprocess
import sys

import pytest

from testbed import htmlreport
from testbed.results import Result, ResultsFile

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is missing: run scripts/setup")


def dump_dom(url, profile, budget_ms=None):
    """The DOM of *url* once loaded, as headless Chromium serialises it."""
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--no-first-run",
            f"--user-data-dir={profile}", "--dump-dom", url]
    if budget_ms:
        argv.insert(-2, f"--virtual-time-budget={budget_ms}")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def ready_ms(dom):
    """When the page's script had rendered the list (performance.now(), from navigation)."""
    match = re.search(r'data-ready-ms="([\d.]+)"', dom)
    assert match, "the page's script did not finish"
    return float(match.group(1))


def test_report_of_a_real_run_shows_heatmap_and_the_ladder_asked_for(tmp_path, no_leftovers):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "testbed", "run", "ARP-1.1", "ARP-3.2",
                           "--stack", "linux", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    page = out / "report.html"
    assert f"report: {page}" in done.stdout
    dom = dump_dom(page.as_uri() + "#test=ARP-1.1", tmp_path / "profile")
    assert re.search(r'<table class="heat">.*<th scope="row">ARP</th>.*?<b>\d/2</b>', dom, re.S)
    # ARP-1.1 is open: its details, a ladder with an arrow from HOST-1 to the DUT, the
    # answer matched, and a link to its pcap
    details = dom[dom.index('<div class="d"'):]
    assert "RFC 826, Packet Reception" in details
    assert 'class="col tst"' in details and ">HOST-1<" in details and ">DUT eth0<" in details
    assert details.count('<div class="lr') >= 2 and "<polygon" in details
    assert 'class="lr m"' in details and "◆ matched" in details
    assert "ARP is at" in details
    assert 'href="./pcap/ARP-1.1.pcapng"' in details
    assert (out / "pcap" / "ARP-1.1.pcapng").is_file()
    # `testbed report` makes the same page again from the folder
    page.unlink()
    again = subprocess.run([sys.executable, "-m", "testbed", "report", str(out)],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and page.is_file()


def synthetic_matrix(folder, tests=500, stacks=("linux", "uml", "lwip", "gvisor", "pytcp", "b")):
    """A matrix folder of *tests* x *stacks* results, each with a ladder of a few frames."""
    verdicts = ("pass", "pass", "pass", "fail", "unsupported", "inconclusive")
    for s, stack in enumerate(stacks):
        (folder / stack).mkdir(parents=True)
        stream = ResultsFile(folder / stack / "results.jsonl")
        for n in range(tests):
            suite = ("ARP", "IPv4", "ICMPv4", "IPv4-GW", "IPv6", "ICMPv6")[n % 6]
            verdict = verdicts[(n * 7 + s * 3) % len(verdicts)]
            mac = f"02:00:00:00:{s:02x}:01"
            ladder = [{"t": 0.0001 * k, "port": "tester:t0", "src": "HOST-1" if k % 2 == 0
                       else "DUT eth0", "dst": "DUT eth0" if k % 2 == 0 else "HOST-1",
                       "sent": k % 2 == 0, "matched": k == 3,
                       "summary": (f"Ether / IP / ICMP 198.18.1.10 > 198.18.1.1 echo-request 0 "
                                   f"/ Raw {n}" if k % 2 == 0 else
                                   f"Ether / ARP is at {mac} says 198.18.1.1")}
                      for k in range(6)]
            stream.add(Result(f"{suite}-{n // 6}.{n % 6}", suite, f"Synthetic test number {n}",
                              f"RFC 1122, 3.2.2.{n % 9}", ("MUST", "SHOULD", "MAY")[n % 3],
                              "topology-1", "host", stack, verdict,
                              "" if verdict == "pass" else
                              f"expected ICMP type=0 on tester:t0 within 1 s; got nothing ({n})",
                              0.05, f"pcap/{suite}-{n}.pcapng", None,
                              "A host must do what this synthetic requirement says, in a "
                              "paragraph about as long as the real ones are. " * 3,
                              ladder, 0))
        stream.close()
    return folder


def test_a_3000_cell_matrix_is_ready_in_under_a_second(tmp_path):
    folder = synthetic_matrix(tmp_path / "matrix")
    page = htmlreport.write(folder)
    size = page.stat().st_size
    times = [ready_ms(dump_dom(page.as_uri(), tmp_path / f"profile{n}")) for n in range(3)]
    rendered = dump_dom(page.as_uri(), tmp_path / "profile-check").split('id="data"')[0]
    assert rendered.count('<div class="rw t"') == 500
    assert rendered.count('<span class="st"><span class="v') == 3000
    print(f"\n3,000-cell report: {size / 1e6:.2f} MB, ready in {sorted(times)} ms "
          f"(performance.now() when the list is rendered and laid out)")
    assert min(times) < 1000
    assert size < 3_000_000
