"""The rump stack: NetBSD rump kernels built from pinned sources (stacks/rump).

test_process_stacks.py runs it like every process stack (ARP+ICMPv4 matrix,
crash and hang, kill -9, ping and UDP with a live host); these tests cover
what is rump's own: how its build behaves without sources, with bad ones and
when cached, and that a panic of its kernel is a crash the run survives.
"""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from testbed import stacks

from test_cli import TESTBED, run_testbed

RUMP = Path(__file__).resolve().parents[2] / "stacks" / "rump"


def _copy_of_the_build(tmp_path):
    """The build script and its sources in a folder of their own, so a test build
    never touches stacks/rump/bin (its kernel link) or the shared cache."""
    folder = tmp_path / "rump"
    folder.mkdir()
    for name in ("build", "rump-dut.c", "netbsd-abi.c"):
        shutil.copy2(RUMP / name, folder / name)
    return folder


def _build(folder, tmp_path, **env):
    environment = {k: v for k, v in os.environ.items() if k != "TESTBED_RUMP_SOURCES"}
    environment.update(TESTBED_RUMP_CACHE=str(tmp_path / "cache"), **env)
    # unshare -n: a namespace with no network at all, whatever this machine has
    return subprocess.run(["unshare", "-n", str(folder / "build")], capture_output=True,
                          text=True, timeout=120, env=environment)


def test_without_sources_or_network_the_build_says_so_in_one_line_and_exits_0(tmp_path):
    folder = _copy_of_the_build(tmp_path)
    done = _build(folder, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rump: not built (")
    assert "TESTBED_RUMP_SOURCES" in lines[0]      # how to fix it
    assert not (folder / "bin" / "rump-dut").exists()
    assert not any((tmp_path / "cache").glob("rump-*.work.*"))   # no half-made build left


def test_sources_that_fail_their_checksum_are_refused(tmp_path):
    folder = _copy_of_the_build(tmp_path)
    sources = tmp_path / "sources"
    sources.mkdir()
    for name in ("buildrump.sh-6cccd46.tar.gz", "src-netbsd-82f3a69.tar.gz"):
        (sources / name).write_bytes(b"not the pinned tarball")
    done = _build(folder, tmp_path, TESTBED_RUMP_SOURCES=str(sources))
    assert done.returncode == 1
    assert done.stderr.startswith("rump: not built (") and "sha256" in done.stderr


def test_a_second_build_is_a_no_op_that_takes_seconds():
    """scripts/setup built rump (CI gives it the pinned sources); building again finds
    the kernel in the cache and the shim up to date."""
    manifest = stacks.load("rump")
    stacks.require_built(manifest)
    started = time.monotonic()
    done = subprocess.run([str(RUMP / "build")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    assert time.monotonic() - started < 10
    assert manifest.version().startswith("NetBSD 7.99.34 rump")


def test_rump_is_listed_built_with_its_netbsd_version():
    listed = {s["name"]: s for s in json.loads(run_testbed("stacks", "--json").stdout)}
    rump = listed["rump"]
    assert rump["built"] and rump["version"].startswith("NetBSD 7.99.34")
    assert {"addresses", "routes", "neighbors", "forwarding", "ping", "udp", "knobs",
            "ipv6", "mtu", "link"} == set(rump["capabilities"])


@pytest.mark.timeout(180)
def test_a_kernel_panic_is_a_crash_and_the_next_test_runs_on_a_fresh_kernel(tmp_path,
                                                                            no_leftovers):
    """NetBSD 7.99.34 frees a datagram twice when an IP option is malformed
    (ip_dooptions -> icmp_error frees it, ip_input frees it again); its DIAGNOSTIC
    kernel panics.  The panic ends the process: ICMP-5.1 is a crash, ICMP-1.1 after
    it passes on the restarted stack."""
    done = subprocess.run([*TESTBED, "run", "ICMP-5.1", "ICMP-1.1", "--stack", "rump", "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=150)
    results = {r["id"]: r for r in
               map(json.loads, (tmp_path / "results.jsonl").read_text().splitlines())}
    assert results["ICMP-5.1"]["verdict"] == "crash", results["ICMP-5.1"]
    assert results["ICMP-1.1"]["verdict"] == "pass", results["ICMP-1.1"]
    log = "".join(p.read_text() for p in (tmp_path / "logs").glob("*.log"))
    assert 'panic: kernel diagnostic assertion "(m)->m_type != MT_FREE" failed' in log
    assert done.returncode == 0, done.stdout + done.stderr   # as stacks/rump/expected.yaml says


@pytest.mark.timeout(180)
def test_an_autoconfiguring_host_forgets_each_test_s_advertisements_and_dad(tmp_path,
                                                                             no_leftovers):
    """Without IPv6 forwarding NetBSD is set up as rc.conf's ip6mode=autohost
    (accept_rtadv 1), and reset takes away what a test's Router Advertisements
    and DAD knobs left: the default router NDP-4.1 gave it (NDP-4.4 then expects
    no reply through RTR-1), the on-link prefix of NDP-4.15 (NDP-4.17 then
    expects no solicitation into it), and the tentative addresses of SLAAC-1.12's
    link bounce with DAD on (SLAAC-1.1 then expects one probe for a new address,
    the baseline's addresses answering).  (The link MTU an MTU option gives is
    also cleared, but nothing here shows it: NetBSD keeps its echo replies to
    1280 octets whatever the link MTU, which makes NDP-4.13 inconclusive.)"""
    ids = ["NDP-4.1", "NDP-4.4", "NDP-4.15", "NDP-4.17", "SLAAC-1.12", "SLAAC-1.1"]
    subprocess.run([*TESTBED, "run", *ids, "--stack", "rump", "--out", str(tmp_path)],
                   capture_output=True, text=True, timeout=150)
    results = {r["id"]: r for r in
               map(json.loads, (tmp_path / "results.jsonl").read_text().splitlines())}
    assert {i: results[i]["verdict"] for i in ids} == dict.fromkeys(ids, "pass"), \
        {i: results[i]["reason"] for i in ids if results[i]["verdict"] != "pass"}
