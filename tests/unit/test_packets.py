"""Packets as data: references, building, matching and the reasons given (plain data)."""

import pytest
from scapy.layers.inet import ICMP, IP, UDP, IPerror, UDPerror
from scapy.layers.l2 import ARP, Ether

from testbed import topology
from testbed.packets import Expectation, References, build, checksum_ok, layer_class
from testbed.errors import InputError

TOPO = topology.load("topology-2").conformance_view()
REFS = References(TOPO)


def test_references_resolve_identities_and_interfaces():
    assert REFS.resolve("$HOST-1.ipv4") == "198.18.1.10"
    assert REFS.resolve("$HOST-2.ipv6") == "2001:2:0:2::10"
    assert REFS.resolve("$dut.eth1.ipv4") == "198.18.2.1"
    assert REFS.resolve("$HOST-1.broadcast") == "198.18.1.255"
    assert REFS.resolve("$HOST-1.prefix") == "198.18.1.0/24"
    assert REFS.resolve("$HOST-1.ipv6_link_local").startswith("fe80::")
    assert REFS.resolve({"a": ["$dut.eth0.mac", 5, "plain"]}) == {
        "a": [TOPO.interface("dut:eth0").mac, 5, "plain"]}
    for bad in ("$NOBODY.ipv4", "$HOST-1.colour", "$dut.eth9.ipv4"):
        with pytest.raises(KeyError):
            REFS.resolve(bad)


def test_build_uses_scapy_layers_and_raw_byte_forms():
    packet = build([{"Ether": {"src": "$HOST-1.mac", "dst": "ff:ff:ff:ff:ff:ff"}},
                    {"ARP": {"hwtype": 6, "hwlen": 6, "hwsrc": {"mac_bytes": "$HOST-1.mac"},
                             "hwdst": {"hex": "000000000000"}, "pdst": "$dut.eth0.ipv4"}}],
                   REFS)
    raw = bytes(packet)
    assert len(raw) == 42 and raw[14:16] == b"\x00\x06"
    assert raw[22:28] == bytes.fromhex(TOPO.identities["HOST-1"].mac.replace(":", ""))
    padded = build([{"Ether": {}}, {"IP": {}}, {"Raw": {"load": {"size": 10, "fill": 0x61}}}],
                   REFS)
    assert bytes(padded).endswith(b"a" * 10)


def test_unknown_layer_is_an_input_error():
    with pytest.raises(InputError, match="unknown packet layer 'Evil'"):
        layer_class("Evil")
    assert layer_class("IPerror") is IPerror


def frame():
    return Ether(bytes(Ether(src="02:00:00:00:00:01") / IP(src="198.18.1.1", dst="198.18.1.10",
                                                          ttl=64) /
                       ICMP(type=3, code=3) / IPerror(src="198.18.1.10", dst="198.18.1.1") /
                       UDPerror(sport=4000, dport=9)))


def test_expectation_matches_values_ranges_sets_negation_absence():
    assert Expectation([{"IP": {"src": "$dut.eth0.ipv4", "ttl": {"min": 1, "max": 64}}},
                        {"ICMP": {"type": 3, "code": {"in": [2, 3]}, "checksum_ok": True}},
                        {"IPerror": {"dst": "$dut.eth0.ipv4"}}, {"UDPerror": {"dport": 9}},
                        {"ARP": "absent"}], REFS).matches(frame())
    assert Expectation([{"ICMP": {"code": {"not": 3}}}], REFS).mismatches(frame()) == [
        "ICMP.code=3 (expected {'not': 3})"]
    assert Expectation([{"ICMP": "absent"}], REFS).mismatches(frame()) == ["ICMP present"]
    assert Expectation([{"UDP": {}}], REFS).mismatches(frame()) == ["no UDP"]


def test_expectation_describes_itself_for_reasons():
    text = Expectation([{"ICMP": {"type": 5, "code": 1, "gw": "$RTR-1.ipv4"}}],
                       REFS).describe()
    assert text == "ICMP type=5 code=1 gw=198.18.1.254"


def test_checksum_ok_sees_a_wrong_checksum():
    good = frame()
    bad = good.copy()
    bad[ICMP].chksum = (good[ICMP].chksum + 1) & 0xFFFF
    bad = Ether(bytes(bad))
    assert checksum_ok(good, ICMP) and not checksum_ok(bad, ICMP)
    assert checksum_ok(good, IP)
    assert not Expectation([{"ICMP": {"checksum_ok": True}}], REFS).matches(bad)


def test_addresses_compare_by_value():
    packet = Ether(bytes(Ether() / IP(dst="198.18.1.10") / UDP()))
    assert Expectation([{"IP": {"dst": "198.018.001.010".replace("018", "18")
                                .replace("001", "1").replace("010", "10")}}], REFS).matches(packet)
    assert Expectation([{"Ether": {"dst": "FF:FF:FF:FF:FF:FF"}}], REFS).matches(
        Ether(bytes(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP())))
