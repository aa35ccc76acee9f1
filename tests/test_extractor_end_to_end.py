"""The tracked extractor, end to end: real extractor processes, real pyClowder, the real broker.

Every scenario runs for each of the three ways in (the connector mixin, the class decorator and
``import pyclowder_jobs.auto``), and every reply and heartbeat is checked against what Clowder v1
and v2 accept.
"""

import json
import re

import pytest

from clowder_rules import v1_heartbeat_problems, v1_reply_problems, v2_reply_problems
from pyclowder_jobs.testing.clowder import file_request

pytestmark = pytest.mark.broker

HOST = "http://127.0.0.1:9/"
SECRET = "s3cr3t-" + "k3y" * 6
WAYS_IN = ["behave/with_mixin.py", "behave/with_decorator.py", "behave/with_auto.py"]
OBJECT_ID = re.compile(r"[0-9a-f]{24}")


@pytest.fixture(params=WAYS_IN, ids=["mixin", "decorator", "auto"])
def extractor(request, start_extractor):
    return start_extractor(request.param)


def request_for(broker, file_id, clowder=1, job_id=None, **parameters):
    return file_request(clowder, HOST, file_id, queue=broker.queue, secret_key=SECRET, job_id=job_id,
                        parameters=parameters or None)


def assert_accepted_by_clowder(replies):
    for reply in replies:
        assert v1_reply_problems(reply) == []
        assert v2_reply_problems(reply) == []


def test_an_incoming_v1_jobid_is_kept_on_every_reply(broker, extractor):
    broker.publish(request_for(broker, "file-a", job_id="5c8a6c70a1b2c3d4e5000010"))
    broker.collect(broker.finished("file-a"))
    replies = broker.replies_for("file-a")
    assert [r["message_type"] for r in replies] == ["StatusMessage.start", "StatusMessage.done"]
    assert {r["job_id"] for r in replies} == {"5c8a6c70a1b2c3d4e5000010"}
    assert_accepted_by_clowder(replies)


def test_an_incoming_v2_job_id_is_kept_on_every_reply(broker, extractor):
    broker.publish(request_for(broker, "file-b", clowder=2, job_id="6b02ce12be89bcb317f632cf"),
                   persistent=False, correlation_id=False)
    broker.collect(broker.finished("file-b"))
    assert {r["job_id"] for r in broker.replies_for("file-b")} == {"6b02ce12be89bcb317f632cf"}
    assert_accepted_by_clowder(broker.replies_for("file-b"))


def test_a_request_without_an_id_gets_a_new_objectid_shared_by_its_replies(broker, extractor):
    broker.publish(request_for(broker, "file-c"))
    broker.publish(request_for(broker, "file-d"))
    broker.collect(lambda b: b.finished("file-c")(b) and b.finished("file-d")(b))
    ids_c = {r["job_id"] for r in broker.replies_for("file-c")}
    ids_d = {r["job_id"] for r in broker.replies_for("file-d")}
    assert len(ids_c) == 1 and len(ids_d) == 1 and ids_c != ids_d
    assert OBJECT_ID.fullmatch(ids_c.pop())
    assert_accepted_by_clowder(broker.replies_for("file-c"))


def test_replies_keep_pyclowders_fields_in_order_and_add_tracking(broker, extractor):
    broker.publish(request_for(broker, "file-e"))
    broker.collect(broker.finished("file-e"))
    properties, reply = next((p, r) for p, r in broker.replies if r["file_id"] == "file-e")
    assert list(reply) == ["file_id", "extractor_id", "job_id", "status", "start", "message_type", "message",
                           "tracking"]
    assert reply["extractor_id"] == broker.queue
    assert reply["status"] == "StatusMessage.start: Started processing."
    assert reply["start"].endswith("+00:00") and len(reply["start"]) == 25
    tracking = reply["tracking"]
    assert set(tracking) == {"v", "worker", "host", "pid", "seq", "ts", "attempt", "redelivered", "resource_name",
                             "kind"}
    assert tracking["v"] == 1 and tracking["kind"] == "status" and tracking["attempt"] == 1
    assert tracking["redelivered"] is False
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", tracking["ts"])
    assert properties.delivery_mode == 2 and properties.correlation_id


def test_sequence_numbers_grow_across_a_workers_replies(broker, extractor):
    for name in ("seq-1", "seq-2"):
        broker.publish(request_for(broker, name))
    broker.collect(lambda b: b.finished("seq-1")(b) and b.finished("seq-2")(b))
    seqs = [r["tracking"]["seq"] for name in ("seq-1", "seq-2") for r in broker.replies_for(name)]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert len({r["tracking"]["worker"] for _, r in broker.replies}) == 1


def test_a_failing_job_sends_an_error_and_its_body_reaches_the_error_queue_with_its_id(broker, extractor):
    broker.publish(request_for(broker, "file-f", fail=True))
    broker.collect(broker.finished("file-f"))
    replies = broker.replies_for("file-f")
    assert replies[-1]["message_type"] == "StatusMessage.error"
    errors = broker.error_queue()
    assert len(errors) == 1
    assert json.loads(errors[0][1])["jobid"] == replies[-1]["job_id"]
    assert_accepted_by_clowder(replies)


def test_a_retried_job_keeps_its_id_and_counts_attempts(broker, extractor):
    broker.publish(request_for(broker, "file-g", retry=True))
    broker.collect(broker.finished("file-g", final=("StatusMessage.done",)))
    replies = broker.replies_for("file-g")
    assert [(r["message_type"], r["tracking"]["attempt"]) for r in replies] == [
        ("StatusMessage.start", 1), ("StatusMessage.retry", 1),
        ("StatusMessage.start", 2), ("StatusMessage.done", 2)]
    assert len({r["job_id"] for r in replies}) == 1
    assert broker.error_queue() == []


def test_a_skipped_job_sends_skip_then_done(broker, extractor):
    broker.publish(request_for(broker, "file-h", skip=True))
    broker.collect(broker.finished("file-h"))
    assert [r["message_type"] for r in broker.replies_for("file-h")] == [
        "StatusMessage.start", "StatusMessage.skip", "StatusMessage.done"]


def test_heartbeats_list_a_long_job_while_it_runs_and_not_after(broker, extractor):
    broker.publish(request_for(broker, "file-long", seconds=3.5, steps=2))
    broker.collect(broker.finished("file-long"))
    job_id = broker.replies_for("file-long")[0]["job_id"]
    start_seq = broker.replies_for("file-long")[0]["tracking"]["seq"]
    done_seq = broker.replies_for("file-long")[-1]["tracking"]["seq"]
    broker.collect(lambda b: any(h["tracking"]["seq"] > done_seq for _, h in b.heartbeats))
    beats = [h for _, h in broker.heartbeats]
    during = [h for h in beats if start_seq < h["tracking"]["seq"] < done_seq]
    after = [h for h in beats if h["tracking"]["seq"] > done_seq]
    assert len(during) >= 2
    for beat in during:
        assert [job["job_id"] for job in beat["tracking"]["jobs"]] == [job_id]
        assert beat["tracking"]["jobs"][0]["resource_id"] == "file-long"
    assert all(beat["tracking"]["jobs"] == [] for beat in after)
    assert after[-1]["tracking"]["processed"] >= 1


def test_heartbeats_keep_pyclowders_fields_and_the_workers_id(broker, extractor):
    broker.publish(request_for(broker, "file-i"))
    broker.collect(broker.finished("file-i"))
    broker.collect(lambda b: b.heartbeats)
    beat = broker.heartbeats[0][1]
    assert v1_heartbeat_problems(beat) == []
    assert beat["id"] == broker.replies_for("file-i")[0]["tracking"]["worker"]
    assert beat["extractor_info"]["name"] == broker.queue
    assert set(beat["tracking"]) == {"v", "host", "pid", "interval", "ts", "seq", "processed", "jobs"}
    assert beat["tracking"]["interval"] == 1


def test_progress_is_coalesced_and_the_last_call_is_always_sent(broker, extractor):
    broker.publish(request_for(broker, "file-p", seconds=1.5, steps=30))
    broker.collect(broker.finished("file-p"))
    progress = [r for r in broker.replies_for("file-p") if r["tracking"]["kind"] == "progress"]
    assert 1 <= len(progress) <= 4
    assert progress[-1]["message"] == "30/30 steps (100%)"
    assert progress[-1]["tracking"]["progress"] == {"done": 30, "total": 30, "unit": "steps"}
    assert progress[-1]["message_type"] == "StatusMessage.processing"
    assert_accepted_by_clowder(progress)


def test_log_lines_of_a_job_carry_its_id_from_any_logger(broker, extractor):
    broker.publish(request_for(broker, "file-l", job_id="5c8a6c70a1b2c3d4e50000ff"))
    broker.collect(broker.finished("file-l"))
    log = extractor.log()
    assert re.search(r"\[5c8a6c70a1b2c3d4e50000ff\] : behave - working on file-l", log)
    assert re.search(r"\[5c8a6c70a1b2c3d4e50000ff\] : some.library - a library logs", log)
    assert re.search(r"\[5c8a6c70a1b2c3d4e50000ff\] : pyclowder.connectors - \[file-l\] : StatusMessage.done", log)
    assert re.search(r"\[-\] : pyclowder.connectors - Starting to listen", log)


def test_bodies_that_cannot_be_read_go_to_the_error_queue_with_one_warning(broker, extractor):
    bad = [b"\xff\xfe not json", b"[1, 2, 3]", b'"just a string"', b"{" * 100000]
    for body in bad:
        broker.publish(body)
    broker.publish(request_for(broker, "file-after"))
    broker.collect(broker.finished("file-after"))
    assert sorted(body for _, body in broker.error_queue()) == sorted(bad)
    assert extractor.log().count("refused:") == len(bad)
    assert extractor.process.poll() is None


def test_a_hostile_job_id_is_replaced_and_reported_without_echoing_it(broker, extractor):
    hostile = "../../etc/passwd;" + "x" * 5000
    broker.publish(request_for(broker, "file-x", job_id="placeholder") | {"jobid": hostile})
    broker.collect(broker.finished("file-x"))
    replies = broker.replies_for("file-x")
    assert OBJECT_ID.fullmatch(replies[0]["job_id"])
    log = extractor.log()
    assert "ignoring jobid=" in log
    assert "x" * 100 not in log
    assert_accepted_by_clowder(replies)


def test_a_non_utf8_body_is_read_as_latin1_and_processed_with_a_warning(broker, extractor):
    body = json.dumps(request_for(broker, "file-\u00e9"), ensure_ascii=False).encode("iso-8859-1")
    broker.publish(body)
    broker.collect(broker.finished("file-\u00e9"))
    assert "is not UTF-8" in extractor.log()


def test_the_secret_key_appears_in_no_reply_heartbeat_or_warning(broker, extractor):
    broker.publish(request_for(broker, "file-s", job_id="not a valid id!"))
    broker.publish(b"not json " + SECRET.encode())
    broker.collect(broker.finished("file-s"))
    assert SECRET not in json.dumps([r for _, r in broker.replies] + [h for _, h in broker.heartbeats])
    warnings = [line for line in extractor.log().splitlines() if "pyclowder_jobs" in line]
    assert warnings and not any(SECRET in line for line in warnings)


def test_the_tap_gets_a_copy_of_every_status_progress_log_and_heartbeat(broker, extractor):
    tap = broker.bind_tap("%s.#" % broker.queue)
    broker.publish(request_for(broker, "file-t", seconds=1.2, steps=2))
    broker.collect(broker.finished("file-t"))
    broker.collect(lambda b: {"status", "progress", "log", "heartbeat"} <= {key.rsplit(".", 1)[1] for key, _ in tap}
                   and any(event.get("message_type") == "StatusMessage.done" for _, event in tap))
    statuses = [event for key, event in tap if key == broker.queue + ".status"]
    assert [e["message"] for e in statuses] == [r["message"] for r in broker.replies_for("file-t")
                                                if r["tracking"]["kind"] == "status"]
    logs = [event for key, event in tap if key == broker.queue + ".log"]
    job_id = broker.replies_for("file-t")[0]["job_id"]
    assert {"behave", "some.library"} <= {e["logger"] for e in logs if e["job_id"] == job_id}
    assert all(e["tracking"]["kind"] == "log" for e in logs)
    assert SECRET not in json.dumps([event for _, event in tap])


def test_replies_log_events_and_heartbeats_carry_the_requests_file_name(broker, extractor):
    tap = broker.bind_tap("%s.#" % broker.queue)
    name = "r\u00e9sum\u00e9 \"final\" " + "n" * 300
    broker.publish(file_request(1, HOST, "file-n", queue=broker.queue, secret_key=SECRET, filename=name,
                                parameters={"seconds": 1.5}))
    broker.collect(broker.finished("file-n"))
    capped = name[:200]
    replies = broker.replies_for("file-n")
    assert {reply["tracking"]["resource_name"] for reply in replies} == {capped}
    assert_accepted_by_clowder(replies)
    broker.collect(lambda b: any(key.endswith(".log") and event["file_id"] == "file-n" for key, event in tap))
    assert {event["tracking"]["resource_name"] for key, event in tap
            if key.endswith(".log") and event["file_id"] == "file-n"} == {capped}

    def listed(b):
        return [job for _, beat in b.heartbeats for job in beat["tracking"]["jobs"] if job["resource_id"] == "file-n"]

    broker.collect(listed)
    assert {job["resource_name"] for job in listed(broker)} == {capped}


def test_a_tap_that_cannot_be_declared_does_not_disturb_the_extractor(broker, start_extractor):
    taken = broker.queue + ".fanout"
    broker.channel.exchange_declare(exchange=taken, exchange_type="fanout")
    try:
        extractor = start_extractor("behave/with_mixin.py", env={"PYCLOWDER_JOBS_TAP_EXCHANGE": taken})
        for name in ("tap-1", "tap-2"):
            broker.publish(request_for(broker, name))
        broker.collect(lambda b: b.finished("tap-1")(b) and b.finished("tap-2")(b))
        assert "Could not publish to the event tap" in extractor.log()
        assert extractor.process.poll() is None
    finally:
        broker.channel.exchange_delete(exchange=taken)
