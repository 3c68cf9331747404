"""The testbed command as a user runs it: exit codes, detached runs, teardown on signals."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testbed import runstate

TESTBED = [sys.executable, "-m", "testbed"]


def run_testbed(*args, **kwargs):
    return subprocess.run([*TESTBED, *args], capture_output=True, text=True, timeout=60, **kwargs)


def test_up_check_passes_on_topology_3(no_leftovers):
    result = run_testbed("up", "topology-3", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "17 passed, 0 failed" in result.stdout
    assert "redirected to fe80::" in result.stdout


def test_up_check_exits_1_when_checks_fail(no_leftovers):
    result = run_testbed("up", "topology-1", "--stack", "null", "--check")
    assert result.returncode == 1
    assert "no ARP reply" in result.stdout


def test_bad_input_exits_2_with_one_clear_line(tmp_path):
    assert run_testbed("up", "topology-9").returncode == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nnodes:\n  dut: {role: dut, interfaces: {eth0: {}}}\n"
                   "links:\n  - [ghost:eth0, dut:eth0]\n")
    result = run_testbed("up", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"testbed: {bad}:5: link ghost:eth0: unknown node 'ghost'"]
    assert "Traceback" not in result.stderr
    assert run_testbed("up", "topology-1", "--stack", "nosuch").returncode == 2
    assert run_testbed("up").returncode == 2       # usage


def test_stack_manifest_path_with_sysctl_and_setup(no_leftovers):
    """A researcher's manifest: Linux with send_redirects=0 and nftables loaded."""
    result = run_testbed("up", "topology-3", "--stack", "stacks/examples/linux-no-redirects.yaml",
                     "--check", cwd=Path(__file__).parents[2])
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if "FAIL" in line]
    assert len(failed) == 1 and "redirected to 198.18.1.2" in failed[0]   # IPv6 still redirects


def _owner(run_id):
    return next(r for r in runstate.Run.all() if r.id == run_id).state["owner"]


def _up_detached(topology, *options):
    result = run_testbed("up", topology, "--detach", *options)
    assert result.returncode == 0, result.stderr
    status = json.loads(run_testbed("status", "--json").stdout)
    live = [r for r in status if r["alive"] and r["topology"] == topology]
    assert len(live) == 1
    return live[0]["id"]


def test_detached_run_exec_status_down(no_leftovers):
    run_id = _up_detached("topology-3")
    ping = run_testbed("exec", "--run", run_id, "h1", "--", "ping", "-c1", "-W1", "198.18.3.10")
    assert ping.returncode == 0 and "1 received" in ping.stdout
    assert "198.18.1.1/24" in run_testbed("exec", "--run", run_id, "dut", "--", "ip", "-br",
                                      "addr").stdout
    assert run_testbed("exec", "--run", run_id, "nosuch", "--", "true").returncode == 2
    down = run_testbed("down", "--run", run_id)
    assert down.returncode == 0 and "is down" in down.stdout
    assert run_id not in runstate.marked()


def test_a_stack_on_any_node_lwip_host_through_a_gvisor_router(no_leftovers):
    """h1 runs lwIP, the DUT gVisor: exec on h1 reaches the stack (h1's kernel is silent),
    a word naming a node stands for its address, and the note says what lwIP cannot take."""
    up = run_testbed("up", "topology-3", "--stack", "h1=lwip", "--stack", "dut=gvisor",
                     "--detach")
    assert up.returncode == 0, up.stderr
    assert "host (lwip)" in up.stdout and "h1 (lwip) has no route to ::/0" in up.stderr
    run_id = next(r["id"] for r in json.loads(run_testbed("status", "--json").stdout)
                  if r["alive"] and r["node_stacks"] == {"h1": "lwip"})
    try:
        assert "stack=gvisor h1=lwip" in run_testbed("status").stdout
        ping = run_testbed("exec", "--run", run_id, "h1", "--", "ping", "hc", "count=2")
        assert ping.returncode == 0 and "2 sent, 2 received" in ping.stdout, ping.stdout
        back = run_testbed("exec", "--run", run_id, "hc", "--", "ping", "-c1", "-W1", "h1")
        assert back.returncode == 0, back.stdout
        lost = run_testbed("exec", "--run", run_id, "h1", "--", "ping", "198.18.9.9")
        assert lost.returncode == 1 and "0 received" in lost.stdout
    finally:
        assert run_testbed("down", "--run", run_id).returncode == 0
    assert run_id not in runstate.marked()


def test_kill_9_then_clean_leaves_nothing(no_leftovers):
    run_id = _up_detached("topology-3")
    # A process that scrubbed its environment and left its session: only the
    # namespace ties it to the run.
    run_testbed("exec", "--run", run_id, "dut", "--", "sh", "-c",
            "setsid env -i sleep 300 </dev/null >/dev/null 2>&1 &")
    os.kill(_owner(run_id), signal.SIGKILL)
    time.sleep(0.2)
    assert "dead" in run_testbed("status").stdout
    cleaned = run_testbed("clean")
    assert cleaned.returncode == 0 and run_id in cleaned.stdout
    assert run_id not in runstate.marked()
    assert "sleep 300" not in subprocess.run(["ps", "-eo", "args"], capture_output=True,
                                             text=True).stdout
    assert run_testbed("clean").stdout.strip() == "nothing to clean"


@pytest.mark.parametrize("how", ["SIGTERM", "exit"])
def test_interactive_up_tears_down_on_signal_or_exit(how, no_leftovers):
    process = subprocess.Popen([*TESTBED, "up", "topology-1"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = ""
    while "dut help" not in seen:
        line = process.stdout.readline()
        assert line, seen
        seen += line
    if how == "SIGTERM":
        process.stdin.write("dut caps\n")      # be sure the console is reading
        process.stdin.flush()
        while "addresses" not in process.stdout.readline():
            pass
        process.send_signal(signal.SIGTERM)
    else:
        process.stdin.write("dut ping 198.18.1.10 count=1\nexit\n")
        process.stdin.flush()
    process.wait(timeout=20)
    assert process.returncode == (128 + signal.SIGTERM if how == "SIGTERM" else 0)
    assert not [r for r in runstate.Run.all()
                if r.state.get("owner") == process.pid]


def test_failing_stack_setup_reports_and_leaves_nothing(tmp_path, no_leftovers):
    manifest = tmp_path / "broken.yaml"
    manifest.write_text("name: broken\nadapter: linux\nsetup:\n  - ip link set dev nosuch up\n")
    result = run_testbed("up", "topology-3", "--stack", str(manifest), "--check")
    assert result.returncode == 1
    assert "setup command 'ip link set dev nosuch up' failed" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("delay", [0.0, 0.03, 0.1, 0.3])
def test_ctrl_c_at_any_moment_leaves_nothing(delay, no_leftovers, tmp_path):
    """SIGINT while building, configuring or checking: exit 130 (or 0 if it had finished).

    The process itself is waited for (stderr goes to a file, so a leftover
    holding a pipe cannot pass for a hang); no_leftovers checks the rest.
    """
    log = tmp_path / "stderr"
    with open(log, "w") as stderr:
        process = subprocess.Popen([*TESTBED, "up", "topology-3", "--check"],
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + 10
    while not any(r.state.get("owner") == process.pid for r in runstate.Run.all()):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.002)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        stacks = {t.name: (t / "wchan").read_text() for t in Path(f"/proc/{process.pid}/task").iterdir()}
        process.kill()
        pytest.fail(f"still running 30 s after SIGINT; threads' wait channels {stacks}; "
                    f"stderr {log.read_text()!r}")
    err = log.read_text()
    assert process.returncode in (0, 130), err
    assert "Traceback" not in err


def test_run_side_by_side_gives_the_serial_verdicts(tmp_path, no_leftovers):
    """`testbed run -j 2` cuts the tests into pieces run in two processes: same verdicts."""
    verdicts = {}
    for jobs in (1, 2):
        out = tmp_path / f"j{jobs}"
        done = run_testbed("run", "ICMPv4", "--stack", "linux", "--out", str(out), "-j", str(jobs))
        assert done.returncode == 0, done.stdout + done.stderr
        records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        verdicts[jobs] = {r["id"]: r["verdict"] for r in records}
    assert verdicts[1] == verdicts[2]


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_side_by_side_run_stopped_leaves_nothing(how, tmp_path, no_leftovers):
    """Ctrl-C in a terminal (the whole group), or a signal to testbed alone: every piece
    is taken down, and the exit code says why."""
    process = subprocess.Popen([*TESTBED, "run", "ICMPv4", "--stack", "linux", "-j", "2",
                                "--out", str(tmp_path / "out")], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    if how == "SIGINT to the group":
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(getattr(signal, how))
    _, err = process.communicate(timeout=30)
    assert process.returncode == (143 if how == "SIGTERM" else 130), err
    assert "Traceback" not in err and "leaked" not in err


def test_a_one_fault_linux_held_to_linux_expectations_names_its_regressions(tmp_path,
                                                                            no_leftovers):
    """Linux told not to send Redirects, held to Linux's expected verdicts: exit 1, and the
    Redirect test is listed as a regression; an unaffected test is not."""
    root = Path(__file__).parents[2]
    manifest = tmp_path / "linux-no-redirects.yaml"
    manifest.write_text((root / "stacks/examples/linux-no-redirects.yaml").read_text())
    (tmp_path / "linux-no-redirects.expected.yaml").write_text(
        (root / "stacks/linux/expected.yaml").read_text())
    done = run_testbed("run", "IPGW-7.1", "IPGW-1.1", "--stack", str(manifest),
                       "--out", str(tmp_path / "out"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 regression(s)" in done.stdout
    assert "IPGW-7.1     expected pass, got fail" in done.stdout
    assert "IPGW-1.1" not in done.stdout.split("regression(s)")[1]
