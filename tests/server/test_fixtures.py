"""The recorded cases in tests/fixtures/fold: the intended grouping of real event sequences."""
import json
import random
from pathlib import Path

import pytest

from pyclowder_jobs.server import group_events
from server_builders import NOW

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fold"
CASES = sorted(path.name[: -len(".events.json")] for path in FIXTURES.glob("*.events.json"))


def test_there_are_fixtures_to_check():
    assert len(CASES) >= 6


@pytest.mark.parametrize("case", CASES)
def test_fixture_groups_as_expected(case):
    events = json.loads((FIXTURES / (case + ".events.json")).read_text())
    expected = json.loads((FIXTURES / (case + ".expected.json")).read_text())

    jobs = group_events(events, now=NOW)

    assert not jobs.rejected
    assert len(jobs) == len(expected)
    for job, wanted in zip(sorted(jobs, key=lambda job: job.first_ms), expected):
        found = job.to_dict()
        for key, value in wanted.items():
            if key == "events":
                assert {event["id"] for event in found["events"]} == set(value)
            elif key == "event_count":
                assert len(found["events"]) == value, case
            else:
                assert found[key] == value, (case, key)


@pytest.mark.parametrize("case", CASES)
def test_fixture_groups_the_same_in_any_order(case):
    events = json.loads((FIXTURES / (case + ".events.json")).read_text())
    expected = [job.to_dict() for job in group_events(events, now=NOW)]

    for seed in range(20):
        shuffled = events[:]
        random.Random(seed).shuffle(shuffled)
        assert [job.to_dict() for job in group_events(shuffled, now=NOW)] == expected, (case, seed)
