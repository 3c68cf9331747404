#!/usr/bin/env python3
"""How does each stack handle ICMP Redirects (IPv4) and ND Redirects (IPv6)?

As a router: HOST-1 sends the DUT a datagram for network C, whose route is via
RTR on the same link; does the DUT forward it to RTR and send HOST-1 a Redirect?
As a host (forwarding off): RTR, the DUT's first hop for network C, redirects
the DUT to HOST-1; does the DUT's next datagram to C go to HOST-1's MAC?
Written against the testbed API only.  ``--quick``: linux and gvisor only.
"""

import argparse
import sys

from scapy.layers.inet import ICMP, IP, IPerror, ICMPerror
from scapy.layers.inet6 import (ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_Redirect,
                                ICMPv6NDOptDstLLAddr, ICMPv6NDOptRedirectedHdr, IPv6)
from scapy.layers.l2 import Ether

from testbed import Testbed

STACKS = ["linux", "uml", "lwip", "gvisor", "pytcp", "rump"]
HC4, HC6 = "198.18.3.10", "2001:2:0:3::10"     # a host on network C, behind RTR


def from_identity(tb, name, family, **fields):
    """An Ether/IP(v6) header from identity *name* to the DUT's eth0."""
    ether = Ether(src=tb.mac(name), dst=tb.mac("dut:eth0"))
    if family == "ipv4":
        return ether / IP(src=fields.get("src", tb.address(name)),
                          dst=fields.get("dst", tb.address("dut:eth0")))
    return ether / IPv6(src=fields.get("src", tb.address(name, "ipv6")),
                        dst=fields.get("dst", tb.address("dut:eth0", "ipv6")),
                        hlim=fields.get("hlim", 64))


def is_redirect(family):
    """A match for an ICMP Redirect (IPv4) or an ND Redirect (IPv6)."""
    if family == "ipv4":
        return lambda p: ICMP in p and p[ICMP].type == 5
    return lambda p: ICMPv6ND_Redirect in p


def router_sends_redirect(tb, family):
    """Does the DUT, forwarding, forward HOST-1's datagram to RTR and redirect HOST-1?"""
    if family == "ipv4":
        probe = from_identity(tb, "HOST-1", family, dst=HC4) / ICMP(id=0x5151, seq=1)
        forwarded = lambda p: ICMP in p and p[ICMP].id == 0x5151 and p.dst == tb.mac("RTR")
    else:
        probe = from_identity(tb, "HOST-1", family, dst=HC6) / ICMPv6EchoRequest(id=0x5151)
        forwarded = lambda p: ICMPv6EchoRequest in p and p[ICMPv6EchoRequest].id == 0x5151 \
            and p.dst == tb.mac("RTR")
    tb.send("HOST-1", probe)
    redirect = tb.expect("HOST-1", is_redirect(family), within=1.0)
    was_forwarded = any(forwarded(p) for p in tb.received("RTR"))
    if redirect is None:
        return "no redirect" + ("" if was_forwarded else ", not forwarded")
    if family == "ipv4":
        return f"sent (code {redirect[ICMP].code}, gw {redirect[ICMP].gw})"
    return f"sent (target {redirect[ICMPv6ND_Redirect].tgt})"


def echo_from_c(tb, family, seq):
    """RTR brings in an echo request from network C; the DUT's reply's first hop MAC."""
    if family == "ipv4":
        tb.send("RTR", from_identity(tb, "RTR", family, src=HC4) / ICMP(id=0x5252, seq=seq))
        reply = tb.expect("tester:t0", lambda p: ICMP in p and p[ICMP].type == 0
                          and p[ICMP].id == 0x5252 and p[ICMP].seq == seq, 1.0)
    else:
        tb.send("RTR", from_identity(tb, "RTR", family, src=HC6) /
                ICMPv6EchoRequest(id=0x5252, seq=seq))
        reply = tb.expect("tester:t0", lambda p: ICMPv6EchoReply in p
                          and p[ICMPv6EchoReply].seq == seq, 1.0)
    return None if reply is None else reply.dst


def host_acts_on_redirect(tb, family):
    """Does the DUT, a host, send its next datagram to C through the gateway RTR names?"""
    try:
        tb.dut.set_forwarding(family, False)
    except Exception as exc:    # the stack cannot be a host: say so
        return f"n/a ({type(exc).__name__})"
    tb.send("HOST-1", from_identity(tb, "HOST-1", family) /
            (ICMP(id=0x5353) if family == "ipv4" else ICMPv6EchoRequest(id=0x5353)))
    tb.expect("HOST-1", None, 0.5)          # the DUT now holds HOST-1's link-layer address
    before = echo_from_c(tb, family, 1)
    if before != tb.mac("RTR"):
        return "no control (reply to C did not go via RTR)"
    if family == "ipv4":
        redirect = (from_identity(tb, "RTR", family) / ICMP(type=5, code=1, gw=tb.address("HOST-1"))
                    / IPerror(src=tb.address("dut:eth0"), dst=HC4, proto=1)
                    / ICMPerror(type=0, id=0x5252, seq=1))
    else:
        rtr_ll = link_local(tb.mac("RTR"))
        redirect = (Ether(src=tb.mac("RTR"), dst=tb.mac("dut:eth0"))
                    / IPv6(src=rtr_ll, dst=tb.address("dut:eth0", "ipv6"), hlim=255)
                    / ICMPv6ND_Redirect(tgt=link_local(tb.mac("HOST-1")), dst=HC6)
                    / ICMPv6NDOptDstLLAddr(lladdr=tb.mac("HOST-1"))
                    / ICMPv6NDOptRedirectedHdr(pkt=bytes(
                        IPv6(src=tb.address("dut:eth0", "ipv6"), dst=HC6) /
                        ICMPv6EchoReply(id=0x5252, seq=1))[:40 + 8]))
    tb.send("RTR", redirect)
    tb.expect("RTR", None, 0.1)
    after = echo_from_c(tb, family, 2)
    if after == tb.mac("HOST-1"):
        return "acts on it"
    return "ignores it" if after == tb.mac("RTR") else "no reply after it"


def link_local(mac):
    """The EUI-64 link-local address of *mac*."""
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 2
    eui = octets[:3] + [0xff, 0xfe] + octets[3:]
    return "fe80::" + ":".join(f"{eui[i]:02x}{eui[i + 1]:02x}" for i in range(0, 8, 2))


def survey(stack):
    """{column: finding} for one stack."""
    row = {}
    try:
        with Testbed("topology-3", stack=stack, live=False) as tb:
            for family in ("ipv4", "ipv6"):
                row[f"router {family}"] = router_sends_redirect(tb, family)
            for family in ("ipv4", "ipv6"):
                row[f"host {family}"] = host_acts_on_redirect(tb, family)
    except Exception as exc:       # a stack that is not built, or fails to start
        row = {"error": str(exc).splitlines()[0]}
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="linux and gvisor only")
    parser.add_argument("--stacks", default=",".join(STACKS))
    args = parser.parse_args()
    stacks = ["linux", "gvisor"] if args.quick else args.stacks.split(",")
    columns = ["router ipv4", "router ipv6", "host ipv4", "host ipv6"]
    print("| stack | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    notes = []
    for stack in stacks:
        row = survey(stack)
        if "error" in row:
            notes.append(f"{stack}: {row['error']}")
        cells = [row.get(c, "could not start (below)") for c in columns]
        print(f"| {stack} | " + " | ".join(cells) + " |", flush=True)
    for note in notes:
        print(f"\n{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
