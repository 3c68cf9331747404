"""Every suite against the null stack (no pass at all) and against Linux (stable verdicts)."""

import json
from pathlib import Path

import pytest

from testbed import scenario, stacks
from testbed.engine import run_tests

TESTS = scenario.load_all()
SUITES = sorted({t.suite for t in TESTS})


# Tests that wait out a real RFC timer (IPV6-3.25's 60-second reassembly
# timeout): the default run leaves them to the slow tests below.
REAL_TIMERS = {t.id for t in TESTS if t.waits >= 20}


def run(stack, tests, out, jobs=1):
    return run_tests(tests, stacks.load(stack), out, jobs=jobs)


# Against the null and deaf DUTs most tests wait out their windows: six
# sessions side by side (as `testbed run -j 6`) make that several times shorter.
JOBS = 6


@pytest.mark.timeout(900)
@pytest.mark.parametrize("suite", SUITES)
def test_null_stack_passes_nothing(suite, tmp_path, no_leftovers):
    """A DUT that answers nothing must score zero: every test can fail or stay inconclusive."""
    results = run("null", [t for t in TESTS if t.suite == suite], tmp_path, JOBS)
    passed = [r.id for r in results if r.verdict == "pass"]
    assert not passed, f"tests that pass against a dead DUT: {passed}"
    assert all(r.reason for r in results)


DATA = Path(__file__).parents[1] / "data" / "stacks"
DEAF = {"ipv4": str(DATA / "linux-ip-deaf.yaml"),
        "ipv6": str(Path(__file__).parents[2] / "stacks" / "examples" / "linux-ipv6-deaf.yaml")}
# Tests that judge only what the DUT sends on its own (a flow label, its own
# fragments): a DUT deaf to IPv6 still sends, so they may pass against it.
SENDS_ONLY = {"IPV6-1.4", "IPV6-3.31", "IPV6-3.32", "IPV6-3.33",
              "SLAAC-1.1", "SLAAC-1.2", "SLAAC-1.3", "SLAAC-1.12",   # DAD probes
              "NDP-4.33", "NDP-4.34", "NDP-4.35", "NDP-4.36", "NDP-4.37",
              "NDP-4.38",   # unsolicited Router Advertisements
              "NDP-4.44", "NDP-4.45"}   # Router Solicitations when the link comes up
# The deaf DUT takes in Neighbor Solicitations (set-up verification needs
# them), so a test that sends it nothing but solicitations (Neighbor ones, or
# Router ones a host must drop; NDP-1.13's come in fragments) judges the real
# Linux Neighbor Discovery and may pass: a DUT answering what it must not, or
# its control, makes such a test fail.  NDP-2.7 looks only at what the DUT sends.
SOLICITATIONS = {"ICMPv6ND_NS": 135, "ICMPv6ND_RS": 133}
SOLICITATIONS_ONLY = {"NDP-1.13", "NDP-2.7"}


def _sends_only_solicitations(test):
    """True if every packet *test* sends (controls included) is a Neighbor or Router
    Solicitation, well formed or not."""
    def solicitation(layers):
        return any(name in SOLICITATIONS or (name == "ICMPv6Unknown" and fields.get("type")
                                             in SOLICITATIONS.values())
                   for layer in layers for name, fields in layer.items())

    def sent(steps):
        for step in steps:
            (kind, body), = step.items()
            if kind == "send":
                yield body["packet"]
            elif kind == "expect_none":
                yield from sent(body["control"])
    packets = list(sent(test.steps))
    return bool(packets) and all(solicitation(packet) for packet in packets)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("suite", [s for s in SUITES if s != "ARP"])
def test_every_ip_test_can_fail(suite, tmp_path, no_leftovers):
    """Against a DUT that passes set-up verification (it answers ARP, or NS) but drops
    every other packet of the test's family, each test runs for real, and none may pass:
    its own expectation or its positive control must catch it."""
    for family, deaf in DEAF.items():
        tests = [t for t in TESTS if t.suite == suite and t.family == family
                 and t.id not in REAL_TIMERS]
        results = run(deaf, tests, tmp_path / family, JOBS) if tests else []
        assert not any("set-up verification" in r.reason for r in results)
        exempt = SENDS_ONLY | SOLICITATIONS_ONLY | {t.id for t in tests
                                                    if _sends_only_solicitations(t)}
        passed = [r.id for r in results if r.verdict == "pass" and r.id not in exempt]
        assert not passed, f"tests that pass against a DUT dropping all {family}: {passed}"


@pytest.mark.timeout(900)
def test_linux_verdicts_are_stable_and_independent_of_order(tmp_path, no_leftovers):
    """An eighth of all tests (every eighth: every suite, topology and family is in), forwards,
    then in reverse order: every test gets the same verdict.

    The DUT is reset between tests, so nothing a test leaves behind may change
    another's verdict (this caught Linux's ICMP and no-route limiters sharing state).
    All tests, five times over: benchmarks/bench_suites.py.
    """
    sample = [t for t in TESTS[::8] if t.id not in REAL_TIMERS]
    forwards = {r.id: r.verdict for r in run("linux", sample, tmp_path / "1")}
    backwards = {r.id: r.verdict for r in run("linux", sample[::-1], tmp_path / "2")}
    differing = {i: (forwards[i], backwards[i]) for i in forwards if forwards[i] != backwards[i]}
    assert not differing
    for suite in SUITES:
        assert any(v == "pass" for i, v in forwards.items()
                   if next(t.suite for t in TESTS if t.id == i) == suite)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_real_timer_tests_fail_when_deaf_and_pass_on_linux(tmp_path, no_leftovers):
    """What the default run leaves out: each real-timer test can fail (a deaf DUT) and
    gets Linux's expected verdict."""
    assert REAL_TIMERS == {"IPV6-3.25"}
    tests = [t for t in TESTS if t.id in REAL_TIMERS]
    deaf = run(DEAF["ipv6"], tests, tmp_path / "deaf", JOBS)
    assert not [r.id for r in deaf if r.verdict == "pass"]
    linux = run("linux", tests, tmp_path / "linux", JOBS)
    assert all(r.verdict == "pass" for r in linux)


def test_run_writes_results_junit_summary_and_pcaps(tmp_path, no_leftovers):
    import subprocess
    import sys
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "testbed", "run", "ARP-1.1", "ARP-3.2",
                           "--stack", "linux", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in lines] == ["ARP-1.1", "ARP-3.2"]
    for record in lines:
        assert {"id", "suite", "title", "reference", "classification", "stack", "verdict",
                "reason", "duration_s", "pcap"} <= set(record)
        assert (out / record["pcap"]).stat().st_size > 0
    assert "<testsuite name=\"ARP [linux]\"" in (out / "junit.xml").read_text()
    assert "| linux | 2/2 |" in (out / "summary.md").read_text()
