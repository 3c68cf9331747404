"""Every shipped process stack (lwIP, gVisor, PyTCP, UML, rump) on real namespaces.

The ARP and ICMPv4 suites run against each of them through ``testbed matrix``
(so CI runs them on every change); a stack that dies or hangs is a crash and
the run goes on; no stack process outlives a killed run.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testbed import expected as expectations, runstate, scenario, stacks, topology
from testbed.results import expected_verdict
from testbed.stacks.control import OP_TIMEOUT
from testbed.engine import Runner
from testbed.network import Emulation

from test_cli import _owner, _up_detached, run_testbed
from test_linux_contract import assert_udp_both_ways

PROCESS_STACKS = sorted(s.name for s in stacks.available() if s.adapter_name == "process")
ALL = sorted(["linux", *PROCESS_STACKS])


def test_every_process_stack_is_built():
    """CI builds every stack through scripts/setup; a missing one is a failure, not a skip."""
    assert {"lwip", "gvisor", "pytcp", "uml", "rump"} <= set(PROCESS_STACKS)
    for name in PROCESS_STACKS:
        stacks.require_built(stacks.load(name))


@pytest.fixture(scope="module")
def arp_icmpv4_matrix(tmp_path_factory):
    """ARP and ICMPv4 against linux and every process stack, as `testbed matrix` runs them."""
    out = tmp_path_factory.mktemp("matrix")
    done = subprocess.run([sys.executable, "-m", "testbed", "matrix", "--stacks", ",".join(ALL),
                           "--suites", "arp,icmpv4", "--out", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return out, json.loads((out / "matrix.json").read_text())


# The matrix behind these runs in the first test that asks for it: minutes, not seconds.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", ALL)
def test_arp_and_icmpv4_run_against_every_stack(arp_icmpv4_matrix, name):
    out, data = arp_icmpv4_matrix
    expected = len(scenario.select(scenario.load_all(), ["arp", "icmpv4"]))
    mine = [t["verdicts"][name] for t in data["tests"] if name in t["verdicts"]]
    assert len(mine) == expected
    verdicts = [v["verdict"] for v in mine]
    # The set-up verification passed (the stack answers on the wire) and the
    # test bed could drive it: every test came to a verdict about the stack.
    # A crash counts only where the stack's expected.yaml names it (rump: a
    # NetBSD double free that panics its kernel on malformed IP options).
    known = expectations.load(expectations.path_for(stacks.load(name).path)) or {}
    assert "error" not in verdicts, \
        [(t["id"], t["verdicts"][name]) for t in data["tests"]
         if t["verdicts"].get(name, {}).get("verdict") == "error"]
    assert not [t["id"] for t in data["tests"]
                if t["verdicts"].get(name, {}).get("verdict") == "crash"
                and expected_verdict(known, t["id"]) != "crash"], \
        [(t["id"], t["verdicts"][name]) for t in data["tests"]
         if t["verdicts"].get(name, {}).get("verdict") == "crash"]
    assert verdicts.count("pass") >= 20, f"{name}: only {verdicts.count('pass')} passes"
    assert (out / name / "summary.md").is_file() and (out / name / "junit.xml").is_file()
    assert any((out / name / "pcap").iterdir())


@pytest.mark.timeout(900)
def test_matrix_tells_the_stacks_apart(arp_icmpv4_matrix):
    out, data = arp_icmpv4_matrix
    assert set(data["summary"]) == set(ALL)
    assert any(len({v["verdict"] for v in t["verdicts"].values()}) > 1 for t in data["tests"])
    text = (out / "matrix.md").read_text()
    assert all(f"| {name} | " in text for name in ALL)


@pytest.mark.parametrize("name", PROCESS_STACKS)
def test_a_stack_that_dies_or_hangs_is_a_crash_and_the_run_goes_on(name, tmp_path,
                                                                   no_leftovers):
    tests = scenario.select(scenario.load_all(),
                            ["ARP-1.1", "ARP-4.1", "ARP-1.2", "ARP-4.2", "ARP-1.3"])
    runner = Runner(stacks.load(name), tmp_path, silence=0.2)
    sessions, original = [], Runner._run_one

    def run_one(self, session, test):
        sessions.append(session)
        return original(self, session, test)

    def disturb(result):
        process = sessions[-1].dut.process
        if result.id == "ARP-1.1":
            os.kill(process.pid, signal.SIGKILL)      # dies between tests
        elif result.id == "ARP-1.2":
            os.kill(process.pid, signal.SIGSTOP)      # hangs
    runner.on_result = disturb
    Runner._run_one = run_one
    try:
        results = {r.id: r for r in runner.execute(tests)}
    finally:
        Runner._run_one = original
    assert [results[t].verdict for t in ("ARP-1.1", "ARP-4.1", "ARP-1.2", "ARP-4.2", "ARP-1.3")] \
        == ["pass", "crash", "pass", "crash", "pass"], {k: (r.verdict, r.reason)
                                                         for k, r in results.items()}
    assert "stopped answering" in results["ARP-4.1"].reason
    assert f"no answer to reset within {OP_TIMEOUT:g} s" in results["ARP-4.2"].reason


@pytest.mark.parametrize("name", PROCESS_STACKS)
def test_no_stack_process_outlives_kill_9_and_clean(name, no_leftovers):
    run_id = _up_detached("topology-1", "--stack", name)
    os.kill(_owner(run_id), signal.SIGKILL)
    time.sleep(0.2)
    cleaned = run_testbed("clean")
    assert cleaned.returncode == 0 and run_id in cleaned.stdout
    assert run_id not in runstate.marked()
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(runstate.Run(run_id, runstate.paths.RUNS / run_id).dir) not in ps


@pytest.mark.parametrize("name", PROCESS_STACKS)
def test_dut_pings_and_exchanges_udp_with_a_live_host(name, no_leftovers):
    manifest = stacks.load(name)
    live_pair = Path(__file__).parent.parent / "data/topologies/live-pair.yaml"
    with Emulation(topology.load(str(live_pair)), manifest) as network:
        dut = network.dut
        assert dut.alive() and dut.ready_after is not None
        for family, address in (("ipv4", "198.18.1.10"), ("ipv6", "2001:2:0:1::10")):
            result = dut.ping(address, count=2, interval=0.1)
            assert result.received >= 1, (family, result)   # PyTCP drops the first while it resolves
            assert result.replies[-1].ttl == 64 and result.replies[-1].source == address
        assert dut.ping("198.18.1.99", count=1, timeout=0.5).received == 0
        h1 = network["h1"]
        out, _ = h1.run("ip neigh show 198.18.1.1")
        assert network.topology.dut.interfaces["eth0"].mac in out   # the stack's own MAC
        assert_udp_both_ways(h1, dut)
        dut.reset()
        assert dut.alive()


def test_external_manifest_runs_a_stack_testbed_does_not_ship(tmp_path, no_leftovers):
    """The worked example: a manifest outside stacks/NAME/ that starts a shim by path."""
    example = Path(__file__).parent.parent.parent / "stacks/examples/gvisor-external.yaml"
    listed = run_testbed("run", "ARP-1.1", "ICMP-1.1", "--stack", str(example),
                         "--out", str(tmp_path))
    assert listed.returncode == 0, listed.stdout + listed.stderr
    results = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert {(r["stack"], r["verdict"]) for r in results} == {("gvisor-external", "pass")}
    assert stacks.load(str(example)).version().startswith("gVisor netstack")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_matrix_side_by_side_gives_the_verdicts_of_a_serial_run(tmp_path, no_leftovers):
    """-j 2 runs two stacks at once, each in its own namespaces: the same verdicts as -j 1."""
    def matrix(jobs):
        out = tmp_path / f"j{jobs}"
        done = subprocess.run([sys.executable, "-m", "testbed", "matrix", "--stacks",
                               "linux,gvisor", "--suites", "icmpv4", "-j", str(jobs),
                               "--out", str(out)], capture_output=True, text=True, timeout=500)
        assert done.returncode in (0, 1), done.stdout + done.stderr
        return out
    serial, parallel = matrix(1), matrix(2)
    compared = subprocess.run([sys.executable, "-m", "testbed", "diff", str(serial),
                               str(parallel)], capture_output=True, text=True)
    assert compared.returncode == 0, compared.stdout
