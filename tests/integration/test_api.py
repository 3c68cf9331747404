"""The Python API (testbed.Testbed) and link shaping, on real namespaces and stacks."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap

from testbed import Testbed
from testbed.errors import Unsupported

LINE = Path(__file__).resolve().parents[2] / "experiments" / "forwarding" / "line.yaml"


def test_testbed_runs_commands_captures_and_drives_the_dut(tmp_path, no_leftovers):
    pcap = tmp_path / "h1.pcapng"
    with Testbed("topology-3", stack="linux") as tb:
        tb.dut.add_route("198.18.9.0/24", "198.18.1.2")
        assert "198.18.9.0/24" in tb.node("dut").run("ip route").output
        with tb.capture(["h1:eth0", "rtr:eth1"], pcap):
            result = tb.node("h1").run(f"ping -n -c1 -W1 {tb.address('hc:eth0')}")
        assert result.code == 0 and result.ok, result.output
        assert tb.node("h1").run("exit 3").code == 3
    ports = {p.sniffed_on for p in rdpcap(str(pcap))}
    assert ports == {"h1:eth0", "rtr:eth1"}


def test_a_host_running_a_stack_of_its_own(no_leftovers):
    """h1 on lwIP: its contract pings hc through the Linux DUT; its kernel stays silent."""
    with Testbed("topology-3", stacks={"h1": "lwip"}) as tb:
        h1 = tb.node("h1")
        assert h1.stack.name == "lwip" and tb.node("hc").stack is None
        assert h1.stack.ping(tb.address("hc:eth0"), count=2, interval=0.2).received >= 1
        assert not h1.run("ping -c1 -W1 198.18.1.1").ok


def test_send_and_expect_scapy_packets_as_an_identity(no_leftovers):
    with Testbed("topology-1", stack="linux", live=False) as tb:
        echo = (Ether(src=tb.mac("HOST-1"), dst=tb.mac("dut:eth0")) /
                IP(src=tb.address("HOST-1"), dst=tb.address("dut:eth0")) / ICMP(id=7))
        tb.send("HOST-1", echo)
        reply = tb.expect("HOST-1", lambda p: ICMP in p and p[ICMP].type == 0, within=1.0)
        assert reply is not None and reply[ICMP].id == 7
        tb.send("HOST-1", echo)
        assert tb.expect("HOST-1", lambda p: ICMP in p and p[ICMP].type == 99, 0.1) is None


def test_teardown_on_exception(no_leftovers):
    with pytest.raises(RuntimeError):
        with Testbed("topology-1", stack="linux"):
            raise RuntimeError("boom")


def _iperf_mbit(tb, seconds=2):
    server = tb.node("h2").popen(["iperf3", "-s", "-1"])
    try:
        time.sleep(0.3)
        out = tb.node("h1").run(f"iperf3 -c {tb.address('h2:eth0')} -t {seconds} -J").output
    finally:
        server.kill()
        server.wait()
    return json.loads(out[out.index("{"):])["end"]["sum_received"]["bits_per_second"] / 1e6


def test_rate_from_the_api_and_from_yaml_limits_throughput(tmp_path, no_leftovers):
    with Testbed(LINE, stack="linux") as tb:
        assert _iperf_mbit(tb, 1) > 100          # unshaped veth: far above 10 Mbit/s
        tb.shape("h1:eth0", rate="10mbit")
        assert 7 < _iperf_mbit(tb) < 11
    shaped = tmp_path / "shaped.yaml"
    shaped.write_text(LINE.read_text().replace("- [h1:eth0, dut:eth0]",
                                               "- [h1:eth0, dut:eth0, {rate: 5mbit}]"))
    with Testbed(shaped, stack="linux") as tb:
        assert 3.5 < _iperf_mbit(tb) < 5.5


def test_delay_without_netem_is_one_unsupported_message(tmp_path, no_leftovers):
    with Testbed(LINE, stack="linux") as tb:
        if tb.node("h1").run("tc qdisc add dev lo root netem delay 1ms").ok:
            pytest.skip("this kernel has netem")
        with pytest.raises(Unsupported, match="netem"):
            tb.shape("h1:eth0", delay="10ms")


def test_teardown_on_ctrl_c(no_leftovers):
    script = ("import time\nfrom testbed import Testbed\n"
              "with Testbed('topology-3', stack='linux'):\n"
              "    print('up', flush=True)\n    time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "up"
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=30) != 0
