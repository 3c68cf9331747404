"""The Linux baseline and command builders shared by the linux adapter and UML's launcher."""

import subprocess
import sys

from testbed import linuxcmd


def test_light_module_imports_neither_mininet_nor_scapy():
    code = ("import sys, testbed.linuxcmd, testbed.nodeshell; "
            "assert not {'mininet', 'scapy'} & set(sys.modules), sys.modules.keys()")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_baseline_sysctls_forwarding_icmp_then_extra():
    assert linuxcmd.baseline_sysctls({"ipv4"}) == {
        "net.ipv4.ip_forward": 1, "net.ipv6.conf.all.forwarding": 0,
        "net.ipv4.icmp_ratemask": 0, "net.ipv6.icmp.ratelimit": 0}
    extra = linuxcmd.baseline_sysctls((), {"net.ipv4.icmp_ratemask": 6168, "a.b": 1})
    assert extra["net.ipv4.icmp_ratemask"] == 6168 and extra["a.b"] == 1


def test_sysctl_writers():
    assert linuxcmd.sysctl_command({"a.b": 1, "c.d": "x y"}) == "sysctl -qw a.b=1 'c.d=x y'"
    assert linuxcmd.proc_writes({"a.b": 1, "c.d": 0}, stop_on_error=True) == \
        "echo 1 > /proc/sys/a/b && echo 0 > /proc/sys/c/d"
    assert linuxcmd.proc_writes(["a.b=1", "c.d=0"]) == \
        "echo 1 > /proc/sys/a/b ; echo 0 > /proc/sys/c/d"
    assert linuxcmd.is_sysctl_name("net.ipv4.conf.eth0/5.rp_filter")
    assert not linuxcmd.is_sysctl_name("a b") and not linuxcmd.is_sysctl_name("a\n")


def test_restore_batches_change_only_what_differs():
    present = {"eth0": {"mtu": 1500, "flags": ["UP"], "addr_info": [
        {"local": "198.18.1.1", "prefixlen": 24}, {"local": "10.0.0.9", "prefixlen": 8},
        {"local": "fe80::1", "prefixlen": 64, "scope": "link"}]}}
    lines = linuxcmd.restore_batches(
        [("eth0", 1500, ["198.18.1.1/24", "2001:2:0:1::1/64"]), ("eth1", 1400, [])],
        [("198.18.3.0/24", "198.18.1.2", None), ("::/0", "fe80::2", "eth0")], present)
    assert lines["ipv4"] == [
        "link set dev lo up", "addr del 10.0.0.9/8 dev eth0", "link set dev eth1 mtu 1400 up",
        "route flush proto static", "route flush proto boot", "route flush cache",
        "route add 198.18.3.0/24 via 198.18.1.2 proto static", "neigh flush all nud all"]
    assert lines["ipv6"] == [
        "addr add 2001:2:0:1::1/64 dev eth0 nodad",
        "route flush proto static", "route flush proto boot", "route flush cache",
        "route flush proto ra", "route add ::/0 via fe80::2 dev eth0 proto static",
        "neigh flush all nud all"]


def test_restore_batches_put_back_addresses_left_tentative_or_duplicate():
    present = {"eth0": {"mtu": 1500, "flags": ["UP"], "addr_info": [
        {"local": "fe80::1", "prefixlen": 64, "scope": "link", "dadfailed": True,
         "tentative": True},
        {"local": "2001:2:0:1::1", "prefixlen": 64, "scope": "global", "tentative": True},
        {"local": "2001:2:0:1::d7", "prefixlen": 64, "scope": "global", "dadfailed": True}]}}
    lines = linuxcmd.restore_batches([("eth0", 1500, ["2001:2:0:1::1/64"])], [], present)
    assert [line for line in lines["ipv6"] if line.startswith("addr")] == [
        "addr del 2001:2:0:1::1/64 dev eth0", "addr del 2001:2:0:1::d7/64 dev eth0",
        "addr del fe80::1/64 dev eth0",
        "addr add 2001:2:0:1::1/64 dev eth0 nodad", "addr add fe80::1/64 dev eth0 nodad"]


def test_reset_undoes_what_router_advertisements_set():
    assert linuxcmd.router_advertised_defaults([("eth0", 1400)]) == {
        "net.ipv6.conf.eth0.hop_limit": 64, "net.ipv6.conf.eth0.mtu": 1400,
        "net.ipv6.neigh.eth0.base_reachable_time_ms": 30000,
        "net.ipv6.neigh.eth0.retrans_time_ms": 1000}
    routes = [{"dst": "2001:2:0:1::/64", "dev": "eth0"}, {"dst": "fe80::/64", "dev": "eth0"},
              {"dst": "::1", "dev": "lo"},
              {"dst": "2001:2:0:8::/64", "dev": "eth0", "type": "unicast"}]
    lines = linuxcmd.restore_batches([("eth0", 1500, ["2001:2:0:1::1/64"])], [], {}, routes)
    assert [line for line in lines["ipv6"] if line.startswith("route del")] == [
        "route del 2001:2:0:8::/64 dev eth0 proto kernel"]
