"""Linux settings and the shell and iproute2 command lines that apply them.

Plain text builders, shared by the Mininet nodes (network.py), the linux
adapter (stacks/linux.py) and the UML launcher (stacks/uml/launch.py), which
runs as a process of its own: this module imports neither Mininet nor scapy,
only the standard library, so that it stays cheap to import.
"""

import ipaddress
import re
import shlex

# Sysctls set in a node's namespace before its links exist, so that new
# interfaces inherit them (``default``) from their first moment.
SILENT = ("net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
NO_DAD = ("net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
BRIDGE_NO_NETFILTER = tuple(f"net.bridge.bridge-nf-call-{t}tables=0" for t in ("arp", "ip", "ip6"))
# A new namespace copies the host's IPv4 interface settings (net.core.
# devconf_inherit_init_net=0), so a host with, say, rp_filter=2 would change
# verdicts. Nodes start instead from the kernel's own defaults (devinet.c).
_IPV4_DEFAULTS = {"rp_filter": 0, "accept_redirects": 1, "secure_redirects": 1,
                  "send_redirects": 1, "shared_media": 1, "accept_local": 0,
                  "route_localnet": 0, "log_martians": 0, "proxy_arp": 0, "arp_filter": 0,
                  "arp_ignore": 0, "arp_announce": 0, "arp_accept": 0, "arp_notify": 0,
                  "drop_gratuitous_arp": 0}
KERNEL_DEFAULTS = tuple(
    f"net.ipv4.conf.{scope}.{key}={value}" for scope in ("all", "default")
    for key, value in _IPV4_DEFAULTS.items()) + (
    "net.ipv4.conf.all.accept_source_route=0", "net.ipv4.conf.default.accept_source_route=1")


FORWARDING = {"ipv4": "net.ipv4.ip_forward", "ipv6": "net.ipv6.conf.all.forwarding"}

# The baseline of a Linux DUT for conformance runs (the linux adapter's
# namespace and UML's guest alike), kept across resets:
# ICMP error rate limiting (a burst of 6, then 1/s per destination) is off, so
# one test's errors do not silence the next test's; a rate-limit test turns
# it back on through the knob. For IPv4 it is off by type mask, not by
# icmp_ratelimit=0: that setting zeroes the per-host tokens which the
# no-route path (ip_error) also draws on, and would silence Network
# Unreachable for a second after any other ICMP error to the same host.
# Forwarding is as the topology says (baseline_sysctls); DAD is off (NO_DAD
# and "nodad" addresses); everything else is the kernel's default.
ICMP_UNLIMITED = {"net.ipv4.icmp_ratemask": 0, "net.ipv6.icmp.ratelimit": 0}

# What a Router Advertisement sets on a Linux interface besides routes (RFC 4861
# §6.3.4: CurHopLimit, LinkMTU, BaseReachableTime, RetransTimer), which a reset
# puts back: the kernel's defaults (IPV6_DEFAULT_HOPLIMIT, ND_REACHABLE_TIME,
# ND_RETRANS_TIMER) and the interface's own MTU.
_RA_HOP_LIMIT, _RA_REACHABLE_MS, _RA_RETRANS_MS = 64, 30000, 1000

_SYSCTL_NAME = re.compile(r"[A-Za-z0-9_.\-/]+")


def baseline_sysctls(forwarding, extra=None):
    """The baseline's sysctls {name: value}: forwarding on for the families in
    *forwarding* (off for the others), ICMP error rate limiting off, then *extra*."""
    return {**{FORWARDING[f]: int(f in forwarding) for f in FORWARDING},
            **ICMP_UNLIMITED, **(extra or {})}


def router_advertised_defaults(interfaces):
    """Sysctls {name: value} undoing what Router Advertisements set on *interfaces*
    [(name, mtu)]: hop limit, IPv6 MTU, base reachable time and retransmission timer."""
    settings = {}
    for name, mtu in interfaces:
        settings.update({f"net.ipv6.conf.{name}.hop_limit": _RA_HOP_LIMIT,
                         f"net.ipv6.conf.{name}.mtu": mtu,
                         f"net.ipv6.neigh.{name}.base_reachable_time_ms": _RA_REACHABLE_MS,
                         f"net.ipv6.neigh.{name}.retrans_time_ms": _RA_RETRANS_MS})
    return settings


def is_sysctl_name(name):
    """True if *name* may be given to ``sysctl`` (letters, digits, ``_.-/``)."""
    return _SYSCTL_NAME.fullmatch(str(name)) is not None


def sysctl_command(settings):
    """One ``sysctl`` process writing {name: value}; any name, dots within names included."""
    return "sysctl -qw " + " ".join(shlex.quote(f"{k}={v}") for k, v in settings.items())


def proc_writes(settings, stop_on_error=False):
    """Shell builtins writing sysctls under /proc/sys (no process spawned).

    *settings* is {name: value} or "name=value" strings.  Every write is
    tried and the status is the last one's, or with *stop_on_error* the
    first failure stops them.  Only for fixed names: names holding a dot of
    their own (eth0.5) need ``sysctl``.
    """
    if hasattr(settings, "items"):
        settings = [f"{key}={value}" for key, value in settings.items()]
    writes = []
    for setting in settings:
        key, _, value = setting.partition("=")
        writes.append(f"echo {value} > /proc/sys/{key.replace('.', '/')}")
    return (" && " if stop_on_error else " ; ").join(writes)


def ip_batch(path, lines, family=""):
    """A command running iproute2 *lines* (written to *path*) in one process."""
    path.write_text("\n".join(lines) + "\n")
    flag = {"ipv4": "-4 ", "ipv6": "-6 "}.get(family, "")
    return f"ip {flag}-force -batch {shlex.quote(str(path))}"


def tx_checksums_in_software(interfaces):
    """Commands turning TX checksum offload off, so frames carry the checksums a NIC would
    put on the wire (a veth computes none)."""
    return [f"ethtool -K {shlex.quote(intf.name)} tx off >/dev/null" for intf in interfaces]


def route_args(verb, destination, gateway=None, device=None):
    """``route`` arguments of iproute2 for *verb* ("add"/"del"); the prefix sets the family.

    Proto static, so that a reset can flush them.
    """
    args = f"route {verb} {destination}"
    if gateway is not None:
        args += f" via {gateway}"
    if device is not None:
        args += f" dev {shlex.quote(device)}"
    return args + " proto static"


def _family(text):
    return "ipv6" if ":" in str(text) else "ipv4"


def restore_batches(interfaces, routes, present, kernel_routes=()):
    """``ip -batch`` lines {"ipv4": [...], "ipv6": [...]} bringing a Linux DUT's links,
    addresses, routes and neighbour caches to the baseline.

    *interfaces* is [(name, mtu, addresses)] for the baseline's interfaces,
    the addresses as text or ipaddress interfaces; *routes* is
    [(destination, gateway, device)]; *present* is ``ip -j addr show`` by
    interface name ({} for a fresh kernel); *kernel_routes* is ``ip -6 -j
    route show proto kernel``.  Links and addresses change only where they
    differ; static, boot and RA routes, the kernel's IPv6 routes other than
    those of the baseline's prefixes (the on-link prefixes Router
    Advertisements added) and every neighbour entry are removed.  IPv6
    addresses skip DAD.
    """
    own = {(str(ipaddress.ip_interface(a).network), name) for name, _, addresses in interfaces
           for a in addresses if _family(a) == "ipv6"}
    own |= {("fe80::/64", name) for name, _, _ in interfaces}
    names = {name for name, _, _ in interfaces}
    lines = {"ipv4": ["link set dev lo up"],
             "ipv6": [f"route del {r['dst']} dev {r['dev']} proto kernel"
                      for r in kernel_routes if r.get("dev") in names and
                      r.get("type", "unicast") == "unicast" and (r["dst"], r["dev"]) not in own]}
    for name, mtu, addresses in interfaces:
        now = present.get(name, {})
        if now.get("mtu") != mtu or "UP" not in now.get("flags", []):
            lines["ipv4"].append(f"link set dev {name} mtu {mtu} up")
        # An address a test left tentative or found duplicate (DAD switched on by a
        # knob) is put back without DAD: removed, then added again if the baseline
        # has it (the link-local address always does).
        unsettled = {f"{a['local']}/{a['prefixlen']}": a.get("scope") == "link"
                     for a in now.get("addr_info", []) if a.get("tentative") or a.get("dadfailed")}
        lines["ipv6"] += [f"addr del {text} dev {name}" for text in sorted(unsettled)]
        have = {f"{a['local']}/{a['prefixlen']}" for a in now.get("addr_info", [])
                if a.get("scope") != "link"} - set(unsettled)
        want = {str(ipaddress.ip_interface(a)) for a in addresses} | {
            text for text, link in unsettled.items() if link}
        for text in sorted(have - want):
            lines[_family(text)].append(f"addr del {text} dev {name}")
        for text in sorted(want - have):
            nodad = " nodad" if _family(text) == "ipv6" else ""
            lines[_family(text)].append(f"addr add {text} dev {name}{nodad}")
    for family in lines:
        lines[family] += ["route flush proto static", "route flush proto boot",
                          "route flush cache"]
    lines["ipv6"].append("route flush proto ra")
    for destination, gateway, device in routes:
        lines[_family(destination)].append(route_args("add", destination, gateway, device))
    for family in lines:
        lines[family].append("neigh flush all nud all")
    return lines
