"""The broker connection cut mid-job (``rabbitmqctl close_connection``): plain pyClowder and the
tracked extractor side by side. What both do, as measured here: the connector's listen loop ends,
the extractor exits, and the message in flight goes back to the queue, to be redelivered. The
tracked extractor must do no worse, and lose nothing it had acknowledged."""

import re
import subprocess
import time

import pytest

from pyclowder_jobs.testing.clowder import file_request

pytestmark = pytest.mark.broker

HOST = "http://127.0.0.1:9/"
#: Long enough for the cut to land mid-job: each rabbitmqctl call takes a second or more on a busy machine.
IN_FLIGHT_SECONDS = 10


def broker_connections_of(pid):
    """The broker's connection pids for the AMQP connections a process has open."""
    sockets = subprocess.run(["ss", "-tnpH"], capture_output=True, text=True, check=True).stdout
    ports = {match.group(1) for match in re.finditer(r"127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:5672\s.*pid=%d," % pid,
                                                        sockets)}
    listing = subprocess.run(["rabbitmqctl", "list_connections", "pid", "peer_port", "-q"], capture_output=True,
                             text=True, check=True).stdout
    return [line.split("\t")[0] for line in listing.splitlines()[1:] if line.split("\t")[-1] in ports]


def cut_connections_of(process):
    connections = broker_connections_of(process.pid)
    assert connections, "the extractor has no connection to the broker"
    for connection in connections:
        subprocess.run(["rabbitmqctl", "close_connection", connection, "cut by a test"], capture_output=True,
                       check=True)


def cut_mid_job(broker, start_extractor, script):
    """Start ``script``, cut its connections while a job runs; returns (exited, back in queue, replies)."""
    extractor = start_extractor(script)
    broker.publish(file_request(1, HOST, "done-first", queue=broker.queue, secret_key="cut-secret-key"))
    broker.collect(broker.finished("done-first"))
    broker.publish(file_request(1, HOST, "in-flight", queue=broker.queue, secret_key="cut-secret-key",
                                parameters={"seconds": IN_FLIGHT_SECONDS}))
    broker.collect(lambda b: b.replies_for("in-flight"))
    cut_connections_of(extractor.process)
    deadline = time.monotonic() + 15
    while extractor.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    broker.drain()
    return extractor.process.poll() is not None, broker.queue_depth(), broker


@pytest.mark.parametrize("script", ["behave/plain.py", "behave/with_auto.py"], ids=["plain", "tracked"])
def test_a_cut_connection_ends_the_extractor_and_returns_the_job_in_flight_to_the_queue(broker, start_extractor,
                                                                                           script):
    exited, waiting, broker = cut_mid_job(broker, start_extractor, script)
    assert exited
    assert waiting == 1
    assert [r["message_type"] for r in broker.replies_for("done-first")][-1] == "StatusMessage.done"


def test_after_a_cut_the_job_is_redelivered_and_finished_by_a_new_tracked_run(broker, start_extractor):
    cut_mid_job(broker, start_extractor, "behave/with_auto.py")
    first_run = broker.replies_for("in-flight")[0]
    start_extractor("behave/with_auto.py")
    broker.collect(broker.finished("in-flight"))
    last = broker.replies_for("in-flight")[-1]
    assert last["message_type"] == "StatusMessage.done"
    assert last["tracking"]["redelivered"] is True
    assert last["job_id"] != first_run["job_id"]
