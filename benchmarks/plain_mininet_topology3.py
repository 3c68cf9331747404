"""Topology-3 as a plain Mininet user would write it: the baseline for bench_up.py.

Same nodes, bridge, links, MACs, addresses, routes and forwarding as
topologies/topology-3.yaml, built with Mininet's own API (LinuxBridge in a
namespace, Intf/ifconfig configuration).  Prints "ready" when built, then waits
for stdin to close and tears down.  Mininet.init() is skipped here as in
testbed, because it rewrites host sysctls.
"""

import sys

from mininet.net import Mininet
from mininet.nodelib import LinuxBridge


def main():
    """Build, report ready, wait for stdin to close, tear down."""
    Mininet.inited = True
    net = Mininet(topo=None, build=False, controller=None, ipBase="198.18.0.0/15")
    for name in ("dut", "tester", "h1", "rtr", "hc"):
        net.addHost(name, ip=None)
    net.addSwitch("s1", cls=LinuxBridge, inNamespace=True)
    links = [("tester", "t0", None, "s1", "s1-p0"), ("dut", "eth0", "198.18.1.1/24", "s1", "s1-p1"),
             ("h1", "eth0", "198.18.1.10/24", "s1", "s1-p2"),
             ("rtr", "eth0", "198.18.1.2/24", "s1", "s1-p3"),
             ("tester", "t1", None, "dut", "eth1"), ("rtr", "eth1", "198.18.3.1/24", "hc", "eth0")]
    peer_ip = {("dut", "eth1"): "198.18.2.1/24", ("hc", "eth0"): "198.18.3.10/24"}
    for a, ifa, ipa, b, ifb in links:
        net.addLink(a, b, intfName1=ifa, intfName2=ifb, params1={"ip": ipa} if ipa else {},
                    params2={"ip": peer_ip[(b, ifb)]} if (b, ifb) in peer_ip else {})
    net.build()
    net.start()
    six = {"dut": ["2001:2:0:1::1/64 dev eth0", "2001:2:0:2::1/64 dev eth1"],
           "h1": ["2001:2:0:1::10/64 dev eth0"],
           "rtr": ["2001:2:0:1::2/64 dev eth0", "2001:2:0:3::1/64 dev eth1"],
           "hc": ["2001:2:0:3::10/64 dev eth0"]}
    for node, addresses in six.items():
        for address in addresses:
            net[node].cmd(f"ip -6 addr add {address} nodad")
    for node in ("dut", "rtr"):
        net[node].cmd("sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1")
    net["dut"].cmd("ip route add 198.18.3.0/24 via 198.18.1.2")
    net["dut"].cmd("ip -6 route add 2001:2:0:3::/64 via 2001:2:0:1::2")
    net["h1"].cmd("ip route add default via 198.18.1.1; ip -6 route add default via 2001:2:0:1::1")
    net["rtr"].cmd("ip route add 198.18.2.0/24 via 198.18.1.1")
    net["hc"].cmd("ip route add default via 198.18.3.1; ip -6 route add default via 2001:2:0:3::1")
    print("ready", flush=True)
    sys.stdin.read()
    net.stop()


if __name__ == "__main__":
    main()
