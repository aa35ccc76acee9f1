"""Rule 6 with heartbeats: when an unfinished job is LOST, and what still resolves it."""
from pyclowder_jobs.server import LOST, STARTED, SUCCEEDED, group_events
from server_builders import JOB, JOB2, at, heartbeat, reply

START = "StatusMessage.start: Started processing."
WORK = "StatusMessage.processing: working"
DONE = "StatusMessage.done: Done."


def test_a_job_is_lost_when_its_worker_stopped_beating_for_three_intervals():
    beats = [heartbeat("w-1", 0, jobs=[JOB]), heartbeat("w-1", 10, jobs=[JOB])]

    (job,) = group_events([reply(START, 1, worker="w-1")], heartbeats=beats, now=at(41))

    assert (job.status, job.stale, job.superseded_by) == (LOST, False, None)


def test_a_job_is_not_lost_within_three_intervals_of_the_last_heartbeat():
    beats = [heartbeat("w-1", 10, jobs=[JOB])]

    (job,) = group_events([reply(START, 1, worker="w-1")], heartbeats=beats, now=at(39))

    assert job.status == STARTED


def test_a_job_is_lost_when_its_living_worker_no_longer_lists_it():
    beats = [heartbeat("w-1", 5, jobs=[JOB]), heartbeat("w-1", 15, jobs=[]), heartbeat("w-1", 25, jobs=[])]

    (job,) = group_events([reply(START, 1, worker="w-1")], heartbeats=beats, now=at(26))

    assert job.status == LOST


def test_a_heartbeat_less_than_an_interval_after_the_last_event_may_omit_the_job():
    beats = [heartbeat("w-1", 8, jobs=[])]

    (job,) = group_events([reply(START, 1, worker="w-1")], heartbeats=beats, now=at(9))

    assert job.status == STARTED


def test_a_job_its_worker_still_lists_is_not_lost_however_long_it_runs():
    beats = [heartbeat("w-1", seconds, jobs=[JOB]) for seconds in range(0, 36000, 10)]

    (job,) = group_events([reply(START, 1, worker="w-1")], heartbeats=beats, now=at(36000))

    assert (job.status, job.stale) == (STARTED, False)


def test_a_redelivered_run_supersedes_the_earlier_unfinished_job():
    events = [reply(START, 0, job=JOB, worker="w-1"), reply(WORK, 1, job=JOB, worker="w-1"),
              reply(START, 60, job=JOB2, worker="w-2", redelivered=True), reply(DONE, 70, job=JOB2, worker="w-2")]

    jobs = {job.job_id: job for job in group_events(events, now=at(80))}

    assert (jobs[JOB].status, jobs[JOB].superseded_by) == (LOST, JOB2)
    assert (jobs[JOB2].status, jobs[JOB2].superseded_by) == (SUCCEEDED, None)


def test_a_redelivered_run_does_not_touch_a_finished_job():
    events = [reply(START, 0, job=JOB), reply(DONE, 1, job=JOB),
              reply(START, 60, job=JOB2, redelivered=True)]

    jobs = {job.job_id: job for job in group_events(events, now=at(80))}

    assert (jobs[JOB].status, jobs[JOB].superseded_by) == (SUCCEEDED, None)


def test_a_redelivered_run_only_supersedes_jobs_on_its_resource_and_extractor():
    events = [reply(START, 0, job=JOB, extractor="ncsa.other"),
              reply(START, 60, job=JOB2, redelivered=True)]

    jobs = {job.job_id: job for job in group_events(events, now=at(80))}

    assert jobs[JOB].status == STARTED


def test_a_later_terminal_event_resolves_a_lost_job():
    beats = [heartbeat("w-1", 10, jobs=[JOB])]
    events = [reply(START, 1, worker="w-1")]

    lost = group_events(events, heartbeats=beats, now=at(100))[0]
    resolved = group_events(events + [reply(DONE, 90, worker="w-1")], heartbeats=beats, now=at(100))[0]

    assert (lost.status, resolved.status) == (LOST, SUCCEEDED)


def test_a_later_terminal_event_resolves_a_superseded_job():
    events = [reply(START, 0, job=JOB), reply(START, 60, job=JOB2, redelivered=True),
              reply(DONE, 65, job=JOB)]

    jobs = {job.job_id: job for job in group_events(events, now=at(80))}

    assert (jobs[JOB].status, jobs[JOB].superseded_by) == (SUCCEEDED, None)


def test_a_lost_job_stops_its_clock_at_its_last_event():
    beats = [heartbeat("w-1", 10, jobs=[JOB])]

    (job,) = group_events([reply(START, 1, worker="w-1"), reply(WORK, 5, worker="w-1")],
                          heartbeats=beats, now=at(1000))

    assert (job.status, job.elapsed) == (LOST, 4.0)


def test_heartbeats_without_tracking_cannot_make_a_job_lost():
    beats = [heartbeat("w-1", 10, tracking=False)]

    (job,) = group_events([reply(START, 1, worker="w-1")], heartbeats=beats, now=at(1000))

    assert job.status == STARTED


def test_heartbeats_after_now_are_not_known_yet():
    beats = [heartbeat("w-1", 5, jobs=[JOB]), heartbeat("w-1", 50, jobs=[])]

    (job,) = group_events([reply(START, 1, worker="w-1")], heartbeats=beats, now=at(20))

    assert job.status == STARTED


def test_a_job_with_a_beating_worker_is_not_stale():
    beats = [heartbeat("w-1", 7 * 3600, jobs=[JOB])]

    (job,) = group_events([reply(START, 1, worker="w-1")], heartbeats=beats, now=at(7 * 3600 + 1))

    assert (job.status, job.stale) == (STARTED, False)
