"""Hostile input: the extractor never hangs or dies, every message is acked or error-queued,
and the fold reports what it refuses instead of raising."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

import badinput
from pyclowder_jobs.server import group_events
from pyclowder_jobs.testing.clowder import file_request
from pyclowder_jobs.store import Store

CONSOLE_SCRIPT = shutil.which("pyclowder-jobs", path=os.path.dirname(sys.executable)) or "pyclowder-jobs"

FINAL = ("StatusMessage.done", "StatusMessage.error")


@pytest.mark.broker
def test_every_generated_body_is_acked_or_error_queued_and_the_extractor_goes_on(broker, start_extractor, soak):
    count = 2000 if soak else 300
    extractor = start_extractor("behave/with_mixin.py")
    bodies = badinput.bodies(count, seed=5)
    for body in bodies:
        broker.publish(body)
    broker.publish(file_request(1, "http://127.0.0.1:9/", "after-the-storm", queue=broker.queue,
                                secret_key="fuzz-secret-key"))
    broker.collect(broker.finished("after-the-storm"), timeout=60 + count / 10)
    settle(broker)
    extractor.stop()
    assert broker.queue_depth() == 0
    finals = [reply for _, reply in broker.replies if reply["message_type"] in FINAL]
    errors = broker.error_queue()
    done = [reply for reply in finals if reply["message_type"] == "StatusMessage.done"]
    assert len(done) + len(errors) == count + 1
    assert "fuzz-secret-key" not in json.dumps([reply for _, reply in broker.replies])
    assert extractor.process.returncode in (0, -15)


def settle(broker, quiet=2.0):
    """Wait until no reply came for ``quiet`` seconds: retries queued last are done too."""
    last = time.monotonic()
    while time.monotonic() - last < quiet:
        replies = len(broker.replies)
        broker.drain()
        if len(broker.replies) > replies:
            last = time.monotonic()
        time.sleep(0.05)


def test_the_store_keeps_hostile_events_out_of_the_jobs_and_never_raises(tmp_path, soak):
    events = badinput.events(20000 if soak else 3000, seed=8)
    with Store(tmp_path / "hostile.sqlite") as store:
        store.add_events(events)
        counts = store.counts()
        jobs = store.jobs()
    assert counts.get("rejected", 0) > 0
    assert json.loads(json.dumps(jobs)) == jobs


@pytest.mark.broker
def test_the_recorder_counts_malformed_tap_messages_and_goes_on(broker, tmp_path, soak):
    database = tmp_path / "tap.sqlite"
    queue = "test.recorder." + broker.queue[-12:]
    process = subprocess.Popen([CONSOLE_SCRIPT, "record", "--db", str(database), "--queue", queue,
                                "--bind", broker.queue + ".#"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        broker.collect(lambda b: b.channel.queue_declare(queue=queue, durable=True).method.consumer_count > 0)
        count = 1000 if soak else 200
        bodies = badinput.bodies(count, seed=9) + [json.dumps(event).encode()
                                                    for event in badinput.events(count, seed=9)]
        for body in bodies:
            broker.channel.basic_publish(exchange="pyclowder.jobs", routing_key=broker.queue + ".status", body=body)
        broker.collect(lambda b: b.channel.queue_declare(queue=queue, durable=True).method.message_count == 0)
        time.sleep(1)
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0, process.stderr.read()
        summary = process.stdout.read()
        assert "rejected" in summary
    finally:
        if process.poll() is None:
            process.kill()
        broker.channel.queue_delete(queue=queue)
    with Store(database, create=False) as store:
        assert sum(store.counts().values()) > 0


def test_the_fold_never_raises_and_accounts_for_every_hostile_event(soak):
    events = badinput.events(20000 if soak else 3000, seed=7)
    jobs = group_events(events)
    placed = sum(len(job.to_dict()["events"]) for job in jobs)
    assert jobs.rejected and placed
    assert len(jobs.rejected) + jobs.ignored + placed <= len(events)
    assert all(rejection.reason for rejection in jobs.rejected)
    assert json.loads(json.dumps([job.to_dict() for job in jobs]))
