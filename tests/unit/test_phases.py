"""Phases: where a test's time goes, with nested phases not counted twice."""

import time

from testbed.engine import Phases


def test_nested_phase_time_is_counted_once():
    phases = Phases()
    with phases("silence"):
        time.sleep(0.02)
        phases.leave()                 # the window ends; the control runs on inside the block
        with phases("control"):
            time.sleep(0.03)
        time.sleep(0.01)               # counted nowhere
    with phases("send"):
        pass
    seconds = phases.seconds
    assert set(seconds) == {"silence", "control", "send"}
    assert 0.02 <= seconds["silence"] < 0.03
    assert 0.03 <= seconds["control"] < 0.04


def test_a_phase_ended_by_an_exception_is_still_counted():
    phases = Phases()
    try:
        with phases("answer"):
            time.sleep(0.01)
            raise RuntimeError
    except RuntimeError:
        pass
    assert phases.rounded()["answer"] >= 0.01
