"""Every input shape is accepted (DESIGN 3-5); bad events are reported, never raised (rule 9)."""
from datetime import timedelta, timezone

from pyclowder_jobs.protocol import tracking as wire
from pyclowder_jobs.server import FAILED, PROCESSING, STARTED, SUCCEEDED, group_events
from server_builders import (DATASET, EXTRACTOR, FILE, JOB, NOW, USER, ObjectId, at, event_ids,
                             heartbeat, iso, new_oid, reply, v1)


IDS = [new_oid(0), new_oid(1), new_oid(5)]


def _legacy_run(pymongo):
    return [
        v1("SUBMITTED", 0, job=JOB, user=USER, oid=IDS[0], pymongo=pymongo),
        v1("StatusMessage.start: Started processing.", 1, job=JOB, oid=IDS[1], pymongo=pymongo),
        v1("DONE", 5, job=JOB, oid=IDS[2], pymongo=pymongo),
    ]


def test_pymongo_documents_and_extended_json_give_the_same_jobs():
    assert group_events(_legacy_run(pymongo=True), now=NOW) == group_events(_legacy_run(pymongo=False), now=NOW)


def test_pymongo_object_ids_become_their_hex_text():
    (job,) = group_events(_legacy_run(pymongo=True), now=NOW)

    assert (job.job_id, job.resource_id, job.user) == (JOB, FILE, USER)
    assert event_ids(job) == IDS


def test_any_id_type_is_read_as_its_text():
    doc = v1("StatusMessage.start: Started processing.", 0, pymongo=True)
    doc["job_id"] = ObjectId(JOB)
    doc["file_id"] = 12345

    (job,) = group_events([doc], now=NOW)

    assert (job.job_id, job.resource_id) == (JOB, "12345")


def test_timezone_aware_datetimes_are_read_in_utc():
    plus_two = timezone(timedelta(hours=2))
    doc = v1("StatusMessage.start: Started processing.", 0, job=JOB, pymongo=True)
    doc["start"] = at(0).astimezone(plus_two)

    (job,) = group_events([doc], now=NOW)

    assert job.started == iso(0)


def test_extended_json_dates_as_milliseconds_are_read():
    first = v1("StatusMessage.start: Started processing.", 0, job=JOB)
    first["start"] = {"$date": {"$numberLong": str(int(at(0).timestamp() * 1000))}}
    second = v1("DONE", 3, job=JOB)
    second["start"] = {"$date": int(at(3).timestamp() * 1000)}

    (job,) = group_events([first, second], now=NOW)

    assert (job.started, job.finished) == (iso(0), iso(3))


def test_raw_replies_without_tracking_are_timed_by_start():
    start = reply("StatusMessage.start: Started processing.", 0, tracking=False)
    done = reply("StatusMessage.done: Done.", 4, tracking=False)

    (job,) = group_events([start, done], now=NOW)

    assert (job.status, job.started, job.finished) == (SUCCEEDED, iso(0), iso(4))
    assert job.workers == []


def test_start_times_without_offset_or_with_pyclowders_wrong_offset_are_utc():
    naive = reply("StatusMessage.start: Started processing.", 0, tracking=False)
    naive["start"] = "2019-03-14T15:00:00"
    minus_zero = reply("StatusMessage.processing: working", 2, tracking=False)
    minus_zero["start"] = "2019-03-14T15:00:02-00:00"

    (job,) = group_events([naive, minus_zero], now=NOW)

    assert [event["ts"] for event in job.events] == [iso(0), iso(2)]


def test_raw_replies_with_tracking_are_timed_by_tracking_ts():
    event = reply("StatusMessage.start: Started processing.", 1.25)

    (job,) = group_events([event], now=NOW)

    assert job.started == iso(1.25)


def test_clowder_v2_job_and_update_documents_form_one_job():
    job_doc = {"_id": {"$oid": JOB}, "listener_id": EXTRACTOR,
               "resource_ref": {"collection": "files", "resource_id": {"$oid": FILE}, "version": 1},
               "creator": {"email": "ada@example.org", "first_name": "Ada"},
               "created": {"$date": iso(0)}, "started": {"$date": iso(2)},
               "updated": {"$date": iso(9)}, "finished": {"$date": iso(9)}, "duration": 7,
               "latest_message": "Done.", "status": "SUCCEEDED"}
    updates = [{"_id": {"$oid": new_oid(2)}, "job_id": JOB, "timestamp": {"$date": iso(2)},
                "status": "StatusMessage.start: Started processing."},
               {"_id": {"$oid": new_oid(5)}, "job_id": JOB, "timestamp": {"$date": iso(5)},
                "status": "StatusMessage.processing: half way"}]

    (job,) = group_events([job_doc] + updates, now=NOW)

    assert (job.job_id, job.synthetic, job.resource_id, job.extractor) == (JOB, False, FILE, EXTRACTOR)
    assert (job.status, job.user) == (SUCCEEDED, "ada@example.org")
    assert (job.submitted, job.started, job.finished) == (iso(0), iso(2), iso(9))


def test_clowder_v2_failed_job_is_failed():
    job_doc = {"_id": JOB, "listener_id": EXTRACTOR,
               "resource_ref": {"collection": "datasets", "resource_id": DATASET},
               "created": at(0).replace(tzinfo=None), "started": at(1).replace(tzinfo=None),
               "finished": at(3).replace(tzinfo=None), "status": "ERROR",
               "latest_message": "StatusMessage.error: boom"}

    (job,) = group_events([job_doc], now=NOW)

    assert (job.status, job.resource_id, job.message) == (FAILED, DATASET, "StatusMessage.error: boom")


def test_clowder_v2_updates_alone_form_a_job_without_resource():
    update = {"job_id": JOB, "timestamp": iso(1), "status": "StatusMessage.start: Started processing."}

    (job,) = group_events([update], now=NOW)

    assert (job.job_id, job.status, job.resource_id) == (JOB, STARTED, None)


def test_heartbeats_may_come_among_the_events_or_apart():
    events = [reply("StatusMessage.start: Started processing.", 0, worker="w-1")]
    beat = heartbeat("w-1", 5, jobs=[JOB])

    together = group_events(events + [beat], now=at(6))
    apart = group_events(events, heartbeats=[beat], now=at(6))

    assert together == apart
    assert not together.rejected


def test_log_lines_are_ignored_and_counted_not_rejected():
    log = reply("StatusMessage.processing: reading page 3", 2, kind="log")

    jobs = group_events([reply("StatusMessage.start: Started processing.", 0), log], now=NOW)

    assert jobs.ignored == 1 and not jobs.rejected
    assert len(jobs[0].events) == 1


def test_log_lines_as_the_tap_carries_them_are_ignored_not_rejected():
    log = wire.log_event(FILE, EXTRACTOR, "job-1", "INFO", "behave", "working on it",
                         wire.reply_tracking(wire.reply_tracking_template("w", "h", 1, 1, False), 3, 2.0, wire.LOG))

    jobs = group_events([reply("StatusMessage.start: Started processing.", 0), log], now=NOW)

    assert jobs.ignored == 1 and not jobs.rejected


def test_a_malformed_event_is_rejected_with_its_position_and_a_reason():
    good = reply("StatusMessage.start: Started processing.", 0)
    bad = [None, "DONE", {"status": "DONE"}, {"extractor_id": EXTRACTOR, "status": "DONE", "start": iso(1)},
           {"file_id": FILE, "extractor_id": EXTRACTOR, "status": 3, "start": iso(1)},
           {"file_id": FILE, "extractor_id": "", "status": "DONE", "start": iso(1)},
           {"file_id": FILE, "extractor_id": EXTRACTOR, "status": "DONE", "start": "yesterday"},
           {"file_id": FILE, "extractor_id": EXTRACTOR, "status": "DONE"},
           {"file_id": [1], "extractor_id": EXTRACTOR, "status": "DONE", "start": iso(1)},
           {"job_id": None, "timestamp": iso(1), "status": "DONE"},
           {"id": None, "queue": EXTRACTOR}]

    jobs = group_events([good] + bad, now=NOW)

    assert len(jobs) == 1
    assert [rejected.position for rejected in jobs.rejected] == list(range(1, len(bad) + 1))
    assert all(rejected.reason and len(rejected.event) <= 200 for rejected in jobs.rejected)


def test_rejection_reasons_say_what_is_wrong():
    jobs = group_events([{"file_id": FILE, "extractor_id": EXTRACTOR, "status": "DONE", "start": "soon"}])

    assert "time" in jobs.rejected[0].reason


def test_a_huge_rejected_event_is_shown_truncated():
    jobs = group_events([{"status": "x" * 10000, "blob": list(range(10000))}], now=NOW)

    assert len(jobs.rejected[0].event) <= 200


def test_a_job_id_that_is_not_an_id_is_treated_as_absent():
    event = v1("StatusMessage.start: Started processing.", 0)
    event["job_id"] = "not a valid id!" * 10

    (job,) = group_events([event], now=NOW)

    assert job.synthetic


def test_null_job_id_is_treated_as_absent():
    (job,) = group_events([reply("StatusMessage.start: Started processing.", 0, job=None)], now=NOW)

    assert job.synthetic and job.status == STARTED


def test_the_same_document_twice_counts_once():
    docs = [v1("StatusMessage.start: Started processing.", 0, job=JOB), v1("DONE", 3, job=JOB)]

    assert group_events(docs + [dict(doc) for doc in docs], now=NOW) == group_events(docs, now=NOW)


def test_the_same_raw_reply_twice_counts_once():
    events = [reply("StatusMessage.start: Started processing.", 0, seq=1),
              reply("StatusMessage.processing: half", 1, seq=2)]

    jobs = group_events(events + [dict(events[1])], now=NOW)

    assert len(jobs[0].events) == 2 and not jobs.rejected


def test_the_same_v2_job_document_twice_counts_once():
    job_doc = {"_id": JOB, "listener_id": EXTRACTOR, "resource_ref": {"resource_id": FILE},
               "created": iso(0), "status": "CREATED"}

    (job,) = group_events([job_doc, dict(job_doc)], now=NOW)

    assert len(job.events) == 1


def test_extractor_names_lose_private_key_and_routing_key_prefixes():
    docs = [v1("SUBMITTED", 0, extractor="private.s3cr3t.ncsa.wordcount", user=USER),
            v1("StatusMessage.start: Started processing", 1, extractor="ncsa.wordcount"),
            v1("DONE", 2, extractor="extractors.ncsa.wordcount")]

    (job,) = group_events(docs, now=NOW)

    assert job.extractor == "ncsa.wordcount" and job.status == SUCCEEDED


def test_unknown_status_text_is_kept_as_the_message_of_a_processing_job():
    (job,) = group_events([v1("Tiling 4/9", 0, job=JOB)], now=NOW)

    assert (job.status, job.message) == (PROCESSING, "Tiling 4/9")


def test_a_time_that_is_past_year_9999_in_utc_is_rejected():
    event = v1("StatusMessage.start: Started processing.", 0, job=JOB)
    event["start"] = {"$date": "9999-12-31T23:00:00-05:00"}

    jobs = group_events([event], now=NOW)

    assert not jobs and "time" in jobs.rejected[0].reason
