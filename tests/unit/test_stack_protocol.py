"""Process stacks without namespaces: manifests, the control protocol over a real
UNIX socket against a plain-data shim, the start command, and matrix files."""

import json
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from testbed import matrix, stacks, topology
from testbed.results import Result
from testbed.errors import ControlError, InputError, Unsupported
from testbed.stacks.contract import Capability
from testbed.stacks.control import ControlClient, StackGone
from testbed.stacks.process import ProcessDut
from testbed.stacks.serve import Refused, Shim

GOOD = ('name: x\nadapter: process\ncommand: ["{stack}/shim", "--control", "{control}", '
        '"{interfaces}"]\ncapabilities: [ping, ipv6]\n')


def manifest_file(tmp_path, text):
    path = tmp_path / "stack.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(("text", "line", "message"), [
    ("name: x\nadapter: process\ncapabilities: [ping]\n", 1, "'command' is a required"),
    ("name: x\nadapter: process\ncommand: [a]\ncapabilities: [teleport]\n", 4,
     "'teleport' is not one of"),
    ('name: x\nadapter: linux\ncommand: ["a"]\n', 1, "should not be valid"),
    (GOOD + "build: nowhere.sh\n", 5, "build script 'nowhere.sh' does not exist"),
    (GOOD + "version: {rpm: x}\n", 5, "is not valid under any of the given schemas"),
    (GOOD + "start_timeout: 0\n", 5, "less than or equal to the minimum"),
])
def test_bad_process_manifest_is_one_clear_error(tmp_path, text, line, message):
    path = manifest_file(tmp_path, text)
    with pytest.raises(InputError) as caught:
        stacks.load(path)
    assert str(caught.value).startswith(f"{path}:{line}: ") and message in str(caught.value)


def test_capabilities_come_from_the_manifest_and_missing_files_mean_not_built(tmp_path):
    manifest = stacks.load(manifest_file(tmp_path, GOOD + "needs: [bin/shim]\nversion: {python: scapy}\n"))
    assert manifest.capabilities == {Capability.PING, Capability.IPV6}
    described = manifest.describe()
    assert not described["built"] and described["missing"] == [str(tmp_path / "bin/shim")]
    assert described["version"].startswith("scapy 2.")
    with pytest.raises(InputError, match="not built .*run ./scripts/setup"):
        stacks.require_built(manifest)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/shim").write_text("")
    assert manifest.built


@pytest.mark.parametrize(("source", "expected"), [
    ({"debian": "iproute2"}, "iproute2 "), ({"debian": "no-such-package-here"}, "not installed"),
    ({"python": "no-such-dist"}, "not installed"), ("7.1-custom", "7.1-custom"),
    ({"command": ["echo", "mystack 1.2"]}, "mystack 1.2"),
    ({"command": ["false"]}, "not installed")])
def test_versions_are_read_from_what_is_installed(tmp_path, source, expected):
    manifest = stacks.load(manifest_file(tmp_path, GOOD + f"version: {json.dumps(source)}\n"))
    assert manifest.version().startswith(expected)


class Toy(Shim):
    """A plain-data shim: answers, refuses, fails, hangs."""

    stack, version = "toy", "1"

    def op_configure(self, **baseline):
        self.baseline = baseline

    def op_knob_get(self, name):
        if name == "slow":
            time.sleep(0.5)
        return {"value": name.upper()}

    def op_addr_add(self, interface, address):
        raise Refused("no room for another address")


@pytest.fixture
def client(tmp_path):
    path = tmp_path / "c.sock"
    shim = Toy()
    threading.Thread(target=_serve_once, args=(shim, path), daemon=True).start()
    process = SimpleNamespace(poll=lambda: None, returncode=None)
    connection = ControlClient.connect("toy", path, process, timeout=2)
    yield connection
    connection.close()


def _serve_once(shim, path):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    connection, _ = server.accept()
    try:
        with connection, connection.makefile("rwb") as stream:
            for line in stream:
                stream.write(json.dumps(shim.handle(json.loads(line))).encode() + b"\n")
                stream.flush()
    except OSError:     # the client hung up on a slow answer
        pass


def test_client_maps_answers_refusals_and_unknown_ops(client):
    assert client.call("hello")["stack"] == "toy"
    assert client.call("knob_get", name="mtu")["value"] == "MTU"
    with pytest.raises(Unsupported, match="cannot route_add: toy has no operation route_add"):
        client.call("route_add", destination="::/0")
    with pytest.raises(ControlError, match="addr_add failed: no room"):
        client.call("addr_add", interface="eth0", address="198.18.1.9/24")
    with pytest.raises(ControlError, match="invalid|unexpected keyword"):
        client.call("knob_get", colour="red")
    assert client.call("hello")["ok"]


def test_a_shim_that_does_not_answer_in_time_is_gone_for_good(client):
    started = time.monotonic()
    with pytest.raises(StackGone, match="no answer to knob_get within 0.1 s"):
        client.call("knob_get", wait=0.1, name="slow")
    assert time.monotonic() - started < 0.3
    with pytest.raises(StackGone):
        client.call("hello")


def test_connect_gives_up_at_once_when_the_stack_exits(tmp_path):
    dead = SimpleNamespace(poll=lambda: 3, returncode=3)
    with pytest.raises(StackGone, match="exited with status 3 before opening"):
        ControlClient.connect("toy", tmp_path / "none.sock", dead, timeout=5)


def test_start_command_and_baseline_message_come_from_the_topology(tmp_path):
    manifest = stacks.load(manifest_file(tmp_path, GOOD))
    dut_node = topology.load("topology-2").conformance_view().dut
    dut = ProcessDut(None, dut_node, manifest, SimpleNamespace(dir=Path("/run/testbed/tb-1")))
    assert dut.command() == [f"{tmp_path}/shim", "--control", "/run/testbed/tb-1/dut.sock",
                             "eth0", "eth1"]
    message = dut.baseline_message()
    eth0 = message["interfaces"][0]
    assert eth0["name"] == "eth0" and eth0["mtu"] == 1500
    assert eth0["addresses"] == ["198.18.1.1/24", "2001:2:0:1::1/64"]
    assert eth0["link_local"].startswith("fe80::") and eth0["link_local"].endswith("/64")
    assert dut.capabilities == {Capability.PING, Capability.IPV6}


def _result(test, stack, verdict):
    return Result(test, "ARP", f"title {test}", "RFC 826, Packet Reception", "MUST",
                  "topology-1", "host", stack, verdict, "" if verdict == "pass" else "why",
                  0.1, f"pcap/{test}.pcapng")


def test_matrix_files_compare_stacks_per_suite_and_per_test(tmp_path):
    manifests = [stacks.load("linux"), stacks.load("null")]
    results = [_result("ARP-1", "linux", "pass"), _result("ARP-2", "linux", "fail"),
               _result("ARP-1", "null", "inconclusive"), _result("ARP-2", "null", "fail")]
    matrix.write(tmp_path, manifests, results, {"null": "`testbed run` exited 3"})
    data = json.loads((tmp_path / "matrix.json").read_text())
    assert data["summary"] == {"linux": {"ARP": "1/2 (fail 1)"},
                               "null": {"ARP": "0/2 (fail 1, inconclusive 1)"}}
    assert data["tests"][0]["verdicts"]["null"]["pcap"] == "null/pcap/ARP-1.pcapng"
    assert data["stacks"][1]["incomplete"] == "`testbed run` exited 3"
    text = (tmp_path / "matrix.md").read_text()
    assert "| linux | 1/2 (fail 1) |" in text
    assert "| ARP-1 title ARP-1 | MUST, RFC 826, Packet Reception | pass | inconclusive | ≠ |" \
        in text
    assert "| ARP-2 title ARP-2 | MUST, RFC 826, Packet Reception | **FAIL** | **FAIL** |  |" \
        in text
