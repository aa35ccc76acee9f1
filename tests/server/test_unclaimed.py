"""Rule 6, unclaimed: a job that waits for a worker while no worker of its extractor is alive."""
from datetime import timedelta

from pyclowder_jobs.server import SUBMITTED, JobIndex, group_events
from server_builders import EXTRACTOR, JOB, JOB2, USER, at, heartbeat, reply, v1

START = "StatusMessage.start: Started processing."
RETRY = "StatusMessage.retry: Resubmitting message (attempt #2)"
OTHER = "ncsa.image.preview"


def submitted(seconds, job=JOB, extractor=EXTRACTOR):
    return v1("SUBMITTED", seconds, job=job, user=USER, extractor=extractor)


def test_a_submitted_job_is_unclaimed_once_its_extractors_last_worker_missed_three_heartbeats():
    beats = [heartbeat("w-1", 0), heartbeat("w-1", 10)]

    (job,) = group_events([submitted(20)], heartbeats=beats, now=at(41))

    assert (job.status, job.unclaimed) == (SUBMITTED, True)


def test_a_submitted_job_is_not_unclaimed_within_three_intervals_of_a_heartbeat_of_its_extractor():
    beats = [heartbeat("w-1", 10)]

    (job,) = group_events([submitted(20)], heartbeats=beats, now=at(39))

    assert (job.status, job.unclaimed) == (SUBMITTED, False)


def test_a_job_submitted_after_its_extractors_last_worker_went_away_is_unclaimed():
    beats = [heartbeat("w-1", 0)]

    (job,) = group_events([submitted(3600)], heartbeats=beats, now=at(3601))

    assert job.unclaimed is True


def test_one_live_worker_of_the_extractor_is_enough():
    beats = [heartbeat("w-1", 0), heartbeat("w-2", 95)]

    (job,) = group_events([submitted(20)], heartbeats=beats, now=at(100))

    assert job.unclaimed is False


def test_without_a_heartbeat_of_its_extractor_it_is_unknown_even_while_others_beat():
    beats = [heartbeat("w-9", seconds, extractor=OTHER) for seconds in range(0, 100, 10)]

    (job,) = group_events([submitted(20)], heartbeats=beats, now=at(100))

    assert (job.status, job.unclaimed) == (SUBMITTED, None)


def test_without_any_heartbeat_it_is_unknown():
    (job,) = group_events([submitted(20)], now=at(100000))

    assert job.unclaimed is None


def test_heartbeats_without_timing_leave_it_unknown():
    (job,) = group_events([submitted(20)], heartbeats=[heartbeat("w-1", 0, tracking=False)], now=at(100000))

    assert job.unclaimed is None


def test_a_worker_of_another_extractor_does_not_claim_it():
    beats = [heartbeat("w-1", 0), heartbeat("w-9", 95, extractor=OTHER)]

    jobs = {job.job_id: job for job in group_events([submitted(20), submitted(21, JOB2, OTHER)], heartbeats=beats,
                                                    now=at(100))}

    assert (jobs[JOB].unclaimed, jobs[JOB2].unclaimed) == (True, False)


def test_a_worker_counts_for_its_queue_as_for_its_extractor_name():
    beats = [heartbeat("w-1", 95, extractor="ncsa.wordcount.v2", queue="extractors." + EXTRACTOR)]

    (job,) = group_events([submitted(20)], heartbeats=beats, now=at(100))

    assert job.unclaimed is False


def test_the_flag_clears_when_a_worker_is_alive_again():
    beats = [heartbeat("w-1", 0), heartbeat("w-2", 95)]

    (job,) = group_events([submitted(20)], heartbeats=beats[:1], now=at(100))
    (later,) = group_events([submitted(20)], heartbeats=beats, now=at(100))

    assert (job.unclaimed, later.unclaimed) == (True, False)


def test_a_started_job_is_never_unclaimed():
    beats = [heartbeat("w-1", 0, jobs=[JOB])]

    (job,) = group_events([submitted(20), reply(START, 21)], heartbeats=beats, now=at(100000))

    assert job.unclaimed is False


def test_a_retry_that_waits_for_its_next_attempt_is_unclaimed_when_no_worker_is_alive():
    events = [submitted(0), reply(START, 1, worker=None, tracking=False), reply(RETRY, 2, tracking=False)]

    (job,) = group_events(events, heartbeats=[heartbeat("w-1", 0)], now=at(100))

    assert (job.status, job.unclaimed) == ("RESUBMITTED", True)


def test_a_live_index_judges_as_the_batch_does():
    events = [submitted(20), submitted(21, JOB2, OTHER)]
    beats = [heartbeat("w-1", 0), heartbeat("w-9", 95, extractor=OTHER)]
    index = JobIndex(stale_after=timedelta(hours=6))
    index.add_many(beats + events)

    assert ([job.to_dict() for job in index.jobs(now=at(100))]
            == [job.to_dict() for job in group_events(events, heartbeats=beats, now=at(100))])
