"""``normalise`` hands out named records: what a status event and a heartbeat say, field by field."""
import gc

import pytest

from pyclowder_jobs.protocol.identity import event_key
from pyclowder_jobs.server import (PROCESSING, STATES, LOST, SUBMITTED, Heartbeat, JobIndex, StatusEvent,
                                   group_events, normalise)
from pyclowder_jobs.server.fold import PRECEDENCE
from server_builders import ANONYMOUS, EXTRACTOR, FILE, JOB, NOW, USER, at, heartbeat, new_oid, reply, v1

START = "StatusMessage.start: Started processing"


def test_a_tracked_reply_is_a_status_event_with_what_its_tracking_says():
    event = reply("StatusMessage.processing: page 2", 1.5, seq=7, worker="w-3", attempt=2, redelivered=True,
                  progress={"done": 2, "total": 3, "unit": "pages"}, resource_name="report.csv")

    record = normalise(event)

    assert type(record) is StatusEvent
    assert (record.ts, record.job_id, record.resource, record.extractor) == (
        int(at(1.5).timestamp() * 1000), JOB, FILE, EXTRACTOR)
    assert (record.state, record.text, record.seq, record.worker, record.attempt, record.redelivered) == (
        PROCESSING, "StatusMessage.processing: page 2", 7, "w-3", 2, True)
    assert (record.progress, record.resource_name, record.user) == ((2, 3, "pages"), "report.csv", None)


def test_a_v1_submitted_names_its_user_and_sorts_first_in_its_second():
    record = normalise(v1("SUBMITTED", 0.412, job=JOB, user=USER))

    assert (record.state, record.user, record.rank) == (SUBMITTED, USER, 0)
    assert record.sort_ts == record.ts - 412


def test_the_anonymous_user_is_never_a_submitter():
    assert normalise(v1("SUBMITTED", 0, job=JOB, user=ANONYMOUS)).user is None


def test_a_stored_document_is_known_by_its_id_and_a_tracked_reply_by_its_worker_and_seq():
    oid = new_oid(0)
    document = normalise(v1(START, 0, job=JOB, oid=oid))
    tracked = normalise(reply(START, 0, worker="w-2", seq=9))

    assert document.key() == oid
    assert tracked.key() == event_key("", 9, tracked.ts, "w-2")


def test_the_sort_key_comes_first():
    assert StatusEvent._fields[:6] == ("sort_ts", "rank", "ts", "id_key", "seq", "content")


def test_a_heartbeat_is_a_heartbeat_record():
    beat = normalise(heartbeat("w-1", 5, jobs=[JOB], interval=10))

    assert beat == Heartbeat("w-1", int(at(5).timestamp() * 1000), 10000, frozenset([JOB]), beat.seq,
                             frozenset([EXTRACTOR]))


def test_a_log_line_reads_as_none_and_a_bad_event_as_its_reason():
    assert normalise(reply(START, 0, kind="log")) is None
    assert normalise({"file_id": FILE, "extractor_id": EXTRACTOR, "status": START}) == (
        "no readable time in start (or tracking.ts)")


def test_precedence_has_a_rule_for_every_state_a_status_text_can_mean():
    assert set(PRECEDENCE) == set(STATES) - {LOST}


# The resource name

def test_a_job_keeps_the_latest_resource_name_its_events_gave():
    events = [reply(START, 0, seq=1, resource_name="draft.csv"),
              reply("StatusMessage.processing: half", 1, seq=2),
              reply("StatusMessage.processing: more", 2, seq=3, resource_name="report.csv"),
              reply("StatusMessage.done: Done", 3, seq=4)]

    (job,) = group_events(events, now=NOW)

    assert job.resource_name == "report.csv"


def test_an_empty_or_non_text_resource_name_is_no_name():
    events = [reply(START, 0, seq=1, resource_name="report.csv"),
              reply("StatusMessage.processing: half", 1, seq=2, resource_name=""),
              reply("StatusMessage.processing: more", 2, seq=3, resource_name=42)]

    (job,) = group_events(events, now=NOW)

    assert job.resource_name == "report.csv"


def test_a_job_without_a_resource_name_has_none():
    (job,) = group_events([v1(START, 0, job=JOB), reply("StatusMessage.done: Done", 1)], now=NOW)

    assert job.resource_name is None


def test_the_resource_name_follows_the_resource_id_in_the_record():
    (job,) = group_events([reply(START, 0, resource_name="report.csv")], now=NOW)
    found = job.to_dict()

    assert list(found)[list(found).index("resource_id") + 1] == "resource_name"
    assert found["resource_name"] == "report.csv"


# The garbage collector is the application's

@pytest.fixture
def collector_settings():
    enabled, threshold = gc.isenabled(), gc.get_threshold()
    yield
    gc.set_threshold(*threshold)
    if enabled:
        gc.enable()
    else:
        gc.disable()


def _many_events():
    return [reply(START, seconds, job="job-%d" % seconds, seq=seconds) for seconds in range(3000)]


@pytest.mark.parametrize("enabled", [True, False])
def test_group_events_leaves_the_garbage_collector_as_it_was(collector_settings, enabled):
    gc.enable() if enabled else gc.disable()
    gc.set_threshold(500, 7, 9)

    group_events(_many_events(), now=NOW)

    assert (gc.isenabled(), gc.get_threshold()) == (enabled, (500, 7, 9))


def test_the_garbage_collector_runs_while_group_events_folds(collector_settings):
    collections = []

    def count(phase, info):
        if phase == "start":
            collections.append(info["generation"])

    gc.enable()
    events = _many_events()
    gc.callbacks.append(count)
    try:
        group_events(events, now=NOW)
    finally:
        gc.callbacks.remove(count)

    assert collections


def test_job_index_leaves_the_garbage_collector_as_it_was(collector_settings):
    gc.enable()
    index = JobIndex()
    index.add_many(_many_events()[::-1])  # out of order: jobs() folds everything again

    index.jobs(now=at(4000))

    assert gc.isenabled()
