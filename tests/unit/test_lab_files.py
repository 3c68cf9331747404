"""Lab files (labs/<name>/lab.yaml): the shipped labs load, and every fault in a lab
file is one InputError ``PATH:LINE: message`` naming the problem."""

import json
import re
from pathlib import Path

import pytest

from testbed import labs, schemas
from testbed.errors import InputError

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
name: demo
title: A demo lab
topology: topology-3
stack: linux
tasks:
  - id: one
    title: h1 knows the DUT
    check:
      neighbor: {node: h1, address: "dut:eth0", state: REACHABLE}
    hint: ping it
  - id: two
    title: two checks
    check:
      - route: {node: h1, destination: "hc:eth0:ipv6", via: "rtr:eth0:link-local"}
      - command: {node: dut, run: "true", expect_regex: "^$"}
    hint: do it
solution:
  - {node: h1, run: "ping -c 1 198.18.1.1"}
"""


def _write(tmp_path, text, folder="demo"):
    path = tmp_path / folder / "lab.yaml"
    path.parent.mkdir()
    path.write_text(text)
    return path


def test_shipped_labs_load_with_guides_and_teacher_notes():
    loaded = labs.available()
    assert [lab.name for lab in loaded] == sorted(p.parent.name for p in
                                                  (ROOT / "labs").glob("*/lab.yaml"))
    assert len(loaded) >= 5
    for lab in loaded:
        assert lab.guide.is_file() and (lab.folder / "teacher.md").is_file(), lab.name
        guide = lab.guide.read_text()
        assert f"testbed lab start {lab.name}" in guide and f"testbed lab check {lab.name}" in guide
    assert any(lab.stack.endswith(".yaml") for lab in loaded), "no lab with a faulty DUT"


def test_a_good_file_resolves_addresses_through_the_topology(tmp_path):
    lab = labs.load(_write(tmp_path, GOOD))
    first, second = lab.tasks
    assert first.checks[0].args == {"node": "h1", "address": first.checks[0].args["address"],
                                    "state": ["REACHABLE"]}
    assert str(first.checks[0].args["address"]) == "198.18.1.1"
    route = second.checks[0].args
    assert str(route["destination"]) == "2001:2:0:3::10"
    assert str(route["via"]).startswith("fe80::")
    assert lab.solution[0].node == "h1"
    assert json.dumps(lab.describe())


def test_the_vocabulary_is_the_schemas_and_is_documented():
    kinds = set(schemas.schema("lab")["$defs"]["check"]["properties"])
    assert kinds == set(labs._CHECKS) == {"neighbor", "route", "command"}
    for kind in kinds:
        assert f"``{kind}: {{" in labs.__doc__


BAD = [
    ("not-a-mapping", lambda t: "- just a list\n", 1, "must be a mapping"),
    ("unknown-key", lambda t: t.replace("stack: linux", "stack: linux\ncolour: red"), 5,
     "unknown key"),
    ("missing-hint", lambda t: t.replace("    hint: ping it\n", ""), 6, "'hint' is a required"),
    ("unknown-kind", lambda t: t.replace("neighbor: {node: h1, address: \"dut:eth0\", "
                                         "state: REACHABLE}", "ping: {node: h1}"), 9, "ping"),
    ("bad-state", lambda t: t.replace("state: REACHABLE", "state: UP"), 9, "'UP' is not one of"),
    ("unknown-node", lambda t: t.replace("{node: h1, address", "{node: h9, address"), 9,
     "no node 'h9'"),
    ("switch-node", lambda t: t.replace("{node: h1, run", "{node: sw-a, run"), 18,
     "no node 'sw-a'"),
    ("bad-address", lambda t: t.replace('"dut:eth0"', '"dut:eth7"'), 9,
     "'dut:eth7' is neither an IP address"),
    ("no-ipv6", lambda t: t.replace('"hc:eth0:ipv6"', '"hc:eth0:ipx"'), 14, "neither"),
    ("duplicate-id", lambda t: t.replace("id: two", "id: one"), 11, "duplicate task id 'one'"),
    ("bad-regex", lambda t: t.replace('expect_regex: "^$"', 'expect_regex: "(["'), 15,
     "expect_regex:"),
    ("unknown-topology", lambda t: t.replace("topology-3", "topology-9"), 3,
     "unknown topology 'topology-9'"),
    ("missing-stack-file", lambda t: t.replace("stack: linux", "stack: faulty.yaml"), 4,
     "stack:"),
    ("name-not-folder", lambda t: t.replace("name: demo", "name: other"), 1,
     "differs from the lab's folder"),
    ("duplicate-key", lambda t: t.replace("title: A demo lab", "title: A\ntitle: B"), 3,
     "duplicate key 'title'"),
]


@pytest.mark.parametrize(("case", "edit", "line", "substring"), BAD, ids=[b[0] for b in BAD])
def test_bad_lab_is_one_input_error(tmp_path, case, edit, line, substring):
    path = _write(tmp_path, edit(GOOD))
    with pytest.raises(InputError) as caught:
        labs.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert substring in message, message
    assert "\n" not in message


def test_unknown_lab_name_lists_the_known_ones():
    with pytest.raises(InputError, match=re.escape("unknown lab 'nosuch' (known: arp")):
        labs.load("nosuch")
