"""The wire format (``docs/wire.rst``): pyClowder's fields, fixed times, and the tracking object."""

import calendar
import json
import time

import pytest

from clowder_rules import v1_reply_problems, v2_reply_problems
from pyclowder_jobs.protocol import times, tracking as wire
from pyclowder_jobs.extractor.worker import Job, Worker

JOB_ID = "5c8a6c70a1b2c3d4e5000010"


def test_start_is_utc_whole_seconds_with_a_plus_zero_offset():
    assert times.utc_seconds(calendar.timegm((2026, 11, 22, 11, 4, 26)) + 0.9) == "2026-11-22T11:04:26+00:00"


def test_tracking_times_are_utc_milliseconds_with_z():
    assert times.utc_millis(calendar.timegm((2026, 1, 2, 3, 4, 5)) + 0.0678) == "2026-01-02T03:04:05.067Z"


def test_start_is_utc_whatever_the_local_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert times.utc_seconds(0) == "1970-01-01T00:00:00+00:00"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_status_reply_keeps_pyclowders_fields_in_order_then_tracking():
    reply = wire.status_reply("f1", "ncsa.wordcount", "5c8a6c70a1b2c3d4e5000010", "StatusMessage.start",
                              "Started processing.", 0, {"v": 1})
    assert list(reply) == ["file_id", "extractor_id", "job_id", "status", "start", "message_type", "message",
                           "tracking"]
    assert reply["status"] == "StatusMessage.start: Started processing."
    assert reply["message_type"] == "StatusMessage.start"


def test_progress_reads_as_done_of_total_with_unit_and_percent():
    assert wire.progress_text(3, 10, "files") == "3/10 files (30%)"


def test_progress_without_a_total_or_unit_shows_what_it_has():
    assert wire.progress_text(3) == "3"
    assert wire.progress_text(2.5, None, "GB") == "2.5 GB"
    assert wire.progress_text(0, 0) == "0/0"


def test_reply_tracking_fields_come_in_the_documented_order():
    template = wire.reply_tracking_template("w", "h", 1, 2, False)
    tracking = wire.reply_tracking(template, 7, 0)
    assert tracking == {"v": 1, "worker": "w", "host": "h", "pid": 1, "seq": 7, "ts": "1970-01-01T00:00:00.000Z",
                        "attempt": 2, "redelivered": False, "kind": "status"}
    assert list(tracking) == ["v", "worker", "host", "pid", "seq", "ts", "attempt", "redelivered", "kind"]


def test_each_event_gets_its_own_tracking_object():
    template = wire.reply_tracking_template("w", "h", 1, 1, False)
    first, second = wire.reply_tracking(template, 1, 0), wire.reply_tracking(template, 2, 0)
    assert (first["seq"], second["seq"], template["seq"]) == (1, 2, None)


def test_progress_tracking_carries_the_numbers_only_when_given():
    template = wire.reply_tracking_template("w", "h", 1, 1, False)
    assert "progress" not in wire.reply_tracking(template, 1, 0)
    tracking = wire.reply_tracking(template, 1, 0, wire.PROGRESS, {"done": 1, "total": 2, "unit": None})
    assert tracking["kind"] == "progress" and tracking["progress"]["total"] == 2


def test_a_heartbeat_tracking_lists_running_jobs():
    tracking = wire.heartbeat_tracking("h", 7, 300.0, 0, 5, 2, [{"job_id": "j"}])
    assert tracking == {"v": 1, "host": "h", "pid": 7, "interval": 300.0, "ts": "1970-01-01T00:00:00.000Z",
                        "seq": 5, "processed": 2, "jobs": [{"job_id": "j"}]}


def test_an_encoded_status_reply_is_exactly_its_json_dumps_and_the_reply_is_left_as_it_was():
    unnamed = [wire.TrackingTemplate("3f1c0d5e-8b1a-4c8e-9a57-0e6a1d2b3c4d", "node1", 4242, 1, False),
               wire.TrackingTemplate('w "quoted" \\ back', "h\u00f6st-\u6771\u4eac", 1, 11, True)]
    names = ["report.csv", 'r\u00e9sum\u00e9 "final" \\ \u6771\u4eac \U0001f600\n.pdf', "\ud800 lone", "x" * 200]
    templates = unnamed + [template.named(name) for template in unnamed for name in names]
    messages = ["Started processing.", 'say "hi"\n\ttab \\ slash', "caf\u00e9 \u2603 \U0001f600", "", "\x00\x1f", 42,
                ["a", 1.5, None]]
    progresses = [None, {"done": 3, "total": 10, "unit": "files"}, {"done": 2.5, "total": None, "unit": "\u00b5m"}]
    for template in templates:
        for seq, (message, progress, resource) in enumerate(zip(messages * 3, progresses * 5,
                                                                 ["f1", 42, None, "d\u00e9", "x"] * 3)):
            kind = wire.STATUS if progress is None else wire.PROGRESS
            tracking = wire.reply_tracking(template.fields, seq + 1, 1764582000.5 + seq, kind, progress)
            reply = wire.status_reply(resource, "ncsa.w\u00f6rdcount", "5c8a6c70a1b2c3d4e5000010",
                                      "StatusMessage.start", message, 1764582000.5, tracking)
            before = list(reply.items())
            assert template.encode_reply(reply) == json.dumps(reply)
            assert list(reply.items()) == before


def test_a_worker_shares_one_tracking_template_per_attempt():
    worker = Worker()
    first = worker.tracking_template(1, False)
    assert worker.tracking_template(1, False) is first
    assert worker.tracking_template(2, False).fields["attempt"] == 2
    assert worker.tracking_template(1, True).fields["redelivered"] is True
    assert first.fields == wire.reply_tracking_template(worker.id, worker.host, worker.pid, 1, False)


def a_reply(template=None, progress=None):
    template = template or wire.TrackingTemplate("w", "node1", 4242, 1, False).named("report.csv")
    kind = wire.STATUS if progress is None else wire.PROGRESS
    tracking = wire.reply_tracking(template.fields, 7, 1764582000.5, kind, progress)
    return template, wire.status_reply("f1", "ncsa.wordcount", JOB_ID, "StatusMessage.start", "Started processing.",
                                       1764582000.5, tracking)


@pytest.mark.parametrize("name", [None, "report.csv"])
def test_a_status_reply_made_from_its_template_is_written_without_json_dumps(mocker, name):
    template, reply = a_reply(wire.TrackingTemplate("w", "node1", 4242, 1, False).named(name))
    expected = json.dumps(reply)
    mocker.patch.object(wire.json, "dumps", side_effect=AssertionError("json.dumps was called"))
    assert template.encode_reply(reply) == expected


def test_a_reply_with_a_key_the_protocol_does_not_know_is_encoded_by_json_dumps():
    template, reply = a_reply()
    reply["user_note"] = "added later"
    assert template.encode_reply(reply) == json.dumps(reply)


def test_a_tracking_object_with_a_key_the_protocol_does_not_know_is_encoded_by_json_dumps():
    template, reply = a_reply()
    reply["tracking"]["queue_depth"] = 3
    assert template.encode_reply(reply) == json.dumps(reply)


@pytest.mark.parametrize("missing", ["message", "tracking", "tracking.seq", "tracking.resource_name",
                                     "tracking.kind"])
def test_a_reply_missing_a_key_is_encoded_by_json_dumps(missing):
    template, reply = a_reply()
    if missing.startswith("tracking."):
        del reply["tracking"][missing.split(".")[1]]
    else:
        del reply[missing]
    assert template.encode_reply(reply) == json.dumps(reply)


@pytest.mark.parametrize("part", ["reply", "tracking"])
def test_a_reply_with_its_keys_in_another_order_is_encoded_by_json_dumps(part):
    template, reply = a_reply()
    target = reply if part == "reply" else reply["tracking"]
    first = next(iter(target))
    target[first] = target.pop(first)
    assert template.encode_reply(reply) == json.dumps(reply)


def test_a_named_template_puts_the_resource_name_right_after_redelivered():
    template = wire.TrackingTemplate("w", "h", 1, 2, False).named("report.csv")
    tracking = wire.reply_tracking(template.fields, 7, 0, wire.PROGRESS, {"done": 1, "total": 2, "unit": None})
    assert list(tracking) == ["v", "worker", "host", "pid", "seq", "ts", "attempt", "redelivered", "resource_name",
                              "kind", "progress"]
    assert tracking["resource_name"] == "report.csv"


def test_a_template_without_a_name_has_no_resource_name_and_is_shared():
    template = wire.TrackingTemplate("w", "h", 1, 2, False)
    assert template.named(None) is template
    assert "resource_name" not in template.fields


def test_the_protocol_lists_resource_name_right_after_redelivered():
    fields = wire.REPLY_TRACKING_FIELDS
    assert fields[fields.index("redelivered") + 1] == "resource_name"


def test_a_resource_name_is_capped_at_200_characters():
    assert wire.capped_resource_name("n" * 5000) == "n" * 200
    assert wire.capped_resource_name("report.csv") == "report.csv"


@pytest.mark.parametrize("value", [None, "", 42, ["report.csv"], {"name": "x"}])
def test_a_resource_name_that_is_not_a_string_with_text_is_left_out(value):
    assert wire.capped_resource_name(value) is None


def test_a_reply_with_a_resource_name_is_still_accepted_by_both_clowders():
    template, reply = a_reply(wire.TrackingTemplate("w", "h", 1, 1, False).named("n" * 200))
    decoded = json.loads(template.encode_reply(reply))
    assert decoded["tracking"]["resource_name"] == "n" * 200
    assert v1_reply_problems(decoded) == [] and v2_reply_problems(decoded) == []


def test_a_heartbeat_lists_a_jobs_resource_name_after_its_resource_id():
    job = Job(JOB_ID, "f1", resource_name="report.csv", started=0)
    assert list(job.summary()) == ["job_id", "resource_id", "resource_name", "started", "last_event"]
    assert job.summary()["resource_name"] == "report.csv"


def test_a_heartbeat_lists_no_resource_name_for_a_job_without_one():
    assert "resource_name" not in Job(JOB_ID, "f1", started=0).summary()


def test_a_workers_named_template_adds_the_name_to_the_shared_one():
    worker = Worker()
    shared = worker.tracking_template(1, False)
    named = worker.tracking_template(1, False, "report.csv")
    assert named.fields == dict(shared.fields, resource_name="report.csv") and "resource_name" not in shared.fields
