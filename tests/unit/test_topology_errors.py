"""Every fault in a topology file is one InputError: ``PATH:LINE: message``.

The corpus in ``tests/data/bad-topologies`` holds one small file per fault.
Line 1 of each is ``# expect: LINE: SUBSTRING``: loading the file must raise
``InputError`` (never another exception), whose text starts with
``PATH:LINE: `` and contains SUBSTRING.
"""

import json
import re
from pathlib import Path

import jsonschema
import pytest

from testbed import topology, yamlsource
from testbed.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "bad-topologies"
SHIPPED = sorted((ROOT / "topologies").glob("*.yaml"))
SCHEMA = ROOT / "testbed" / "schema" / "topology.schema.json"
HEADER = re.compile(r"# expect: (\d+): (.+)")

# Faults whose message is right but whose line is not, yet.  strict: once fixed,
# the XPASS fails the run so that the entry is removed here.


def _header(path):
    """(line, substring) from the file's first line, or None if it has no header."""
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace")
    match = HEADER.fullmatch(first.rstrip("\r"))
    return (int(match[1]), match[2]) if match else None


def _cases():
    return list(_each_case())


def _each_case():
    for path in sorted(CORPUS.glob("*.yaml")):
        line, substring = _header(path) or (None, None)
        yield pytest.param(path, line, substring, id=path.stem)


def test_corpus_is_there_and_every_file_has_a_header():
    files = sorted(CORPUS.glob("*.yaml"))
    assert len(files) >= 35
    missing = [p.name for p in files if _header(p) is None]
    assert not missing, f"no '# expect: LINE: SUBSTRING' first line in {missing}"


@pytest.mark.parametrize(("path", "line", "substring"), _cases())
def test_bad_topology_is_one_input_error(path, line, substring):
    assert line is not None, f"{path.name}: no '# expect: LINE: SUBSTRING' header"
    with pytest.raises(InputError) as caught:
        topology.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert substring in message
    assert "\n" not in message, "the error must be one line"
    assert caught.value.line == line


def test_unknown_topology_name_is_an_input_error():
    with pytest.raises(InputError, match=r"unknown topology 'no-such-topology' \(known: .*topology-1"):
        topology.load("no-such-topology")


def test_missing_topology_file_is_an_input_error(tmp_path):
    missing = tmp_path / "absent.yaml"
    with pytest.raises(InputError, match="no such topology file"):
        topology.load(missing)


def test_shipped_topologies_are_found():
    assert [p.stem for p in SHIPPED] == ["topology-1", "topology-2", "topology-3"]
    assert sorted(topology.available()) == [p.stem for p in SHIPPED]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_topology_loads(path):
    loaded = topology.load(path)
    assert loaded.name == path.stem
    assert loaded.dut.role == "dut"
    assert loaded.links
    # by name as well as by path
    assert topology.load(path.stem).name == path.stem


def test_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA.read_text()))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_topology_matches_schema(path):
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(yamlsource.load(path))]
    assert not errors
