"""Load: three tracked replicas, a mix of Clowder v1 and v2 requests with and without ids, short jobs
of random length, and the recorder taking the tap. Nothing is lost, nothing is counted twice."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import uuid
from datetime import datetime, timezone

import pytest

from pyclowder_jobs.protocol.ids import objectid
from pyclowder_jobs.testing.clowder import file_request
from pyclowder_jobs.store import Store
from tools_builders import folded_jobs, stored_jobs

pytestmark = pytest.mark.broker

FINAL = ("StatusMessage.done", "StatusMessage.error")
WAYS_IN = ["behave/with_mixin.py", "behave/with_decorator.py", "behave/with_auto.py"]
CONSOLE_SCRIPT = shutil.which("pyclowder-jobs", path=os.path.dirname(sys.executable)) or "pyclowder-jobs"


def mixed_requests(queue, count, rng):
    """Requests of every shape; about one in twenty is asked to fail. Returns (bodies, failing ids)."""
    bodies, failing = [], set()
    for number in range(count):
        clowder, with_id = rng.choice([(1, True), (1, False), (2, True)])
        parameters = {"seconds": round(rng.uniform(0, 0.05), 3)}
        if rng.random() < 0.05:
            parameters = {"fail": True}
            failing.add("load-%d" % number)
        bodies.append(file_request(clowder, "http://127.0.0.1:9/", "load-%d" % number, queue=queue,
                                   secret_key="load-secret-key", job_id=objectid() if with_id else None,
                                   parameters=parameters))
    return bodies, failing


@pytest.fixture
def recorder(broker, tmp_path):
    """``pyclowder-jobs record`` on the test's tap, in its own process; stopped with Ctrl-C (SIGINT)."""
    database = tmp_path / "load.sqlite"
    queue = "test.recorder." + uuid.uuid4().hex[:8]
    process = subprocess.Popen([CONSOLE_SCRIPT, "record", "--db", str(database), "--queue", queue,
                                "--bind", broker.queue + ".#"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    broker.collect(lambda b: b.channel.queue_declare(queue=queue, durable=True).method.consumer_count > 0)
    yield process, database
    if process.poll() is None:
        process.kill()
    broker.channel.queue_delete(queue=queue)


def test_every_request_ends_in_exactly_one_finished_job_and_the_record_matches(broker, start_extractor,
                                                                               recorder, soak):
    per_replica = 1000 if soak else 100
    replicas = [start_extractor(script) for script in WAYS_IN]
    bodies, failing = mixed_requests(broker.queue, per_replica * len(replicas), random.Random(11))
    for body in bodies:
        broker.publish(body, persistent=body.get("routing_key") is not None,
                       correlation_id=body.get("routing_key") is not None)
    broker.collect(lambda b: sum(reply["message_type"] in FINAL for _, reply in b.replies) >= len(bodies),
                   timeout=60 + len(bodies) / 10)

    finals = {}
    for _, reply in broker.replies:
        if reply["message_type"] in FINAL:
            assert reply["job_id"] not in finals, "a job finished twice"
            finals[reply["job_id"]] = reply
    assert sorted(reply["file_id"] for reply in finals.values()) == sorted(body["id"] for body in bodies)
    assert {reply["file_id"] for reply in finals.values() if reply["message_type"] == "StatusMessage.error"} == failing
    assert sorted(body_id(raw) for _, raw in broker.error_queue()) == sorted(failing)
    assert len({reply["tracking"]["worker"] for reply in finals.values()}) == len(replicas)

    process, database = recorder
    with Store(database, create=False) as store:
        broker.collect(lambda b: store.counts().get("status", 0) >= len(b.replies), timeout=60)
    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 0, process.stderr.read()
    now = datetime.now(timezone.utc)
    with Store(database, create=False) as store:
        recorded = {job["job_id"]: job for job in stored_jobs(store, now)}
        folded = {job["job_id"]: job for job in folded_jobs(list(store.all_events()), now)}
    assert recorded == folded
    assert set(recorded) == set(finals)
    assert sum(len(job["events"]) for job in recorded.values()) == len(broker.replies)
    assert all(recorded[job_id]["status"] == ("FAILED" if reply["file_id"] in failing else "SUCCEEDED")
               for job_id, reply in finals.items())

    secret = b"load-secret-key"
    assert secret.decode() not in json.dumps([reply for _, reply in broker.replies + broker.heartbeats])
    assert not any(secret.decode() in replica.log() for replica in replicas)
    for path in database.parent.glob(database.name + "*"):
        assert secret not in path.read_bytes()


def body_id(raw):
    return json.loads(raw)["id"]
