"""The DUT control contract, carried out by the Linux stack on a live topology-3."""

import ipaddress
import json
import sys

import pytest

from testbed import stacks, topology
from testbed.errors import ControlError, InputError, Unsupported
from testbed.network import Emulation


@pytest.fixture(scope="module")
def net():
    with Emulation(topology.load("topology-3"), stacks.load("linux")) as network:
        yield network


@pytest.fixture
def dut(net):
    yield net.dut
    net.dut.reset()


def addresses(net, ifname):
    return net["dut"].cmd(f"ip -br addr show dev {ifname}")


def test_alive(dut):
    assert dut.alive()


def test_ping_reports_replies_ttl_and_size(dut):
    result = dut.ping("198.18.1.10", count=2, size=200, interval=0.05)
    assert result.transmitted == 2 and result.received == 2
    assert {r.source for r in result.replies} == {"198.18.1.10"}
    assert all(r.ttl == 64 and r.size == 208 for r in result.replies)
    result6 = dut.ping("2001:2:0:1::10")
    assert result6.received == 1 and result6.replies[0].source == "2001:2:0:1::10"


def test_ping_with_ttl_1_draws_time_exceeded(dut):
    result = dut.ping("198.18.3.10", ttl=1, timeout=0.5)
    assert result.received == 0
    assert any("Time to live exceeded" in e for e in result.errors)


def test_ping_with_df_too_big_for_the_mtu_fails_until_reset(net, dut):
    dut.set_mtu("eth0", 1280)
    result = dut.ping("198.18.1.10", size=1400, dont_fragment=True, timeout=0.3)
    assert result.received == 0
    assert any("message too long" in e for e in result.errors), result
    dut.reset()
    assert dut.ping("198.18.1.10", size=1400, dont_fragment=True).received == 1


def test_link_down_and_mtu_then_reset_restores(net, dut):
    dut.set_link("eth1", False)
    dut.set_mtu("eth0", 1400)
    assert "DOWN" in net["dut"].cmd("ip -br link show dev eth1")
    assert "mtu 1400" in net["dut"].cmd("ip link show dev eth0")
    dut.reset()
    assert "UP" in net["dut"].cmd("ip -br link show dev eth1")
    assert "mtu 1500" in net["dut"].cmd("ip link show dev eth0")


def test_addresses_add_remove_and_reset(net, dut):
    dut.add_address("eth0", "198.18.1.99/24")
    dut.add_address("eth0", "2001:2:0:1::99/64")
    assert "198.18.1.99/24" in addresses(net, "eth0")
    assert "2001:2:0:1::99/64" in addresses(net, "eth0")
    dut.remove_address("eth0", "198.18.1.99/24")
    assert "198.18.1.99" not in addresses(net, "eth0")
    dut.remove_address("eth1", "198.18.2.1/24")
    dut.reset()
    text = addresses(net, "eth0") + addresses(net, "eth1")
    assert "2001:2:0:1::99" not in text and "198.18.2.1/24" in text
    assert "198.18.1.1/24" in text and "2001:2:0:1::1/64" in text


def test_routes_add_remove_default_and_reset(net, dut):
    dut.add_route("198.18.200.0/24", "198.18.1.2")
    dut.add_route("default", "198.18.1.2")
    dut.add_route("2001:2:0:200::/64", "2001:2:0:1::2", "eth0")
    routes = net["dut"].cmd("ip route; ip -6 route")
    assert "198.18.200.0/24 via 198.18.1.2" in routes and "default via 198.18.1.2" in routes
    assert "2001:2:0:200::/64 via 2001:2:0:1::2" in routes
    dut.remove_route("198.18.200.0/24", "198.18.1.2")
    assert "198.18.200.0" not in net["dut"].cmd("ip route")
    dut.remove_route("198.18.3.0/24")      # a baseline route: reset brings it back
    dut.reset()
    routes = net["dut"].cmd("ip route; ip -6 route")
    assert "default" not in routes and "2001:2:0:200::" not in routes
    assert "198.18.3.0/24 via 198.18.1.2" in routes


def test_neighbors_show_add_flush(dut):
    dut.ping("198.18.1.10")
    assert any(n.address == "198.18.1.10" and n.mac for n in dut.neighbors("eth0"))
    dut.add_neighbor("eth1", "198.18.2.77", "02:00:00:00:00:77")
    dut.add_neighbor("eth1", "2001:2:0:2::77", "02:00:00:00:00:77")
    entries = {n.address: n for n in dut.neighbors()}
    assert entries["198.18.2.77"].state == "PERMANENT"
    assert entries["2001:2:0:2::77"].mac == "02:00:00:00:00:77"
    dut.flush_neighbors()
    assert dut.neighbors() == [] or all(n.state in ("FAILED", "NONE") for n in dut.neighbors())


def test_forwarding_off_stops_transit_and_reset_restores(net, dut):
    dut.set_forwarding("ipv4", False)
    assert dut.get_knob("net.ipv4.ip_forward") == "0"
    assert net["h1"].run("ping -n -c1 -W 0.5 198.18.3.10")[1] != 0
    dut.reset()
    assert dut.get_knob("net.ipv4.ip_forward") == "1"
    assert net["h1"].run("ping -n -c1 -W 1 198.18.3.10")[1] == 0


def test_knob_set_get_and_reset_restores(dut):
    original = dut.get_knob("net.ipv4.conf.all.send_redirects")
    dut.set_knob("net.ipv4.conf.all.send_redirects", "0")
    assert dut.get_knob("net.ipv4.conf.all.send_redirects") == "0"
    dut.reset()
    assert dut.get_knob("net.ipv4.conf.all.send_redirects") == original
    with pytest.raises(InputError):
        dut.set_knob("net.ipv4.ip_forward; reboot", "1")
    with pytest.raises(ControlError):
        dut.get_knob("net.no.such.knob")


def test_udp_from_and_to_the_dut(net, dut):
    assert_udp_both_ways(net["h1"], dut)


def assert_udp_both_ways(h1, dut):
    """The DUT (at 198.18.1.1) sends a datagram to h1 (198.18.1.10) and receives one from it."""
    listener = h1.popen([sys.executable, "-m", "testbed.udp", "listen", "5555"], text=True)
    assert listener.stdout.readline().startswith("listening")
    dut.send_udp("198.18.1.10", 5555, b"hello", source_port=4444)
    line = listener.stdout.readline()
    listener.kill()
    listener.wait()
    assert json.loads(line) == {"source": "198.18.1.1", "port": 4444, "data": b"hello".hex()}

    inbound = dut.listen_udp(6666)
    h1.cmd(f"{sys.executable} -m testbed.udp send 198.18.1.1 6666 {b'ping'.hex()}")
    got = inbound.datagrams(timeout=1.0)
    assert [(d.source, d.payload) for d in got] == [("198.18.1.10", b"ping")]


def test_contract_validates_arguments(dut):
    with pytest.raises(ValueError):
        dut.add_address("eth0", "not-an-address")
    with pytest.raises(ValueError):
        dut.ping("198.18.1.300")
    assert ipaddress.ip_address("198.18.1.1") in [i.ipv4.ip for i in dut.baseline.interfaces.values()]


def test_null_stack_says_unsupported_never_silently_nothing(no_leftovers):
    with Emulation(topology.load("topology-1"), stacks.load("null")) as network:
        dut = network.dut
        dut.set_mtu("eth0", 1400)        # the null stack can do this much
        for call in (lambda: dut.ping("198.18.1.10"),
                     lambda: dut.add_address("eth0", "198.18.1.5/24"),
                     lambda: dut.add_route("default", "198.18.1.254"),
                     lambda: dut.flush_neighbors(),
                     lambda: dut.set_forwarding("ipv4", True),
                     lambda: dut.set_knob("x", 1),
                     lambda: dut.send_udp("198.18.1.10", 9, b"x")):
            with pytest.raises(Unsupported) as info:
                call()
            assert "null" in str(info.value)
