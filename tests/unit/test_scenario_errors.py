"""A malformed scenario file is one clear error naming file and line; the shipped ones load."""

import re
from pathlib import Path

import pytest

from testbed import scenario
from testbed.errors import InputError

CORPUS = Path(__file__).parents[1] / "data" / "bad-scenarios"


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_scenario_is_one_input_error(path):
    line, text = re.match(r"# expect: (\d+): (.+)", path.read_text().splitlines()[0]).groups()
    with pytest.raises(InputError) as caught:
        scenario.load_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert text in message and "\n" not in message


def test_shipped_scenarios_load_with_references_and_requirements():
    tests = scenario.load_all()
    assert tests and len({t.id for t in tests}) == len(tests)
    for test in tests:
        assert test.rfc > 0 and test.section and test.classification
        assert test.reference.startswith(f"RFC {test.rfc}, ")


def test_selection_by_suite_and_id_and_unknown():
    tests = scenario.load_all()
    assert {t.suite for t in scenario.select(tests, ["arp"])} == {"ARP"}
    assert [t.id for t in scenario.select(tests, ["ARP-1.1"])] == ["ARP-1.1"]
    with pytest.raises(InputError, match="no suite or test NOPE"):
        scenario.select(tests, ["NOPE"])
