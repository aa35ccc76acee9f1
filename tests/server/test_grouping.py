"""Rules 1, 2, 4 and 5: which events make up which job, and in what order."""
import re
from datetime import timedelta

from pyclowder_jobs.server import (FAILED, PROCESSING, RESUBMITTED, SKIPPED, STARTED, SUBMITTED,
                                   SUCCEEDED, group_events)
from server_builders import (DATASET, EXTRACTOR, FILE, JOB, JOB2, NOW, USER, event_ids, iso,
                             new_oid, reply, statuses, v1)

START = "StatusMessage.start: Started processing"
WORK = "StatusMessage.processing: Downloading file."
ERROR = "StatusMessage.error: ValueError: cannot parse header"


def by_first_event(jobs):
    return sorted(jobs, key=lambda job: job.first_ms)


# Rule 1: a job id decides

def test_events_with_a_job_id_belong_to_that_job_even_when_interleaved():
    events = [v1(START, 0, job=JOB), v1(START, 1, job=JOB2), v1("DONE", 2, job=JOB),
              v1(ERROR, 3, job=JOB2)]

    jobs = {job.job_id: job for job in group_events(events, now=NOW)}

    assert (jobs[JOB].status, jobs[JOB2].status) == (SUCCEEDED, FAILED)
    assert not jobs[JOB].ambiguous and not jobs[JOB2].synthetic


def test_submitted_on_the_file_and_replies_on_the_dataset_form_one_job_on_the_dataset():
    events = [v1("SUBMITTED", 0, job=JOB, resource=FILE, user=USER),
              v1(START, 1, job=JOB, resource=DATASET), v1("DONE", 2, job=JOB, resource=DATASET)]

    (job,) = group_events(events, now=NOW)

    assert (job.resource_id, job.status, job.user) == (DATASET, SUCCEEDED, USER)


def test_a_submitted_naming_the_queue_and_replies_naming_the_extractor_form_one_job():
    events = [v1("SUBMITTED", 0, job=JOB, extractor="extractors.ncsa.wordcount"),
              v1(START, 1, job=JOB, extractor="ncsa.wordcount")]

    (job,) = group_events(events, now=NOW)

    assert job.extractor == EXTRACTOR


# Rule 2: order

def test_submitted_comes_first_although_the_start_was_stamped_in_an_earlier_millisecond():
    submitted = v1("SUBMITTED", 0.412, job=JOB, user=USER)
    start = v1(START, 0, job=JOB)

    (job,) = group_events([start, submitted], now=NOW)

    assert statuses(job) == [SUBMITTED, STARTED]
    assert job.queue_wait == 0.0


def test_events_at_the_same_time_are_ordered_by_id():
    ids = sorted(new_oid(1) for _ in range(3))
    events = [v1(START, 1, job=JOB, oid=ids[0]), v1(WORK, 1, job=JOB, oid=ids[1]),
              v1("DONE", 1, job=JOB, oid=ids[2])]

    (job,) = group_events(list(reversed(events)), now=NOW)

    assert event_ids(job) == ids and job.status == SUCCEEDED


def test_raw_replies_are_ordered_by_tracking_ts_then_seq():
    events = [reply("StatusMessage.done: Done.", 1, seq=3), reply(WORK, 1, seq=2),
              reply(START, 0.5, seq=1)]

    (job,) = group_events(events, now=NOW)

    assert statuses(job) == [STARTED, PROCESSING, SUCCEEDED]


# Rule 4: events without a job id

def test_an_idless_submitted_always_opens_a_new_job():
    events = [v1("SUBMITTED", 0, user=USER), v1("SUBMITTED", 1, user=USER)]

    jobs = group_events(events, now=NOW)

    assert len(jobs) == 2 and all(job.status == SUBMITTED for job in jobs)


def test_an_idless_start_joins_a_submitted_job_that_waits():
    events = [v1("SUBMITTED", 0, user=USER), v1(START, 3), v1("DONE", 5)]

    (job,) = group_events(events, now=NOW)

    assert (job.status, job.user, job.queue_wait) == (SUCCEEDED, USER, 3.0)


def test_an_idless_start_opens_a_new_job_when_the_open_one_has_started():
    events = [v1(START, 0), v1(START, 1), v1("DONE", 4), v1("DONE", 5)]

    jobs = group_events(events, now=NOW)

    assert len(jobs) == 2
    assert all(job.ambiguous for job in jobs)


def test_an_idless_start_after_a_resubmission_is_the_next_attempt_of_that_job():
    events = [v1(START, 0), v1("StatusMessage.processing: Resubmitting message (attempt #2)", 2),
              v1(START, 3), v1("DONE", 4)]

    (job,) = group_events(events, now=NOW)

    assert (job.status, job.attempts) == (SUCCEEDED, 2)
    assert [event["attempt"] for event in job.events] == [1, 1, 2, 2]


def test_an_idless_reply_joins_an_id_bearing_submitted_that_has_not_started():
    events = [v1("SUBMITTED", 0, job=JOB, user=USER), v1(START, 2), v1("DONE", 4)]

    (job,) = group_events(events, now=NOW)

    assert (job.job_id, job.synthetic, len(job.events), job.status) == (JOB, False, 3, SUCCEEDED)


def test_an_idless_reply_does_not_join_an_id_job_that_its_own_worker_reports_on():
    events = [v1("SUBMITTED", 0, job=JOB, user=USER), v1(START, 1, job=JOB), v1(START, 2)]

    jobs = by_first_event(group_events(events, now=NOW))

    assert [job.synthetic for job in jobs] == [False, True]
    assert len(jobs[0].events) == 2


def test_an_idless_done_can_close_an_id_job_that_waits_on_another_resource():
    events = [v1("SUBMITTED", 0, job=JOB), v1(ERROR, 1), v1("SUBMITTED", 2, job=JOB, resource=DATASET),
              v1("DONE", 3)]

    (job,) = group_events(events, now=NOW)

    assert (job.job_id, job.status, len(job.events)) == (JOB, FAILED, 4)


def test_done_closes_a_job_so_the_next_start_opens_another():
    events = [v1(START, 0), v1(WORK, 1), v1("DONE", 2), v1(START, 10), v1(ERROR, 12)]

    jobs = by_first_event(group_events(events, now=NOW))

    assert [job.status for job in jobs] == [SUCCEEDED, FAILED]
    assert not any(job.ambiguous for job in jobs)


def test_done_after_error_belongs_to_the_failed_job():
    events = [v1("Started processing file", 0), v1("Error processing", 2), v1("DONE", 2)]

    (job,) = group_events(events, now=NOW)

    assert (job.status, job.message, len(job.events)) == (FAILED, "Error processing", 3)


def test_done_after_skip_belongs_to_the_skipped_job():
    events = [v1(START, 0), v1("StatusMessage.skip: Skipped in check_message", 0), v1("DONE", 0)]

    (job,) = group_events(events, now=NOW)

    assert (job.status, len(job.events)) == (SKIPPED, 3)


def test_done_after_error_of_a_finished_run_goes_to_the_next_run_once_it_started():
    events = [v1(START, 0), v1(ERROR, 1), v1(START, 10), v1("DONE", 12)]

    jobs = by_first_event(group_events(events, now=NOW))

    assert [job.status for job in jobs] == [FAILED, SUCCEEDED]


def test_done_followed_by_progress_was_a_mid_job_text():
    events = [v1(START, 0), v1("DONE", 1), v1(WORK, 2), v1("DONE", 3)]

    (job,) = group_events(events, now=NOW)

    assert job.status == SUCCEEDED and job.finished == iso(3)
    assert statuses(job) == [STARTED, PROCESSING, PROCESSING, SUCCEEDED]


def test_done_followed_by_an_error_was_a_mid_job_text():
    events = [v1(START, 0), v1("DONE", 1), v1(ERROR, 2)]

    (job,) = group_events(events, now=NOW)

    assert job.status == FAILED


def test_an_explicit_done_is_final_for_a_job_with_an_id():
    events = [reply(START, 0), reply("StatusMessage.done: Done.", 1), reply(WORK, 2)]

    (job,) = group_events(events, now=NOW)

    assert (job.status, job.finished) == (SUCCEEDED, iso(1))


def test_a_gap_longer_than_max_gap_opens_a_new_job():
    events = [v1(START, 0), v1(WORK, 1), v1(WORK, 1 + 25 * 3600)]

    assert len(group_events(events, now=NOW)) == 2
    assert len(group_events(events, now=NOW, max_gap=timedelta(hours=30))) == 1



def test_a_job_silent_longer_than_max_gap_takes_no_more_events_even_behind_a_newer_active_one():
    events = [v1("SUBMITTED", 0, job=JOB, user=USER), v1("SUBMITTED", 10),
              v1("SUBMITTED", 200, job=JOB, user=USER), v1(WORK, 300)]

    by_id = {job.job_id: job for job in group_events(events, now=NOW, max_gap=timedelta(seconds=150))}

    assert statuses(by_id[JOB]) == [SUBMITTED, SUBMITTED, PROCESSING]
    assert [statuses(job) for job in by_id.values() if job.synthetic] == [[SUBMITTED]]

def test_jobs_open_at_the_same_time_on_one_key_are_ambiguous_and_others_are_not():
    events = [v1(START, 0), v1(START, 1), v1("DONE", 2), v1("DONE", 3),
              v1(START, 100, resource=DATASET), v1("DONE", 101, resource=DATASET)]

    jobs = group_events(events, now=NOW)

    assert sorted(job.ambiguous for job in jobs) == [False, True, True]


def test_idless_events_on_other_resources_or_extractors_are_separate_jobs():
    events = [v1(START, 0), v1(START, 0, resource=DATASET), v1(START, 0, extractor="ncsa.other")]

    jobs = group_events(events, now=NOW)

    assert len(jobs) == 3 and not any(job.ambiguous for job in jobs)


def test_a_reply_without_a_start_opens_a_job_of_its_own():
    (job,) = group_events([v1(WORK, 5)], now=NOW)

    assert (job.status, job.started) == (PROCESSING, iso(5))


def test_a_resubmission_leaves_the_job_waiting():
    events = [v1(START, 0), v1("StatusMessage.retry: (#1) ConnectionError", 1)]

    (job,) = group_events(events, now=NOW)

    assert job.status == RESUBMITTED


# Rule 5: synthetic ids

def test_synthetic_ids_are_legacy_and_16_hex_digits():
    (job,) = group_events([v1(START, 0)], now=NOW)

    assert re.fullmatch(r"legacy-[0-9a-f]{16}", job.job_id)


def test_synthetic_ids_do_not_depend_on_input_order():
    events = [v1(START, 0), v1(WORK, 1), v1("DONE", 2), v1(START, 10), v1("DONE", 12)]

    forward = [job.job_id for job in group_events(events, now=NOW)]
    backward = [job.job_id for job in group_events(events[::-1], now=NOW)]

    assert forward == backward and len(set(forward)) == 2


def test_synthetic_ids_differ_by_resource_extractor_and_first_event():
    first = v1(START, 0)
    same_time_elsewhere = dict(first, file_id={"$oid": DATASET})
    other_extractor = dict(first, extractor_id="ncsa.other")

    ids = {group_events([event], now=NOW)[0].job_id for event in (first, same_time_elsewhere, other_extractor)}

    assert len(ids) == 3


def test_synthetic_ids_of_replies_without_id_use_their_time_and_content():
    one = reply(START, 0, job=None, tracking=False)
    other = reply(START, 0, job=None, tracking=False, extractor="ncsa.other")

    assert group_events([one], now=NOW)[0].job_id == group_events([dict(one)], now=NOW)[0].job_id
    assert group_events([one], now=NOW)[0].job_id != group_events([other], now=NOW)[0].job_id
