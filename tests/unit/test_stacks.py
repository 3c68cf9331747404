"""Stack manifests, the contract's capability gate, and Linux's ping parsing (plain data)."""

import re

import pytest

from testbed import stacks, topology
from testbed.errors import InputError, Unsupported
from testbed.linuxcmd import proc_writes
from testbed.network import configure_batch, configure_script, table_rows
from testbed.stacks.contract import Capability, Dut
from testbed.stacks.iputils import parse_ping

PING_OUTPUT = """PING 198.18.1.10 (198.18.1.10) 56(84) bytes of data.
64 bytes from 198.18.1.10: icmp_seq=1 ttl=64 time=0.161 ms
From 198.18.1.1 icmp_seq=2 Destination Host Unreachable
64 bytes from 198.18.1.10: icmp_seq=3 ttl=63 time=1.5 ms

--- 198.18.1.10 ping statistics ---
3 packets transmitted, 2 received, +1 errors, 33% packet loss, time 2003ms
"""


def test_parse_ping_reads_replies_errors_and_count():
    result = parse_ping("198.18.1.10", PING_OUTPUT)
    assert result.transmitted == 3 and result.received == 2
    assert [(r.seq, r.ttl, r.size, r.rtt_ms) for r in result.replies] == [
        (1, 64, 64, 0.161), (3, 63, 64, 1.5)]
    assert result.errors == ["from 198.18.1.1: Destination Host Unreachable"]


def test_parse_ping_ipv6_and_local_errors():
    out = ("64 bytes from 2001:2:0:1::10: icmp_seq=1 ttl=64 time=0.05 ms\n"
           "ping: local error: message too long, mtu=1280\n"
           "From 2001:2:0:1::1 icmp_seq=2 Destination unreachable: Address unreachable\n"
           "2 packets transmitted, 1 received, 50% packet loss\n")
    result = parse_ping("2001:2:0:1::10", out)
    assert result.replies[0].source == "2001:2:0:1::10"
    assert result.errors == ["local error: message too long, mtu=1280",
                             "from 2001:2:0:1::1: Destination unreachable: Address unreachable"]


class Minimal(Dut):
    """A plain-data adapter that can only set links, to test the gate."""

    capabilities = frozenset({Capability.LINK})

    def __init__(self):
        super().__init__(node=None, baseline=None, manifest=stacks.load("null"), run=None)
        self.calls = []

    def _set_link(self, interface, up):
        self.calls.append((interface, up))


def test_contract_gate_calls_what_is_declared_and_refuses_the_rest():
    dut = Minimal()
    dut.set_link("eth0", False)
    assert dut.calls == [("eth0", False)]
    with pytest.raises(Unsupported, match="cannot add a route"):
        dut.add_route("default", "198.18.1.254")
    with pytest.raises(Unsupported, match="cannot ping"):
        dut.ping("2001:2:0:1::10")
    assert not dut.supports(Capability.PING) and dut.supports(Capability.LINK)


def test_ipv6_needs_its_own_capability():
    class NoSix(Minimal):
        capabilities = frozenset({Capability.ADDRESSES})

        def _add_address(self, interface, address):
            self.calls.append(str(address))
    dut = NoSix()
    dut.add_address("eth0", "198.18.1.5/24")
    with pytest.raises(Unsupported, match="for IPv6"):
        dut.add_address("eth0", "2001:2:0:1::5/64")
    assert dut.calls == ["198.18.1.5/24"]


def test_shipped_stacks_load_and_describe_themselves():
    described = {s.name: s.describe() for s in stacks.available()}
    assert described["linux"]["adapter"] == "linux" and described["linux"]["built"]
    assert stacks.load("stacks/examples/linux-no-redirects.yaml").sysctl[
        "net.ipv4.conf.all.send_redirects"] == 0


@pytest.mark.parametrize(("text", "line", "message"), [
    ("name: x\nadapter: bsd\n", 2, "'bsd' is not one of"),
    ("name: x\n", 1, "'adapter' is a required property"),
    ("name: x\nadapter: linux\nsysctl: {'a b': 1}\n", 3, "bad name"),
    ('name: x\nadapter: "null"\nsetup: [reboot]\n', 3, "a setting of the linux adapter"),
    ("name: x\nadapter: linux\nsetup: [ls\n", 3, "bad YAML"),
    ("name: x\nadapter: linux\ncolour: red\n", 3, "unknown key"),
])
def test_bad_stack_manifest_is_one_clear_error(tmp_path, text, line, message):
    path = tmp_path / "stack.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        stacks.load(str(path))
    assert str(caught.value).startswith(f"{path}:{line}: ") and message in str(caught.value)


def test_unknown_stack_name_lists_the_known_ones():
    with pytest.raises(InputError, match="known: .*linux.*null"):
        stacks.load("seastar")


def test_node_batches_configure_addresses_routes_and_silence_the_tester():
    topo = topology.load("topology-3")
    h1 = configure_batch(topo.nodes["h1"])
    assert "addr add 198.18.1.10/24 dev eth0" in h1
    assert "addr add 2001:2:0:1::10/64 dev eth0 nodad" in h1
    assert any(line.startswith("route add ::/0 via fe80::") and "dev eth0" in line
               for line in h1)
    tester = configure_batch(topo.nodes["tester"])
    assert not any("addr add" in line for line in tester)
    assert "link set dev t0 mtu 1500 promisc on up" in tester
    assert "ethtool -K t0 tx off" in configure_script(topo.nodes["tester"])
    assert "echo 1 > /proc/sys/net/ipv4/ip_forward" in configure_script(topo.nodes["rtr"])
    assert proc_writes(["net.ipv6.conf.all.disable_ipv6=1"]) == \
        "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6"


def test_table_lists_every_interface_and_identity():
    rows = table_rows(topology.load("topology-3"))
    assert ["dut", "dut", "eth0"] == rows[0][:3]
    assert any("emulates HOST-1" in row[1] and row[4] == "198.18.1.10/24" for row in rows)
    assert any(row[1] == "switch" and row[2] == "p0, p1, p2, p3" for row in rows)


def test_a_node_takes_a_stack_from_the_command_line_or_its_topology_entry():
    topo = topology.load("topology-3")
    assert stacks.for_nodes(topo) == {}
    chosen = stacks.for_nodes(topo, {"h1": "lwip", "rtr": "uml"})
    assert {name: m.name for name, m in chosen.items()} == {"h1": "lwip", "rtr": "uml"}
    assert table_rows(topo, {"h1": "lwip"})[-4][:2] == ["h1", "host (lwip)"]


@pytest.mark.parametrize("choice, message", [
    ({"h9": "lwip"}, "topology topology-3 has no node 'h9'"),
    ({"tester": "lwip"}, "tester is a tester, which runs no stack"),
    ({"sw-a": "lwip"}, "sw-a is a switch, which runs no stack"),
    ({"h1": "null"}, "stack null cannot run node h1 (a host): it cannot take addresses"),
    ({"rtr": "pytcp"}, "stack pytcp cannot run node rtr (a router): it cannot forward"),
])
def test_a_stack_that_cannot_take_a_node_says_so_before_anything_is_built(choice, message):
    with pytest.raises(InputError, match=re.escape(message)):
        stacks.for_nodes(topology.load("topology-3"), choice)
