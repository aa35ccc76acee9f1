"""A broker restart, on a RabbitMQ node of the test's own (``stop_app``/``start_app``, and a full node
restart): the tracked extractor and the recorder ride it out without a process restart, the job it
cut is run again and linked to its first run, nothing is lost, and the recorder's backlog survives.
Past the reconnect timeout both give up with a non-zero exit status, for a supervisor to act on."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone

import pika
import pika.exceptions
import pytest

from broker import ExtractorProcess
from pyclowder_jobs.store import Store
from pyclowder_jobs.testing.clowder import file_request

CONSOLE_SCRIPT = shutil.which("pyclowder-jobs", path=os.path.dirname(sys.executable)) or "pyclowder-jobs"
HOST = "http://127.0.0.1:9/"
DONE = "StatusMessage.done"


class Clowder:
    """Clowder's side on the private node: durable queues, persistent requests, replies collected;
    it connects again after a restart when asked to."""

    def __init__(self, rabbit, queue):
        self.rabbit = rabbit
        self.queue = queue
        self.replies_queue = "replies." + queue
        self.replies = []
        self.connect()

    def connect(self):
        self.connection = self.rabbit.connect()
        self.channel = self.connection.channel()
        for name in (self.queue, "error." + self.queue, self.replies_queue):
            self.channel.queue_declare(queue=name, durable=True)

    def publish(self, file_id, **parameters):
        body = file_request(1, HOST, file_id, queue=self.queue, secret_key="restart-secret-key",
                            parameters=parameters or None)
        properties = pika.BasicProperties(delivery_mode=2, reply_to=self.replies_queue,
                                          correlation_id=str(uuid.uuid4()))
        self.channel.basic_publish(exchange="", routing_key=self.queue, body=json.dumps(body), properties=properties)

    def collect(self, until, timeout=60.0):
        deadline = time.monotonic() + timeout
        while not until(self):
            if time.monotonic() > deadline:
                raise AssertionError("timed out with %d replies, the last %s" % (
                    len(self.replies), [(r["file_id"], r["message_type"]) for r in self.replies[-5:]]))
            method, _, body = self.channel.basic_get(self.replies_queue, auto_ack=True)
            if method is None:
                self.connection.sleep(0.05)
            else:
                self.replies.append(json.loads(body))

    def replies_for(self, file_id):
        return [reply for reply in self.replies if reply["file_id"] == file_id]

    def done(self, *file_ids):
        return lambda clowder: all(DONE in [r["message_type"] for r in clowder.replies_for(f)] for f in file_ids)

    def consumers(self, queue):
        return self.channel.queue_declare(queue=queue, durable=True, passive=True).method.consumer_count

    def waiting(self, queue):
        return self.channel.queue_declare(queue=queue, durable=True, passive=True).method.message_count

    def wait_for(self, condition, what, timeout=60.0):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for " + what)
            self.connection.sleep(0.1)

    def close(self):
        try:
            self.connection.close()
        except pika.exceptions.AMQPError:
            pass


@pytest.fixture
def clowder(rabbit):
    found = Clowder(rabbit, "test.restart." + uuid.uuid4().hex[:8])
    yield found
    found.close()


@pytest.fixture
def start(rabbit, clowder, tmp_path):
    """Start a process on the private node: an extractor (``start("behave/with_mixin.py")``) or the
    recorder (``start("record", queue=...)``); each is stopped when the test ends."""
    started = []

    def run(what, reconnect_timeout=60, queue=None, env=None):
        environment = {"RABBITMQ_URI": rabbit.uri, "PYCLOWDER_JOBS_RECONNECT_TIMEOUT": str(reconnect_timeout)}
        environment.update(env or {})
        if what == "record":
            process = subprocess.Popen([CONSOLE_SCRIPT, "record", "--db", str(tmp_path / "jobs.sqlite"), "--queue",
                                        queue, "--rabbitmq-uri", rabbit.uri, "--bind", clowder.queue + ".#"],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       env=dict(os.environ, **environment))
            started.append(process)
            clowder.wait_for(lambda: _declared(clowder, queue) and clowder.consumers(queue), "the recorder")
            return process
        extractor = ExtractorProcess(what, clowder.queue, tmp_path / ("extractor-%d.log" % len(started)),
                                     heartbeat=1, env=environment)
        started.append(extractor.process)
        clowder.wait_for(lambda: clowder.consumers(clowder.queue) > 0 or extractor.process.poll() is not None,
                         "the extractor")
        assert extractor.process.poll() is None, extractor.log()
        return extractor

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def _declared(clowder, queue):
    try:
        clowder.waiting(queue)
        return True
    except pika.exceptions.ChannelClosedByBroker:
        clowder.channel = clowder.connection.channel()
        return False


def stop_recorder(process):
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out


def recorded_jobs(path, resource):
    with Store(path, create=False) as store:
        return [job for job in store.jobs(now=datetime.now(timezone.utc)) if job["resource_id"] == resource]


def heartbeat_time(path):
    """The time of the latest stored heartbeat (ISO text), or ""."""
    with Store(path, create=False) as store:
        return max((beat["tracking"]["ts"] for beat in store.heartbeats()), default="")


def test_a_tracked_extractor_and_the_recorder_ride_out_a_broker_restart_and_the_cut_job_is_run_again(
        rabbit, clowder, start, tmp_path):
    recorder = start("record", queue="recorder." + clowder.queue)
    extractor = start("behave/with_mixin.py")
    clowder.publish("before")
    clowder.collect(clowder.done("before"))
    clowder.publish("cut", seconds=3, steps=3)
    clowder.collect(lambda c: c.replies_for("cut"))

    rabbit.stop_app()
    time.sleep(1.0)
    rabbit.start_app()
    back = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    clowder.connect()
    clowder.publish("after")
    clowder.collect(clowder.done("cut", "after"))

    assert extractor.process.poll() is None  # never restarted
    assert [r["message_type"] for r in clowder.replies].count(DONE) == 3
    redone = [r for r in clowder.replies_for("cut") if r["tracking"]["redelivered"]]
    assert redone and redone[-1]["message_type"] == DONE
    database = tmp_path / "jobs.sqlite"
    clowder.wait_for(lambda: len(recorded_jobs(database, "after")) == 1, "the recorder to store the last job")
    first, second = sorted(recorded_jobs(database, "cut"), key=lambda job: job["started"])
    assert (first["status"], first["superseded_by"]) == ("LOST", second["job_id"])
    assert second["status"] == "SUCCEEDED"
    assert [job["status"] for job in recorded_jobs(database, "before")] == ["SUCCEEDED"]
    with Store(database, create=False) as store:
        kept = {(e["tracking"]["worker"], e["tracking"]["seq"]) for e in store.all_events() if "job_id" in e}
    assert {(r["tracking"]["worker"], r["tracking"]["seq"]) for r in clowder.replies} <= kept  # nothing lost
    clowder.wait_for(lambda: heartbeat_time(database) > back, "a heartbeat sent after the restart")
    assert "reconnected to the broker 1 times" in stop_recorder(recorder)
    assert "Reconnected to the broker" in extractor.log()


def test_the_recorders_backlog_survives_a_full_restart_of_the_node(rabbit, clowder, start, tmp_path):
    queue = "recorder." + clowder.queue
    stop_recorder(start("record", queue=queue))  # its durable queue stays, bound to the tap
    extractor = start("behave/with_mixin.py")
    names = ["backlog-%d" % number for number in range(8)]
    for name in names:
        clowder.publish(name)
    clowder.collect(clowder.done(*names))
    extractor.process.send_signal(signal.SIGTERM)
    extractor.process.wait(10)
    backlog = clowder.waiting(queue)

    clowder.close()
    rabbit.stop()
    rabbit.start()
    clowder.connect()

    assert backlog >= len(clowder.replies) and clowder.waiting(queue) == backlog
    recorder = start("record", queue=queue)
    clowder.wait_for(lambda: clowder.waiting(queue) == 0, "the recorder to take its backlog")
    stop_recorder(recorder)
    with Store(tmp_path / "jobs.sqlite", create=False) as store:
        assert sum(store.counts().get(kind, 0) for kind in ("status", "heartbeat", "log")) == backlog
        assert sorted(job["resource_id"] for job in store.jobs() if job["status"] == "SUCCEEDED") == sorted(names)


def test_past_the_reconnect_timeout_the_extractor_and_the_recorder_exit_non_zero(rabbit, clowder, start):
    extractor = start("behave/with_mixin.py", reconnect_timeout=6)
    recorder = start("record", queue="recorder." + clowder.queue, reconnect_timeout=6)

    rabbit.stop_app()
    try:
        time.sleep(1.0)
        assert extractor.process.poll() is None and recorder.poll() is None  # still trying
        extractor.process.wait(30)
        recorder.wait(30)
    finally:
        rabbit.start_app()

    assert extractor.process.returncode == 75, extractor.log()
    assert "could not reconnect to the broker at 127.0.0.1:%d within 6 s" % rabbit.port in extractor.log()
    assert "restarts the extractor" in extractor.log()
    assert recorder.returncode == 2
    assert "could not reconnect within 6 s" in recorder.stderr.read()


def test_under_load_broker_restarts_lose_no_request_and_no_event(rabbit, clowder, start, tmp_path, soak):
    if not soak:
        pytest.skip("restarts under load run in the soak (tox -e soak)")
    queue = "recorder." + clowder.queue
    recorder = start("record", queue=queue)
    replicas = [start(script) for script in ("behave/with_mixin.py", "behave/with_auto.py")]
    names = ["load-%d" % number for number in range(400)]
    for name in names:
        clowder.publish(name, seconds=0.05)
    restarts = [rabbit.stop_app, rabbit.stop_app, rabbit.stop, rabbit.stop_app]
    for number, stop in enumerate(restarts, start=1):
        clowder.collect(lambda c: len(c.replies) > 150 * number, timeout=120)
        clowder.close()
        stop()
        time.sleep(1.0)
        rabbit.start() if stop == rabbit.stop else rabbit.start_app()
        clowder.connect()
        clowder.wait_for(lambda: clowder.consumers(clowder.queue) == 2 and clowder.consumers(queue) == 1,
                         "the replicas and the recorder to consume again")
    clowder.collect(clowder.done(*names), timeout=300)

    assert all(replica.process.poll() is None for replica in replicas)  # never restarted
    time.sleep(2.0)
    clowder.wait_for(lambda: clowder.waiting(queue) == 0, "the recorder")
    out = stop_recorder(recorder)
    assert "reconnected to the broker %d times" % len(restarts) in out
    with Store(tmp_path / "jobs.sqlite", create=False) as store:
        kept = {(e["tracking"]["worker"], e["tracking"]["seq"]) for e in store.all_events() if "job_id" in e}
        finished = {job["resource_id"] for job in store.jobs() if job["status"] == "SUCCEEDED"}
    lost = {(r["tracking"]["worker"], r["tracking"]["seq"]) for r in clowder.replies} - kept
    assert lost == set()
    assert finished == set(names)


def test_a_cut_run_that_does_not_end_within_the_timeout_makes_the_extractor_exit_non_zero(rabbit, clowder, start,
                                                                                           soak):
    if not soak:
        pytest.skip("runs in the soak (tox -e soak)")
    extractor = start("behave/with_mixin.py", reconnect_timeout=3)
    clowder.publish("endless", seconds=30, steps=30)
    clowder.collect(lambda c: c.replies_for("endless"))
    rabbit.stop_app()
    rabbit.start_app()
    clowder.connect()

    extractor.process.wait(30)
    assert extractor.process.returncode == 75
    assert "the run of job" in extractor.log() and "did not end within 3 s" in extractor.log()
    clowder.wait_for(lambda: clowder.waiting(clowder.queue) == 1, "the request back in its queue")
