#!/usr/bin/env python3
"""How fast does each stack forward?  Throughput and latency from h1 through the DUT to h2.

On experiments/forwarding/line.yaml (h1 — DUT — h2, real Linux hosts), iperf3
sends TCP from h1 to h2 for a few seconds, and ping measures the round trip
h1 → h2 → h1 through the DUT (both ways forwarded), per stack, then a PNG
plots both.  Written against the testbed API only.  ``--quick``: linux and
lwip, 2 s of iperf3 and 20 pings.
"""

import argparse
import json
import re
import sys
import time
from pathlib import Path

from testbed import Testbed

STACKS = ["linux", "uml", "lwip", "gvisor", "pytcp", "rump"]
HERE = Path(__file__).resolve().parent
TOPOLOGY = HERE / "line.yaml"


def throughput(tb, seconds):
    """Mbit/s that h2 received from h1 over TCP (iperf3), or None and why."""
    server = tb.node("h2").popen(["iperf3", "-s", "-1"])
    try:
        time.sleep(0.3)
        result = tb.node("h1").run(f"iperf3 -c {tb.address('h2:eth0')} -t {seconds} -J "
                                   "--connect-timeout 3000", timeout=seconds + 20)
    finally:
        server.kill()
        server.wait()
    try:
        report = json.loads(result.output[result.output.index("{"):])
    except ValueError:
        return None, result.output.strip()[-120:]
    if "error" in report:
        return None, report["error"]
    return report["end"]["sum_received"]["bits_per_second"] / 1e6, ""


def latency(tb, count):
    """(avg, max) round-trip ms of *count* pings h1 → h2, and the loss in %."""
    result = tb.node("h1").run(f"ping -n -q -c {count} -i 0.01 -W 1 {tb.address('h2:eth0')}",
                               timeout=count + 10)
    loss = re.search(r"([0-9.]+)% packet loss", result.output)
    rtt = re.search(r"= [0-9.]+/([0-9.]+)/([0-9.]+)/", result.output)
    return (float(rtt[1]) if rtt else None, float(rtt[2]) if rtt else None,
            float(loss[1]) if loss else 100.0)


def measure(stack, seconds, count):
    """{mbit, why, rtt_avg, rtt_max, loss} for one stack."""
    with Testbed(TOPOLOGY, stack=stack) as tb:
        rtt_avg, rtt_max, loss = latency(tb, count)
        mbit, why = throughput(tb, seconds) if loss < 100 else (None, "no ping got through")
    return {"mbit": mbit, "why": why, "rtt_avg": rtt_avg, "rtt_max": rtt_max, "loss": loss}


def plot(rows, path):
    """A PNG with two bar charts: throughput and average round trip per stack."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    stacks = [s for s, r in rows.items() if r.get("mbit") or r.get("rtt_avg")]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    bars = left.bar(stacks, [rows[s].get("mbit") or 0 for s in stacks], color="tab:blue")
    left.bar_label(bars, fmt="%.0f")
    left.set_ylabel("Mbit/s (iperf3 TCP, h1 → DUT → h2)")
    left.set_yscale("log")
    left.set_ylim(bottom=1)
    bars = right.bar(stacks, [rows[s].get("rtt_avg") or 0 for s in stacks], color="tab:orange")
    right.bar_label(bars, fmt="%.2f")
    right.set_ylabel("ms (ping round trip, average)")
    fig.suptitle("Forwarding through each stack")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="linux and lwip, short runs")
    parser.add_argument("--stacks", default=",".join(STACKS))
    parser.add_argument("--seconds", type=int, default=5, help="iperf3 run length")
    parser.add_argument("--pings", type=int, default=100)
    parser.add_argument("--plot", default=str(HERE / "forwarding.png"))
    args = parser.parse_args()
    stacks = ["linux", "lwip"] if args.quick else args.stacks.split(",")
    seconds, count = (2, 20) if args.quick else (args.seconds, args.pings)
    rows = {}
    print("| stack | throughput Mbit/s | RTT avg ms | RTT max ms | ping loss |")
    print("|---|---|---|---|---|")
    for stack in stacks:
        try:
            row = rows[stack] = measure(stack, seconds, count)
        except Exception as exc:      # a stack that cannot take the topology, or is not built
            rows[stack] = {}
            print(f"| {stack} | could not run: {str(exc).splitlines()[0]} | | | |", flush=True)
            continue
        mbit = f"{row['mbit']:.1f}" if row["mbit"] else f"— ({row['why']})"
        avg = f"{row['rtt_avg']:.3f}" if row["rtt_avg"] is not None else "—"
        top = f"{row['rtt_max']:.3f}" if row["rtt_max"] is not None else "—"
        print(f"| {stack} | {mbit} | {avg} | {top} | {row['loss']:.0f}% |", flush=True)
    plot(rows, args.plot)
    print(f"\nplot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
