#!/usr/bin/env python3
"""How long does each stack keep a neighbour cache entry, and how does it revalidate it?

HOST-1 (a tester identity on topology-1) sends the DUT an IPv4 and an IPv6 echo
request every 0.5 s for the traffic phase, so the DUT keeps needing HOST-1's
link-layer address; the tester's pcap shows every ARP request and Neighbor
Solicitation the DUT sends for HOST-1, broadcast/multicast (a new resolution)
or unicast (revalidating a stale entry).  Then traffic stops, and the DUT's
cache is read every second (where its stack can show it) to see how long the
entry stays.  Written against the testbed API only.  ``--quick``: linux and
lwip, 6 s + 4 s.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

from scapy.layers.inet import ICMP, IP
from scapy.layers.inet6 import ICMPv6EchoRequest, ICMPv6ND_NS, IPv6
from scapy.layers.l2 import ARP, Ether
from scapy.utils import rdpcap

from testbed import Testbed

STACKS = ["linux", "uml", "lwip", "gvisor", "pytcp", "rump"]
HERE = Path(__file__).resolve().parent


def echo(tb, family, seq):
    """An echo request from HOST-1 to the DUT's eth0."""
    ether = Ether(src=tb.mac("HOST-1"), dst=tb.mac("dut:eth0"))
    if family == "ipv4":
        return ether / IP(src=tb.address("HOST-1"), dst=tb.address("dut:eth0")) / \
            ICMP(id=0x6e63, seq=seq)
    return ether / IPv6(src=tb.address("HOST-1", "ipv6"), dst=tb.address("dut:eth0", "ipv6")) / \
        ICMPv6EchoRequest(id=0x6e63, seq=seq)


def resolutions(pcap, dut_mac, start):
    """[(seconds from start, family, "broadcast"/"multicast"/"unicast")] the DUT sent."""
    found = []
    for packet in rdpcap(str(pcap)):
        if packet.src != dut_mac:
            continue
        when = float(packet.time) - start
        if ARP in packet and packet[ARP].op == 1:
            found.append((when, "ipv4", "broadcast" if packet.dst == "ff:ff:ff:ff:ff:ff"
                          else "unicast"))
        elif ICMPv6ND_NS in packet and packet[IPv6].src != "::":
            found.append((when, "ipv6", "multicast" if packet.dst.startswith("33:33")
                          else "unicast"))
    return found


def cache_states(tb, seconds, start):
    """[(seconds from start, family, state)] of HOST-1's entries, read every second."""
    wanted = {tb.address("HOST-1"): "ipv4", tb.address("HOST-1", "ipv6"): "ipv6"}
    states, until = [], time.monotonic() + seconds
    while time.monotonic() < until:
        when = time.time() - start
        seen = {wanted[n.address]: n.state for n in tb.dut.neighbors() if n.address in wanted}
        states += [(when, family, seen.get(family, "absent")) for family in ("ipv4", "ipv6")]
        time.sleep(1.0)
    return states


def observe(stack, traffic_s, idle_s):
    """What one stack did: resolutions during traffic, cache states while idle."""
    with Testbed("topology-1", stack=stack, live=False) as tb, \
            tempfile.TemporaryDirectory() as scratch:
        pcap = Path(scratch) / "t0.pcapng"
        start = time.time()
        with tb.capture(["tester:t0"], pcap):
            seq, until = 0, time.monotonic() + traffic_s
            while time.monotonic() < until:
                seq += 1
                for family in ("ipv4", "ipv6"):
                    tb.send("HOST-1", echo(tb, family, seq))
                time.sleep(0.5)
        frames = resolutions(pcap, tb.mac("dut:eth0"), start)
        try:
            states = cache_states(tb, idle_s, start) if idle_s else []
        except Exception as exc:      # the stack cannot show its cache
            states = [(traffic_s, "ipv4", f"cache not readable: {type(exc).__name__}")]
    return frames, states


def summary(frames, states, family):
    """One line: resolutions sent (kinds), intervals, and the last state seen."""
    mine = [(t, kind) for t, fam, kind in frames if fam == family]
    kinds = {}
    for _, kind in mine:
        kinds[kind] = kinds.get(kind, 0) + 1
    gaps = [round(b[0] - a[0], 1) for a, b in zip(mine, mine[1:])]
    last = [s for _, fam, s in states if fam == family]
    seen = " → ".join(dict.fromkeys(last)) if last else "n/a"
    return (f"{len(mine)} sent ({', '.join(f'{n} {k}' for k, n in kinds.items()) or 'none'})"
            f"; first at {mine[0][0]:.1f} s; gaps {gaps[:6]}" if mine else "none sent",
            seen)


def plot(observations, path, traffic_s):
    """A PNG: per stack and family, when the DUT sent ARP/NS (markers by kind)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [(stack, family) for stack in observations for family in ("ipv4", "ipv6")]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.5))
    marks = {"broadcast": ("o", "tab:red"), "multicast": ("o", "tab:red"),
             "unicast": ("s", "tab:blue")}
    for y, (stack, family) in enumerate(rows):
        for t, fam, kind in observations[stack][0]:
            if fam == family:
                marker, colour = marks[kind]
                ax.plot(t, y, marker, color=colour, markersize=6)
        shown = None
        for t, fam, state in observations[stack][1]:
            if fam == family and state != shown:     # the cache entry's state as it changes
                ax.annotate(state, (t, y), xytext=(0, 6), textcoords="offset points",
                            fontsize=7, color="tab:green")
                ax.plot(t, y, "|", color="tab:green")
                shown = state
    ax.axvline(traffic_s, color="grey", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(rows)), [f"{s} {f}" for s, f in rows])
    ax.set_xlabel("seconds from first echo request (dashed: traffic stops; green: the "
                  "entry's state read from the DUT)")
    ax.set_title("ARP requests / Neighbor Solicitations the DUT sent for HOST-1\n"
                 "(red: broadcast/multicast resolution, blue: unicast revalidation)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="linux and lwip, 6 s + 4 s")
    parser.add_argument("--stacks", default=",".join(STACKS))
    parser.add_argument("--traffic", type=float, default=60.0, help="seconds of echo traffic")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of cache reading")
    parser.add_argument("--plot", default=str(HERE / "neighbour-cache.png"))
    args = parser.parse_args()
    stacks = ["linux", "lwip"] if args.quick else args.stacks.split(",")
    traffic, idle = (6.0, 4.0) if args.quick else (args.traffic, args.idle)
    observations = {}
    print("| stack | family | resolutions during traffic | cache entry while idle |")
    print("|---|---|---|---|")
    for stack in stacks:
        try:
            observations[stack] = observe(stack, traffic, idle)
        except Exception as exc:
            print(f"| {stack} | | could not run: {str(exc).splitlines()[0]} | |", flush=True)
            continue
        for family in ("ipv4", "ipv6"):
            sent, seen = summary(*observations[stack], family)
            print(f"| {stack} | {family} | {sent} | {seen} |", flush=True)
    plot(observations, args.plot, traffic)
    print(f"\nplot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
