"""The engine's handling of a DUT that dies mid-run, and of stacks that cannot do a set-up."""

import os
import signal

from testbed import scenario, stacks
from testbed.engine import Runner


def test_a_dead_dut_is_a_crash_and_the_run_goes_on(tmp_path, no_leftovers):
    tests = scenario.select(scenario.load_all(), ["ARP-1.1", "ARP-4.1", "ARP-3.2"])
    runner = Runner(stacks.load("linux"), tmp_path, silence=0.3)
    killed, windows = [], []

    def kill_dut_after_first(result):
        if not killed:
            session_pid = runner_sessions[-1].emulation.net["dut"].pid
            os.kill(session_pid, signal.SIGKILL)
            killed.append(session_pid)

    runner_sessions = []
    original = Runner._run_one

    def run_one(self, session, test):
        runner_sessions.append(session)
        windows.append(session.silence)
        return original(self, session, test)

    runner.on_result = kill_dut_after_first
    Runner._run_one = run_one
    try:
        results = runner.execute(tests)
    finally:
        Runner._run_one = original
    verdicts = {r.id: r.verdict for r in results}
    assert verdicts["ARP-1.1"] == "pass"
    assert verdicts["ARP-4.1"] == "crash"
    assert "stopped answering" in next(r.reason for r in results if r.id == "ARP-4.1")
    assert next(r.duration_s for r in results if r.id == "ARP-4.1") < 1.0
    assert verdicts["ARP-3.2"] == "pass"       # restarted, and the run went on
    assert windows == [0.3, 0.3, 0.3]          # --silence holds after the restart too


def test_unsupported_set_up_is_unsupported_not_fail(tmp_path, no_leftovers):
    """A stack that cannot add a route: a test needing one says so, it does not fail."""
    test = next(t for t in scenario.load_all() if t.role == "host"
                and any("add_route" in op for op in t.setup))
    runner = Runner(stacks.load("null"), tmp_path)
    from testbed.engine import Session
    session = Session(test.topology, runner.manifest, "ipv4")
    session.start()
    try:
        session.silence = 0.1
        result, _ = runner._run_one(session, test)
    finally:
        session.stop()
    assert result.verdict == "unsupported"
    assert "cannot add a route" in result.reason


def test_a_window_counts_frames_by_arrival_even_when_read_late(no_leftovers):
    """A frame that arrived inside a window counts though the capture thread records it
    only after the window closed (a busy machine); one that arrived after does not."""
    import time

    from scapy.layers.l2 import Ether

    from testbed import topology
    from testbed.capture import Capture
    from testbed.network import Emulation
    from testbed.wire import Port

    topo = topology.load("topology-1").conformance_view()
    with Emulation(topo, stacks.load("null")) as emulation:
        capture = Capture(emulation)
        try:
            with Port(emulation["dut"].pid, "eth0") as dut:
                frame = Ether(src="02:00:00:00:00:01", dst="ff:ff:ff:ff:ff:ff", type=0x88b5)
                with capture._changed:          # the thread cannot record anything now
                    sent = time.time()
                    dut.send(frame)
                    time.sleep(0.3)
                def ours(packet):
                    return packet.type == 0x88b5
                assert capture.wait_for("tester:t0", ours, 0, 0, until=sent - 0.1) is None
                index, found = capture.wait_for("tester:t0", ours, 0, 0, until=sent + 0.1)
                assert sent <= found.time < sent + 0.1
        finally:
            capture.close()
