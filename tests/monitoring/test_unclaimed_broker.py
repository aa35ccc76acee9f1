"""Unclaimed jobs for real: requests wait in the queue of a stopped extractor while another extractor beats.

The recorder records both extractors' tap (heartbeats and replies); the SUBMITTED events are what
Clowder stores when it sends a request, added to the store as ``import`` would add them.
"""
import json
import threading
import time
import uuid
from datetime import datetime, timezone

import pika
import pytest

from broker import RABBITMQ_URI, Broker, ExtractorProcess
from pyclowder_jobs.protocol.ids import objectid
from pyclowder_jobs.store import Store
from pyclowder_jobs.testing.clowder import file_request
from pyclowder_jobs.tools.monitoring.metrics import QueueWatch
from pyclowder_jobs.tools.recorder import Recorder

pytestmark = pytest.mark.broker


def wait_for(condition, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


@pytest.fixture
def other(tmp_path):
    """A second extractor queue, with a worker of its own beating every second."""
    broker = Broker("test.pyclowder-jobs.other." + uuid.uuid4().hex[:10])
    process = ExtractorProcess("behave/with_auto.py", broker.queue, tmp_path / "other.log", heartbeat=1)
    process.wait_until_consuming(broker)
    yield broker
    process.stop()
    broker.close()


@pytest.fixture
def recorded(tmp_path, broker, other):
    """A recorder in a thread, on a queue of its own, bound to both extractors' tap; yields the store."""
    queue = "test.pyclowder-jobs.recorder." + uuid.uuid4().hex[:10]
    path = str(tmp_path / "jobs.sqlite")
    recorder = Recorder(path, uri=RABBITMQ_URI, queue=queue, bindings=[broker.queue + ".#", other.queue + ".#"],
                        batch_size=20, flush_every=0.1)
    thread = threading.Thread(target=recorder.run, name="recorder")
    thread.start()
    wait_for(lambda: _exists(broker, queue), "the recorder's queue")
    store = Store(path)
    yield store
    recorder.stop()
    thread.join(30)
    store.close()
    broker.channel.queue_delete(queue=queue)


@pytest.fixture
def unconsumed(broker):
    """A queue no worker ever consumed."""
    name = "test.pyclowder-jobs.nobody." + uuid.uuid4().hex[:10]
    broker.channel.queue_declare(queue=name, durable=True)
    yield name
    broker.channel.queue_delete(queue=name)


def _exists(broker, queue):
    probe = broker.connection.channel()
    try:
        probe.queue_declare(queue=queue, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker:
        return False
    finally:
        if probe.is_open:
            probe.close()


def submit(broker, store, queue, **parameters):
    """Send a request to ``queue`` as Clowder v1 does, and store the SUBMITTED event Clowder keeps of it."""
    job_id, file_id = objectid(), "file-" + uuid.uuid4().hex[:8]
    broker.channel.basic_publish(
        exchange="", routing_key=queue, properties=pika.BasicProperties(delivery_mode=2),
        body=json.dumps(file_request(1, "http://127.0.0.1:9/", file_id, queue=queue, secret_key="s3cr3t",
                                     job_id=job_id, parameters=parameters or None)).encode())
    now = datetime.now(timezone.utc)
    store.add_events([{"_id": {"$oid": objectid()}, "file_id": file_id, "job_id": job_id, "extractor_id": queue,
                       "status": "SUBMITTED", "start": {"$date": now.isoformat(timespec="milliseconds")[:23] + "Z"},
                       "user_id": {"$oid": "7ad73603ab6d3ee946363bb9"}}])
    return job_id


def beating(store, queue):
    return any(beat.get("queue") == queue for beat in store.heartbeats())


def test_requests_for_a_stopped_extractor_are_unclaimed_until_a_worker_starts_them(
        broker, other, recorded, start_extractor, unconsumed):
    store = recorded
    worker = start_extractor("behave/with_auto.py", heartbeat=1)
    wait_for(lambda: beating(store, broker.queue) and beating(store, other.queue), "both extractors' heartbeats")
    running = submit(broker, store, broker.queue, seconds=5, steps=5)
    queued = [submit(broker, store, broker.queue) for _ in range(2)]
    wait_for(lambda: (store.job(running) or {}).get("started"), "the first job to start")
    assert [store.job(job_id)["unclaimed"] for job_id in queued] == [False, False]  # a worker is alive

    worker.stop()  # the worker goes away after the submission...
    queued.append(submit(broker, store, broker.queue))  # ...and a request comes while it is away
    never = submit(broker, store, unconsumed)
    flagged = wait_for(lambda: {job["job_id"] for job in store.jobs(status="UNCLAIMED")} == set(queued),
                       "the waiting jobs to be flagged unclaimed", timeout=30)
    figures = store.metrics()

    assert flagged
    assert {job_id: store.job(job_id)["status"] for job_id in queued} == dict.fromkeys(queued, "SUBMITTED")
    assert figures["unclaimed"] == {broker.queue: 3}
    assert figures["workers_up"].get(broker.queue, 0) == 0 and figures["workers_up"][other.queue] == 1
    assert store.job(never)["unclaimed"] is None  # no heartbeat of that extractor was ever seen

    start_extractor("behave/with_auto.py", heartbeat=1)
    wait_for(lambda: all(store.job(job_id)["status"] == "SUCCEEDED" for job_id in queued), "the queued jobs to run")

    assert [store.job(job_id)["unclaimed"] for job_id in queued] == [False, False, False]
    assert store.jobs(status="UNCLAIMED") == []
    assert store.metrics()["unclaimed"] == {}


def test_the_queue_watch_sees_requests_waiting_in_a_queue_nobody_consumes(broker, unconsumed):
    for _ in range(2):
        broker.channel.basic_publish(exchange="", routing_key=unconsumed, body=b"{}")
    watch = QueueWatch(RABBITMQ_URI, lambda: [unconsumed, broker.queue, "test.pyclowder-jobs.no-such-queue"],
                       interval=0.2).start()
    try:
        found = wait_for(lambda: watch.figures().get(unconsumed) == (2, 0) and watch.figures(), "the queue figures")
    finally:
        watch.stop()

    assert found == {unconsumed: (2, 0), broker.queue: (0, 0)}
