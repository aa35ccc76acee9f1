"""Rules 6 (without heartbeats), 7 and 8: states, attempts, times and the job record."""
import json
import re

from pyclowder_jobs.server import (CANCEL_REQUESTED, CANCELLED, FAILED, JOB_KEYS, PROCESSING,
                                   STARTED, SUBMITTED, SUCCEEDED, group_events)
from server_builders import (ANONYMOUS, JOB, NOW, USER, at, iso, reply, statuses, v1)

START = "StatusMessage.start: Started processing."
WORK = "StatusMessage.processing: working"
DONE = "StatusMessage.done: Done."
ISO_MS_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


# Rule 6: states

def test_a_terminal_state_wins_over_later_progress():
    (job,) = group_events([reply(START, 0), reply("StatusMessage.error: boom", 1), reply(WORK, 2)],
                          now=NOW)

    assert job.status == FAILED and len(job.events) == 3


def test_late_events_never_move_a_finished_job_back():
    (job,) = group_events([v1("SUBMITTED", 0, job=JOB), v1(START, 1, job=JOB), v1("DONE", 3, job=JOB),
                           v1(START, 4, job=JOB)], now=NOW)

    assert (job.status, job.finished, job.attempts) == (SUCCEEDED, iso(3), 1)


def test_a_retry_opens_a_new_attempt():
    events = [v1("SUBMITTED", 0, job=JOB), v1(START, 1, job=JOB),
              v1("StatusMessage.retry: (#1) ConnectionError", 2, job=JOB), v1(START, 3, job=JOB),
              v1("DONE", 6, job=JOB)]

    (job,) = group_events(events, now=NOW)

    assert (job.status, job.attempts) == (SUCCEEDED, 2)
    assert [event["attempt"] for event in job.events] == [1, 1, 1, 2, 2]


def test_the_attempt_number_in_tracking_counts_attempts():
    events = [reply(START, 0, attempt=1), reply("StatusMessage.retry: again", 1, attempt=1),
              reply(START, 5, attempt=2), reply(DONE, 6, attempt=2)]

    (job,) = group_events(events, now=NOW)

    assert job.attempts == 2 and job.run_time == 1.0


def test_a_new_attempt_after_a_failure_takes_the_job_on():
    events = [reply(START, 0, attempt=1), reply("StatusMessage.error: boom", 1, attempt=1),
              reply(START, 60, attempt=2), reply(DONE, 61, attempt=2)]

    (job,) = group_events(events, now=NOW)

    assert (job.status, job.attempts, job.finished) == (SUCCEEDED, 2, iso(61))


def test_cancelling_a_waiting_job():
    events = [v1("SUBMITTED", 0, job=JOB, user=USER), v1("Cancel Requested", 1, job=JOB),
              v1("Cancel Success", 2, job=JOB)]

    (job,) = group_events(events, now=NOW)

    assert statuses(job) == [SUBMITTED, CANCEL_REQUESTED, CANCELLED]
    assert job.status == CANCELLED and job.finished == iso(2)


def test_a_failed_cancel_leaves_the_job_running():
    events = [v1(START, 0, job=JOB), v1("Cancel Requested", 1, job=JOB), v1("Cancel Failed", 2, job=JOB)]

    (job,) = group_events(events, now=NOW)

    assert job.status == PROCESSING


def test_an_unfinished_job_without_heartbeats_keeps_its_status_and_becomes_stale():
    (job,) = group_events([reply(START, 0)], now=at(7 * 3600))

    assert (job.status, job.stale) == (STARTED, True)


def test_an_unfinished_job_is_not_stale_before_stale_after():
    from datetime import timedelta

    (job,) = group_events([reply(START, 0)], now=at(7 * 3600), stale_after=timedelta(hours=8))

    assert job.stale is False


def test_a_finished_job_is_never_stale():
    (job,) = group_events([reply(START, 0), reply(DONE, 1)], now=at(100 * 3600))

    assert job.stale is False


# Rule 7: times

def test_times_of_a_job():
    events = [v1("SUBMITTED", 0.5, job=JOB, user=USER), v1(START, 2, job=JOB), v1(WORK, 3, job=JOB),
              v1("DONE", 9, job=JOB)]

    (job,) = group_events(events, now=NOW)

    assert (job.submitted, job.started, job.finished, job.last_update) == (iso(0.5), iso(2), iso(9), iso(9))
    assert (job.elapsed, job.queue_wait, job.run_time) == (7.0, 1.5, 7.0)


def test_durations_are_seconds_as_floats():
    (job,) = group_events([reply(START, 0), reply(DONE, 1.25)], now=NOW)

    assert isinstance(job.elapsed, float) and job.elapsed == 1.25


def test_elapsed_of_an_unfinished_job_runs_until_now():
    (job,) = group_events([reply(START, 0)], now=at(30))

    assert (job.elapsed, job.finished) == (30.0, None)


def test_a_job_that_never_started_has_no_elapsed_time():
    (job,) = group_events([v1("SUBMITTED", 0, job=JOB)], now=NOW)

    assert (job.started, job.elapsed, job.queue_wait, job.run_time) == (None, None, None, None)


def test_run_time_measures_the_last_attempt():
    events = [v1(START, 0, job=JOB), v1("StatusMessage.retry: (#1) x", 10, job=JOB),
              v1(START, 20, job=JOB), v1("DONE", 25, job=JOB)]

    (job,) = group_events(events, now=NOW)

    assert (job.elapsed, job.run_time) == (25.0, 5.0)


def test_times_are_iso_utc_with_milliseconds_and_z():
    (job,) = group_events([v1("SUBMITTED", 0.412, job=JOB), v1(START, 1, job=JOB)], now=NOW)
    found = job.to_dict()

    assert ISO_MS_Z.fullmatch(found["submitted"]) and found["submitted"].endswith("00.412Z")
    assert all(ISO_MS_Z.fullmatch(event["ts"]) for event in found["events"])


# Rule 8: the record

def test_to_dict_has_exactly_the_contract_keys_and_is_json():
    (job,) = group_events([reply(START, 0, progress={"done": 1, "total": 3, "unit": "pages"})], now=NOW)
    found = job.to_dict()

    assert tuple(found) == JOB_KEYS
    assert set(found) == {"job_id", "synthetic", "ambiguous", "resource_id", "resource_name", "extractor", "status",
                          "attempts", "submitted", "started", "finished", "last_update", "elapsed",
                          "queue_wait", "run_time", "user", "workers", "progress", "message", "stale", "unclaimed",
                          "superseded_by", "events"}
    assert set(found["events"][0]) == {"id", "ts", "status", "text", "attempt"}
    assert json.loads(json.dumps(found)) == found


def test_the_user_is_the_submitter_and_never_the_anonymous_user():
    events = [v1("SUBMITTED", 0, job=JOB, user=USER), v1(START, 1, job=JOB, user=ANONYMOUS)]

    (job,) = group_events(events, now=NOW)

    assert job.user == USER


def test_a_job_submitted_anonymously_has_no_user():
    (job,) = group_events([v1("SUBMITTED", 0, job=JOB, user=ANONYMOUS)], now=NOW)

    assert job.user is None


def test_workers_are_the_sorted_worker_ids_seen():
    events = [reply(START, 0, worker="w-b", attempt=1), reply("StatusMessage.retry: x", 1, worker="w-b"),
              reply(START, 2, worker="w-a", attempt=2)]

    (job,) = group_events(events, now=NOW)

    assert job.workers == ["w-a", "w-b"]


def test_progress_is_the_latest_progress_event():
    events = [reply(START, 0),
              reply(WORK, 1, kind="progress", progress={"done": 1, "total": 3, "unit": "pages"}),
              reply(WORK, 2, kind="progress", progress={"done": 2, "total": 3, "unit": "pages"})]

    (job,) = group_events(events, now=NOW)

    assert job.progress == {"done": 2, "total": 3, "unit": "pages"}


def test_progress_is_null_without_progress_events():
    (job,) = group_events([reply(START, 0)], now=NOW)

    assert job.progress is None


def test_the_message_is_the_latest_status_text():
    (job,) = group_events([reply(START, 0), reply("StatusMessage.processing: page 7", 1)], now=NOW)

    assert job.message == "StatusMessage.processing: page 7"


def test_each_event_shows_the_input_id_or_null():
    events = [v1("SUBMITTED", 0, job=JOB, oid="5c8a6c70a1b2c3d4e5000001"),
              reply(START, 1, job=JOB)]

    (job,) = group_events(events, now=NOW)

    assert [event["id"] for event in job.events] == ["5c8a6c70a1b2c3d4e5000001", None]
    assert job.events[1] == {"id": None, "ts": iso(1), "status": STARTED, "text": START, "attempt": 1}
