"""Figures per extractor and per worker: percentiles, success rate, throughput."""
import pytest

from pyclowder_jobs.tools.report import percentile, stats
from pyclowder_jobs.server import group_events
from tools_builders import at, finished_job, tap_heartbeat, tap_status


def jobs_of(events, now=at(3600)):
    return [job.to_dict() for job in group_events(events, now=now)]


def test_percentiles_interpolate_between_ranks():
    assert percentile([1, 2, 3, 4, 5], 0.5) == 3
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile([10, 1, 7], 0.0) == 1
    assert percentile([10, 1, 7], 1.0) == 10
    assert percentile(list(range(1, 101)), 0.95) == pytest.approx(95.05)


def test_a_percentile_of_nothing_is_none():
    assert percentile([], 0.5) is None


def test_run_times_and_counts_per_extractor():
    events = []
    for number, run in enumerate([1, 2, 3, 4, 10]):
        events += finished_job("job-%d" % number, 60 * number, run, resource="file-%d" % number)
    events += finished_job("job-bad", 400, 1, final="StatusMessage.error")
    row = stats(jobs_of(events))["extractors"][0]
    assert (row["extractor"], row["jobs"], row["succeeded"], row["failed"]) == ("ncsa.wordcount", 6, 5, 1)
    assert row["success_rate"] == pytest.approx(5 / 6)
    assert row["run_time_p50"] == 2.5
    assert row["run_time_p95"] == pytest.approx(8.5)


def test_the_success_rate_counts_only_jobs_that_ended():
    events = finished_job("job-1", 0, 1) + [tap_status("job-2", "StatusMessage.start", 5)]
    assert stats(jobs_of(events, now=at(6)))["extractors"][0]["success_rate"] == 1.0


def test_queue_wait_is_from_submission_to_start():
    submitted = {"file_id": "file-1", "extractor_id": "ncsa.wordcount", "job_id": "job-1", "status": "SUBMITTED",
                 "start": at(0).isoformat()}
    events = [submitted] + finished_job("job-1", 4, 1)
    row = stats(jobs_of(events))["extractors"][0]
    assert row["queue_wait_p50"] == 4


def test_throughput_is_finished_jobs_per_minute_from_the_first_start_to_the_last_finish():
    events = []
    for number in range(7):
        events += finished_job("job-%d" % number, 20 * number, 1, resource="file-%d" % number)
    assert stats(jobs_of(events))["extractors"][0]["throughput_per_min"] == pytest.approx(7 / (121 / 60))


def test_one_finished_job_has_no_throughput():
    assert stats(jobs_of(finished_job("job-1", 0, 1)))["extractors"][0]["throughput_per_min"] is None


def test_workers_get_their_own_rows_with_the_host_their_heartbeat_names():
    events = finished_job("job-1", 0, 1, worker="worker-a") + finished_job("job-2", 10, 3, worker="worker-b",
                                                                            resource="file-2")
    rows = stats(jobs_of(events), [tap_heartbeat("worker-a", 5)])["workers"]
    assert [(row["worker"], row["host"], row["jobs"], row["run_time_p50"]) for row in rows] == [
        ("worker-a", "node-a", 1, 1), ("worker-b", None, 1, 3)]


def test_a_job_retried_on_another_worker_counts_for_both():
    events = [tap_status("job-1", "StatusMessage.start", 0, worker="worker-a"),
              tap_status("job-1", "StatusMessage.retry", 1, worker="worker-a"),
              tap_status("job-1", "StatusMessage.start", 2, worker="worker-b", attempt=2),
              tap_status("job-1", "StatusMessage.done", 3, worker="worker-b", attempt=2)]
    assert [row["jobs"] for row in stats(jobs_of(events))["workers"]] == [1, 1]
