"""The contract's operations are declared once: the scenario checker, the console, the
process-stack client and stacks/PROTOCOL.md all follow the declarations (plain data)."""

import ipaddress
import re
from types import SimpleNamespace

import pytest

from testbed import console, paths, scenario, stacks
from testbed.errors import Unsupported
from testbed.stacks.contract import OPERATIONS, Capability, Dut, Neighbor, PingResult
from testbed.stacks.process import ProcessDut


def test_protocol_md_names_every_protocol_operation():
    named = set(re.findall(r"`(\w+)`", (paths.STACKS / "PROTOCOL.md").read_text()))
    assert {op.protocol for op in OPERATIONS.values()} <= named


def test_console_help_names_every_operation_with_its_usage_and_help():
    text = console.dut_help()
    for op in OPERATIONS.values():
        assert f"{op.name} {op.usage}" in text and op.help in text
    assert all(verb in text for verb in console.BUILTINS)


def test_scenario_files_may_use_exactly_the_flagged_operations():
    assert scenario.OPERATIONS == {op.name: op.signature for op in OPERATIONS.values()
                                   if op.scenario}
    assert set(scenario.OPERATIONS) == {
        "set_link", "set_mtu", "add_address", "remove_address", "add_route", "remove_route",
        "add_neighbor", "flush_neighbors", "set_forwarding", "set_knob", "ping", "send_udp",
        "advertise"}


class Recorder(Dut):
    """An adapter that can do everything and records its hooks' arguments."""

    capabilities = frozenset(Capability)

    def __init__(self):
        super().__init__(node=None, baseline=None, manifest=stacks.load("null"), run=None)
        self.calls = []

    def _perform(self, operation, arguments):
        self.calls.append((operation.name, *arguments.values()))
        if operation.name == "neighbors":
            return [Neighbor("198.18.1.2", "eth0", "02:00:00:00:00:02", "REACHABLE")]
        if operation.name == "ping":
            return PingResult("198.18.1.2", 2)
        return None


@pytest.mark.parametrize(("line", "call"), [
    ("set_link eth0 down", ("set_link", "eth0", False)),
    ("set_mtu eth1 1280", ("set_mtu", "eth1", 1280)),
    ("add_route default6 fe80::1 eth0",
     ("add_route", ipaddress.ip_network("::/0"), ipaddress.ip_address("fe80::1"), "eth0")),
    ("add_route 198.18.9.0/24 interface=eth1",
     ("add_route", ipaddress.ip_network("198.18.9.0/24"), None, "eth1")),
    ("set_forwarding ipv6 off", ("set_forwarding", "ipv6", False)),
    ("ping 198.18.1.2 count=2 dont_fragment=yes timeout=0.5",
     ("ping", ipaddress.ip_address("198.18.1.2"), 2, 56, None, True, 0.5, 0.2, None)),
    ("send_udp 198.18.1.2 9 a=b", ("send_udp", ipaddress.ip_address("198.18.1.2"), 9, b"a=b",
                                   None)),
])
def test_console_words_bind_to_the_signature_and_convert(line, call):
    dut = Recorder()
    verb, *words = line.split()
    console.run(dut, OPERATIONS[verb], words)
    assert dut.calls == [call]


def test_console_prints_results_and_refuses_bad_words():
    dut = Recorder()
    assert "02:00:00:00:00:02" in console.run(dut, OPERATIONS["neighbors"], [])
    assert console.run(dut, OPERATIONS["ping"], ["198.18.1.2"]) == "2 sent, 0 received"
    with pytest.raises(ValueError, match="not one of"):
        console.run(dut, OPERATIONS["set_link"], ["eth0", "sideways"])
    with pytest.raises(TypeError, match="missing"):
        console.run(dut, OPERATIONS["set_mtu"], ["eth0"])


def test_refusals_name_what_the_stack_cannot_do():
    dut = Recorder()
    dut.capabilities = frozenset({Capability.KNOBS})
    with pytest.raises(Unsupported, match="cannot flush neighbours"):
        dut.flush_neighbors(family="ipv6")
    dut.capabilities = frozenset({Capability.FORWARDING})
    with pytest.raises(Unsupported, match="cannot set forwarding for IPv6"):
        dut.set_forwarding("ipv6", True)
    dut.capabilities = frozenset()
    with pytest.raises(Unsupported, match="cannot set net.ipv4.ip_forward"):
        dut.set_knob("net.ipv4.ip_forward", 1)


class Wire:
    """A control client that records requests and answers every one."""

    def __init__(self):
        self.requests = []

    def call(self, op, wait=1.0, **arguments):
        self.requests.append((op, arguments))
        return {"ok": True, "neighbors": [], "transmitted": 1, "value": "7", "handle": 3}


def test_process_stacks_get_the_same_requests_on_the_wire():
    dut = ProcessDut(None, None, SimpleNamespace(capabilities=frozenset(Capability)), None)
    dut.client = Wire()
    dut.set_link("eth0", False)
    dut.add_address("eth1", "2001:2:0:2::9/64")
    dut.add_route("default", "198.18.1.254")
    dut.remove_route("198.18.3.7/24", interface="eth1")
    dut.add_neighbor("eth0", "198.18.1.9", "02:00:00:00:00:09")
    dut.flush_neighbors()
    dut.set_forwarding("ipv4", 0)
    dut.set_knob("x", 7)
    dut.send_udp("198.18.1.9", "9", "hi")
    assert dut.get_knob("x") == "7"
    assert dut.ping("198.18.1.9").transmitted == 1
    assert dut.neighbors("eth0") == []
    assert dut.client.requests == [
        ("link_set", {"interface": "eth0", "up": False}),
        ("addr_add", {"interface": "eth1", "address": "2001:2:0:2::9/64"}),
        ("route_add", {"destination": "0.0.0.0/0", "gateway": "198.18.1.254",
                       "interface": None}),
        ("route_del", {"destination": "198.18.3.0/24", "gateway": None, "interface": "eth1"}),
        ("neigh_add", {"interface": "eth0", "address": "198.18.1.9",
                       "mac": "02:00:00:00:00:09"}),
        ("neigh_flush", {"interface": None, "family": None}),
        ("forwarding_set", {"family": "ipv4", "enabled": False}),
        ("knob_set", {"name": "x", "value": "7"}),
        ("udp_send", {"destination": "198.18.1.9", "port": 9, "payload": "6869",
                      "source_port": None}),
        ("knob_get", {"name": "x"}),
        ("echo", {"destination": "198.18.1.9", "count": 1, "size": 56, "ttl": None,
                  "dont_fragment": False, "timeout": 1.0, "interval": 0.2, "source": None}),
        ("neigh_list", {"interface": "eth0"}),
    ]
