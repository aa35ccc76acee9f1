"""record and watch against the real broker, fed by real tracked extractor processes.

Each test binds only its own extractor's routing keys (``<queue>.#``) and uses a recorder queue of
its own, deleted at the end, so that other users of the broker neither disturb nor are disturbed.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone

import pika
import pytest

from broker import RABBITMQ_URI
from pyclowder_jobs.protocol.ids import objectid
from pyclowder_jobs.testing.clowder import file_request
from pyclowder_jobs.store import Store, StoreError
from pyclowder_jobs.tools.recorder import Recorder
import tools_builders
from tools_builders import finished_job, folded_jobs, tap_heartbeat, tap_status

pytestmark = pytest.mark.broker

HOST = "http://127.0.0.1:9/"
SECRET = "s3cr3t-" + "k3y" * 6


def request(broker, job_id, **parameters):
    return file_request(1, HOST, "file-" + job_id[-6:], queue=broker.queue, secret_key=SECRET, job_id=job_id,
                        parameters=parameters or None)


def command(*argv):
    return [sys.executable, "-m", "pyclowder_jobs.tools.cli", *argv]


class RecorderProcess:
    """``pyclowder-jobs record`` in a subprocess, on a queue of its own, bound to one extractor's events."""

    def __init__(self, db, queue, binding, tmp_path):
        self.db, self.queue = str(db), queue
        self.out = open(tmp_path / ("record-%s.out" % uuid.uuid4().hex[:6]), "w+")
        self.process = subprocess.Popen(
            command("record", "--db", self.db, "--queue", queue, "--bind", binding, "--rabbitmq-uri", RABBITMQ_URI,
                    "--batch-size", "50"), stdout=self.out, stderr=subprocess.STDOUT, text=True)

    def stop(self, how=signal.SIGINT):
        self.process.send_signal(how)
        code = self.process.wait(30)
        self.out.seek(0)
        return code, self.out.read()


@pytest.fixture
def recorder_queue():
    name = "test.pyclowder-jobs.recorder." + uuid.uuid4().hex[:10]
    yield name
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URI))
    connection.channel().queue_delete(queue=name)
    connection.close()


@pytest.fixture
def record(tmp_path, broker, recorder_queue):
    """Start recorders on the test's database and queue; any still running are stopped at the end."""
    started = []

    def start():
        recorder = RecorderProcess(tmp_path / "jobs.sqlite", recorder_queue, broker.queue + ".#", tmp_path)
        started.append(recorder)
        wait_for(lambda: queue_exists(broker, recorder_queue), "the recorder's queue")
        return recorder

    yield start
    for recorder in started:
        if recorder.process.poll() is None:
            recorder.stop(signal.SIGKILL)


def queue_exists(broker, name):
    probe = broker.connection.channel()
    try:
        probe.queue_declare(queue=name, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker:
        return False
    finally:
        if probe.is_open:
            probe.close()


def wait_for(condition, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def stored_jobs(db, job_ids, finished=True):
    """The jobs of ``job_ids`` once all are in the database (and finished), else None."""
    try:
        store = Store(db, create=False)
    except StoreError:
        return None
    try:
        jobs = {job_id: store.job(job_id) for job_id in job_ids}
    finally:
        store.close()
    if any(job is None or (finished and job["status"] not in ("SUCCEEDED", "FAILED", "SKIPPED"))
           for job in jobs.values()):
        return None
    return jobs


def test_record_keeps_each_job_of_a_real_extractor_with_its_status_attempts_and_worker(
        tmp_path, broker, start_extractor, record):
    start_extractor("behave/with_mixin.py")
    recorder = record()
    ids = {name: objectid() for name in ("steps", "fail", "retry", "skip")}
    broker.publish(request(broker, ids["steps"], seconds=1, steps=4))
    broker.publish(request(broker, ids["fail"], fail=True))
    broker.publish(request(broker, ids["retry"], retry=True))
    broker.publish(request(broker, ids["skip"], skip=True))
    jobs = wait_for(lambda: stored_jobs(recorder.db, ids.values()), "four finished jobs")
    code, output = recorder.stop()

    assert code == 0
    assert "recorded" in output.splitlines()[-1] and "0 rejected" in output
    assert {name: jobs[job_id]["status"] for name, job_id in ids.items()} == {
        "steps": "SUCCEEDED", "fail": "FAILED", "retry": "SUCCEEDED", "skip": "SKIPPED"}
    assert jobs[ids["retry"]]["attempts"] == 2
    assert jobs[ids["steps"]]["progress"] == {"done": 4, "total": 4, "unit": "steps"}
    assert jobs[ids["steps"]]["run_time"] >= 1
    workers = {worker for job in jobs.values() for worker in job["workers"]}
    store = Store(recorder.db, create=False)
    assert workers == {beat["id"] for beat in store.heartbeats()}
    assert len(workers) == 1
    kinds = [event["tracking"]["kind"] for event in store.raw_events(ids["steps"])]
    assert "log" in kinds and kinds.count("progress") >= 1
    everything = list(store.all_events())
    now = datetime.now(timezone.utc)
    assert tools_builders.stored_jobs(store, now) == folded_jobs(everything, now)
    store.close()


def test_a_recorder_that_crashes_or_stops_mid_stream_loses_nothing(tmp_path, broker, start_extractor, record):
    tap = broker.bind_tap(broker.queue + ".#")
    first = record()  # before the extractor, so that both see its first heartbeat
    start_extractor("behave/with_mixin.py")
    ids = [objectid() for _ in range(12)]
    for job_id in ids[:6]:
        broker.publish(request(broker, job_id, seconds=0.3, steps=3))
    time.sleep(1.0)
    first.stop(signal.SIGKILL)  # a crash: what it had not committed is redelivered
    for job_id in ids[6:9]:
        broker.publish(request(broker, job_id, seconds=0.2, steps=2))
    time.sleep(1.0)
    second = record()
    for job_id in ids[9:]:
        broker.publish(request(broker, job_id))
    time.sleep(0.5)
    code, _ = second.stop()  # Ctrl-C while jobs are still running
    assert code == 0
    third = record()
    wait_for(lambda: stored_jobs(third.db, ids), "every job, finished")
    broker.collect(lambda b: all(b.finished("file-" + job_id[-6:])(b) for job_id in ids))
    time.sleep(1.0)  # the last tap copies follow the last replies
    broker.collect(lambda b: True)
    code, output = third.stop()

    assert code == 0
    sent = {(event.get("tracking", {}).get("worker") or event["id"], event["tracking"]["seq"]) for _, event in tap}
    store = Store(third.db, create=False)
    kept = [(event.get("tracking", {}).get("worker") or event["id"], event["tracking"]["seq"])
            for event in store.all_events()]
    assert sent <= set(kept)
    assert len(kept) == len(set(kept))  # redelivered copies were skipped, not stored twice
    assert {job["status"] for job in store.jobs()} == {"SUCCEEDED"}
    store.close()


def test_malformed_messages_are_counted_acked_and_kept_in_the_rejected_table(tmp_path, broker, record, recorder_queue):
    recorder = record()
    channel = broker.channel
    for body in (b"not json", b"[1, 2]", json.dumps({"neither": "status nor heartbeat"}).encode()):
        channel.basic_publish(exchange="pyclowder.jobs", routing_key=broker.queue + ".status", body=body)
    wait_for(lambda: channel.queue_declare(queue=recorder_queue, passive=True).method.message_count == 0
             and os.path.exists(recorder.db), "the recorder to take the messages")
    time.sleep(1.0)
    code, output = recorder.stop()

    assert code == 0
    assert "3 rejected" in output.splitlines()[-1]
    assert channel.queue_declare(queue=recorder_queue, passive=True).method.message_count == 0
    store = Store(recorder.db, create=False)
    assert store.jobs() == []
    assert store.counts().get("rejected") == 3
    assert {row["source"] for row in store.rejected()} == {"recorder"}
    store.close()


def test_watch_once_shows_running_jobs_with_progress_recent_finishes_and_workers(tmp_path, broker, start_extractor):
    start_extractor("behave/with_mixin.py")
    watch = subprocess.Popen(command("watch", "--once", "7", "--bind", broker.queue + ".#",
                                     "--rabbitmq-uri", RABBITMQ_URI),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, COLUMNS="250"))  # wide enough for the test's long queue name
    time.sleep(2.0)  # the watcher binds its queue; what is sent before that is not its to see
    quick, slow = objectid(), objectid()
    broker.publish(request(broker, quick))
    broker.publish(request(broker, slow, seconds=12, steps=6))
    out, err = watch.communicate(timeout=60)

    assert watch.returncode == 0, err
    running = out[out.index("Running"):out.index("Finished")]
    finished = out[out.index("Finished"):out.index("Workers")]
    workers = out[out.index("Workers"):]
    assert slow in running and "/6 steps" in running
    assert quick in finished and "SUCCEEDED" in finished
    assert "Workers (1)" in workers and "ago" in workers


def test_watch_prints_one_tap_event_full_of_markup_and_escape_sequences_as_text(broker):
    watch = subprocess.Popen(command("watch", "--once", "5", "--bind", broker.queue + ".#",
                                     "--rabbitmq-uri", RABBITMQ_URI),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, COLUMNS="250"))
    time.sleep(2.0)  # the watcher binds its queue
    event = tap_status(objectid(), "StatusMessage.start", 0, extractor="[/bold]",
                       worker="\x1b]0;title\x07\x1b[2Jworker-\u202e", message="\x1b]52;c;ZXZpbA==\x07[i]x[/i]")
    beat = tap_heartbeat("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", 0)
    beat["tracking"]["host"] = "[i]host[/i]\x9b31m"
    for kind, body in (("status", event), ("heartbeat", beat)):
        broker.channel.basic_publish(exchange="pyclowder.jobs", routing_key="%s.%s" % (broker.queue, kind),
                                     body=json.dumps(event if kind == "status" else body))
    out, err = watch.communicate(timeout=60)

    assert watch.returncode == 0, err
    shown = out.decode("utf-8")
    assert "[/bold]" in shown and "[i]host[/i]" in shown and "link" in shown and "Workers (1)" in shown
    assert not any(escape in shown for escape in ("\x1b", "\x07", "\x9b"))


def test_watch_with_an_unreachable_broker_exits_2_naming_it(tmp_path):
    found = subprocess.run(command("watch", "--once", "1", "--rabbitmq-uri", "amqp://guest:pw@127.0.0.1:1/%2f"),
                           capture_output=True, text=True, timeout=60)
    assert found.returncode == 2
    assert "cannot reach the broker at amqp://guest@127.0.0.1:1/%2f" in found.stderr


def test_a_recorder_in_a_thread_commits_what_it_took_when_asked_to_stop(tmp_path, broker, recorder_queue):
    recorder = Recorder(str(tmp_path / "jobs.sqlite"), uri=RABBITMQ_URI, queue=recorder_queue,
                        bindings=[broker.queue + ".#"], batch_size=7)
    thread = threading.Thread(target=recorder.run)
    thread.start()
    wait_for(lambda: queue_exists(broker, recorder_queue), "the recorder's queue")
    events = [event for number in range(10) for event in finished_job("job-%d" % number, number, 1)]
    for event in events:
        broker.channel.basic_publish(exchange="pyclowder.jobs", routing_key=broker.queue + ".status",
                                     body=json.dumps(event))
    wait_for(lambda: recorder.summary.received == len(events), "every event")
    recorder.stop()
    thread.join(30)

    assert not thread.is_alive()
    assert (recorder.summary.new, recorder.summary.duplicates, recorder.summary.rejected) == (20, 0, 0)
    store = Store(tmp_path / "jobs.sqlite", create=False)
    assert [job["status"] for job in store.jobs()] == ["SUCCEEDED"] * 10
    store.close()
