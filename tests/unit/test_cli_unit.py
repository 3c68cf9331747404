"""The CLI's exit codes and listings, without building anything."""

import json

from click.testing import CliRunner

from testbed import cli


def invoke(*args):
    return CliRunner().invoke(cli.main, list(args))


def test_not_root_is_an_environment_problem_with_a_fix(monkeypatch):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    result = invoke("up", "topology-1")
    assert result.exit_code == 3
    assert "needs root" in result.output and "sudo" in result.output


def test_missing_mininet_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setenv("PATH", "/nonexistent")
    result = invoke("up", "topology-1")
    assert result.exit_code == 3
    assert "scripts/setup" in result.output


def test_bad_usage_exits_2():
    assert invoke("up").exit_code == 2
    assert invoke("no-such-command").exit_code == 2
    assert invoke("up", "topology-99").exit_code == 2


def test_list_topologies_json_describes_each():
    items = json.loads(invoke("list", "topologies", "--json").output)
    by_name = {item["name"]: item for item in items}
    assert set(by_name) >= {"topology-1", "topology-2", "topology-3"}
    assert by_name["topology-3"]["nodes"]["dut"] == "dut"
    assert by_name["topology-3"]["networks"]["A"]["ipv4"] == "198.18.1.0/24"
    assert "HOST-1" in by_name["topology-3"]["identities"]


def test_stacks_json_lists_versions_and_capabilities():
    items = {item["name"]: item for item in json.loads(invoke("stacks", "--json").output)}
    assert items["linux"]["version"].startswith("Linux ")
    assert "ipv6" in items["linux"]["capabilities"]
    assert items["null"]["capabilities"] == ["link", "mtu"]
