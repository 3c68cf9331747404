"""The conformance suites: one table that the scenario loader, its schema and the engine read.

Adding a suite is a folder under ``scenarios/`` and one entry here.  This
module imports nothing heavy, so reports can be read and written on a machine
without Mininet or scapy.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Suite:
    """One suite: its name, the folder holding its files, and how its tests run."""

    name: str            # as results and reports show it ("IPv4-GW")
    folder: str          # scenarios/<folder>/*.yaml
    family: str          # "ipv4" or "ipv6": the engine verifies the DUT by ARP or by NS
    introduce: bool      # senders ask the DUT for its address before a test (Test.introduce)
    description: str


# In the order reports list them (the netdev 0x13 talk's table order).
SUITES = (
    Suite("ARP", "arp", "ipv4", False,
          "Address Resolution Protocol (RFC 826, RFC 1122 §2.3.2, RFC 5227); tests the "
          "cache itself, so senders do not introduce themselves"),
    Suite("IPv4", "ipv4", "ipv4", True,
          "IPv4 itself: header checks, addressing, options, identification, reassembly and "
          "fragmentation (RFC 791, RFC 1122 §3.2.1 and §3.3, RFC 815, RFC 6864)"),
    Suite("ICMPv4", "icmpv4", "ipv4", True,
          "ICMP for IPv4 (RFC 792, RFC 1122 §3.2.2)"),
    Suite("IPv4-GW", "ipv4-gw", "ipv4", True,
          "IPv4 gateway forwarding and ICMP Redirect (RFC 1812)"),
    Suite("IPv6", "ipv6", "ipv6", True,
          "IPv6 itself: header fields, extension headers and options, fragmentation and "
          "reassembly, the router role (RFC 8200 and its updates)"),
    Suite("ICMPv6", "icmpv6", "ipv6", True,
          "ICMP for IPv6: echo, the error messages and the rules for sending them (RFC 4443)"),
    Suite("IPv6-NDP", "ipv6-ndp", "ipv6", False,
          "Neighbor Discovery: message validation, address resolution, the neighbour "
          "cache and unreachability detection, router and prefix discovery, Redirect "
          "(RFC 4861; RFC 6980, RFC 4191 where cited); tests the cache itself, so senders "
          "do not introduce themselves"),
    Suite("SLAAC", "slaac", "ipv6", False,
          "IPv6 stateless address autoconfiguration: duplicate address detection, "
          "addresses from Router Advertisement prefixes and their lifetimes (RFC 4862)"),
    Suite("PMTU", "pmtu", "ipv6", True,
          "Path MTU discovery, host side: RFC 8201 for IPv6 and, in files that say "
          "family: ipv4, RFC 1191 for IPv4"),
)
BY_NAME = {suite.name: suite for suite in SUITES}
BY_FOLDER = {suite.folder: suite for suite in SUITES}


def names():
    """The suite names, in report order."""
    return [suite.name for suite in SUITES]


def get(name):
    """The Suite called *name* (KeyError if none)."""
    return BY_NAME[name]


def order(name):
    """Sort key placing *name* as the table does (unknown suites last)."""
    return next((n for n, suite in enumerate(SUITES) if suite.name == name), len(SUITES))
