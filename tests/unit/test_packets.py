"""Packets as data: references, building, matching and the reasons given (plain data)."""

import ipaddress

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
    padded = build([{"IP": {}}, {"Raw": {"load": {"size": 10, "fill": 0x61}}}], REFS, "HOST-1")
    assert bytes(padded).endswith(b"a" * 10)


HOST1, DUT0 = TOPO.identities["HOST-1"], TOPO.interface("dut:eth0")


def test_a_sent_packet_takes_the_addressing_it_leaves_out_from_sender_and_dut():
    packet = build([{"IP": {"ttl": 1}}, {"ICMP": {}}], REFS, "HOST-1")
    assert (packet[Ether].src, packet[Ether].dst) == (HOST1.mac, DUT0.mac)
    assert (packet[IP].src, packet[IP].dst, packet[IP].ttl) == ("198.18.1.10", "198.18.1.1", 1)
    routed = build([{"Ether": {"src": "02:00:00:00:00:99"}}, {"IP": {"dst": "$HOST-2.ipv4"}}],
                   REFS, "HOST-1")
    assert (routed[Ether].src, routed[Ether].dst) == ("02:00:00:00:00:99", DUT0.mac)
    assert (routed[IP].src, routed[IP].dst) == ("198.18.1.10", "198.18.2.10")


def test_link_destination_follows_the_packet_as_a_host_would():
    request = build([{"ARP": {"op": 1}}], REFS, "HOST-1")
    assert request[Ether].dst == "ff:ff:ff:ff:ff:ff"
    assert (request[ARP].hwsrc, request[ARP].psrc, request[ARP].pdst) == (
        HOST1.mac, "198.18.1.10", "198.18.1.1")
    assert build([{"ARP": {"op": 2}}], REFS, "HOST-1")[Ether].dst == DUT0.mac
    for destination, mac in (("198.18.1.255", "ff:ff:ff:ff:ff:ff"),
                             ("255.255.255.255", "ff:ff:ff:ff:ff:ff"),
                             ("224.0.0.1", "01:00:5e:00:00:01"),
                             ("239.129.2.3", "01:00:5e:01:02:03")):
        assert build([{"IP": {"dst": destination}}], REFS, "HOST-1")[Ether].dst == mac


def test_ipv6_defaults_use_the_link_local_source_towards_link_local_destinations():
    from scapy.layers.inet6 import IPv6
    to_global = build([{"IPv6": {}}], REFS, "HOST-1")
    assert (to_global[IPv6].src, to_global[IPv6].dst) == ("2001:2:0:1::10", "2001:2:0:1::1")
    to_link = build([{"IPv6": {"dst": str(DUT0.ipv6_link_local)}}], REFS, "HOST-1")
    assert to_link[IPv6].src == str(HOST1.ipv6_link_local)
    assert build([{"IPv6": {"dst": "ff02::1:ff00:1"}}], REFS, "HOST-1")[Ether].dst == \
        "33:33:ff:00:00:01"


def test_a_tester_port_gets_no_defaults_and_must_give_its_ethernet_header():
    with pytest.raises(InputError, match="needs an Ether layer with dst"):
        build([{"IP": {}}], REFS, "tester:t0")
    with pytest.raises(InputError, match="needs an Ether layer with dst"):
        build([{"Ether": {}}, {"IP": {}}], REFS)


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


def test_expectation_matches_an_address_inside_a_prefix():
    inside = [{"IP": {"src": {"in_prefix": "198.18.1.0/24"}}}]
    outside = [{"IP": {"src": {"in_prefix": "198.18.2.0/24"}}}]
    assert Expectation(inside, REFS).matches(frame())
    assert not Expectation(outside, REFS).matches(frame())
    assert not Expectation([{"ICMP": {"type": {"in_prefix": "198.18.1.0/24"}}}],
                           REFS).matches(frame())


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


def fragments_of(payload, size, more_last=False, drop=None):
    """IPv4 fragments of an ICMP datagram with *payload* octets, *size* octets of data each."""
    from scapy.layers.inet import fragment
    whole = IP(src="198.18.1.1", dst="198.18.1.10", id=7) / ICMP() / (b"x" * payload)
    pieces = [Ether(bytes(Ether() / f)) for f in fragment(whole, size)]
    return [p for n, p in enumerate(pieces) if n != drop]


def test_fragments_cover_the_datagram_exactly_or_say_what_is_wrong():
    from testbed.packets import Fragments
    pieces = Fragments(1008, mtu=1500)
    for frame in reversed(fragments_of(1000, 400)):
        assert pieces.belongs(frame)
        pieces.add(frame)
    assert pieces.complete() and pieces.problem() is None
    gap = Fragments(1008)
    for frame in fragments_of(1000, 400, drop=1):
        gap.add(frame)
    assert not gap.complete() and gap.describe() == "got 0+400+MF, 800+208"
    short = Fragments(2000)
    for frame in fragments_of(1000, 400):
        short.add(frame)
    assert not short.complete()
    big = Fragments(1008, mtu=300)
    for frame in fragments_of(1000, 400):
        big.add(frame)
    assert big.complete() and "exceeds the MTU of 300" in big.problem()
    other = Ether(bytes(Ether() / IP(src="198.18.1.1", dst="198.18.1.10", id=8, flags=1) /
                        (b"y" * 16)))
    assert not big.belongs(other)
    assert not big.belongs(Ether(bytes(Ether() / IP() / ICMP())))    # not a fragment at all


def test_references_give_solicited_node_addresses():
    assert REFS.resolve("$dut.eth0.solicited_node") == "ff02::1:ff00:1"
    low = int(DUT0.ipv6_link_local) & 0xFFFFFF
    assert int(ipaddress.ip_address(REFS.resolve("$dut.eth0.solicited_node_link_local"))) \
        == int(ipaddress.ip_address("ff02::1:ff00:0")) | low
