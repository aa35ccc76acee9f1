"""``tree`` (the Extractions tab) and ``JobIndex`` (the live fold)."""
import json
import random

from pyclowder_jobs.server import FAILED, SUCCEEDED, JobIndex, group_events, tree
from server_builders import DATASET, EXTRACTOR, FILE, JOB, JOB2, NOW, at, heartbeat, iso, reply, v1

START = "StatusMessage.start: Started processing"


def _history():
    return [v1(START, 0), v1("DONE", 5), v1(START, 100), v1("StatusMessage.error: boom", 104),
            v1(START, 10, extractor="ncsa.image.preview"), v1("DONE", 12, extractor="ncsa.image.preview"),
            v1("SUBMITTED", 20, job=JOB, resource=DATASET), v1(START, 21, job=JOB, resource=DATASET)]


def test_tree_groups_resource_then_extractor_then_jobs():
    shown = tree(group_events(_history(), now=NOW))

    assert set(shown) == {FILE, DATASET}
    assert set(shown[FILE]) == {EXTRACTOR, "ncsa.image.preview"}
    assert [job["status"] for job in shown[FILE][EXTRACTOR]["jobs"]] == [SUCCEEDED, FAILED]


def test_tree_shows_latest_status_and_first_and_latest_times_per_extractor():
    branch = tree(group_events(_history(), now=NOW))[FILE][EXTRACTOR]

    assert (branch["status"], branch["first"], branch["latest"]) == (FAILED, iso(0), iso(104))


def test_tree_is_json():
    shown = tree(group_events(_history(), now=NOW))

    assert json.loads(json.dumps(shown)) == shown


def test_job_index_gives_the_same_jobs_as_group_events_for_events_in_order():
    events = _history()
    index = JobIndex()
    for event in events:
        index.add(event)

    assert index.jobs(now=NOW) == group_events(events, now=NOW)


def test_job_index_gives_the_same_jobs_whatever_the_arrival_order():
    events = _history() + [reply(START, 30, job=JOB2), heartbeat("w-1", 35, jobs=[JOB2])]
    expected = group_events(events, now=NOW)
    for seed in range(5):
        shuffled = events[:]
        random.Random(seed).shuffle(shuffled)
        index = JobIndex()
        index.add_many(shuffled)

        assert index.jobs(now=NOW) == expected


def test_job_index_answers_between_additions():
    index = JobIndex()
    index.add(reply(START, 0))
    first = index.jobs(now=at(1))
    index.add(reply("StatusMessage.done: Done.", 2))

    assert (first[0].status, index.jobs(now=at(3))[0].status) == ("STARTED", SUCCEEDED)
    assert len(first[0].events) == 1


def test_job_index_reports_rejections_and_ignored_log_lines():
    index = JobIndex()

    accepted = [index.add(event) for event in (reply(START, 0), "junk", reply("log", 1, kind="log"))]

    assert accepted == [True, False, False]
    assert [rejected.position for rejected in index.rejected] == [1]
    assert index.ignored == 1
    assert index.jobs(now=NOW).rejected == index.rejected


def test_job_index_ignores_duplicates():
    index = JobIndex()
    event = reply(START, 0)

    assert (index.add(event), index.add(dict(event))) == (True, False)
    assert len(index.jobs(now=NOW)[0].events) == 1
