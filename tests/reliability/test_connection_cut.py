"""The broker connection cut mid-job (``rabbitmqctl close_connection``): plain pyClowder and the
tracked extractor side by side. Plain pyClowder's listen loop ends and the extractor exits with
status 0, the message in flight back in the queue; the tracked extractor connects again and runs
that message again itself (redelivered), without a restart, and loses nothing it had acknowledged."""

import re
import subprocess
import time

import pytest

from pyclowder_jobs.testing.clowder import file_request

pytestmark = pytest.mark.broker

HOST = "http://127.0.0.1:9/"
#: Long enough for the cut to land mid-job: each rabbitmqctl call takes a second or more on a busy machine
#: (a tracked extractor lets the cut run end before it runs the message again: twice this long).
IN_FLIGHT_SECONDS = 6


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
    """Start ``script`` and cut its connections while a job runs; returns the extractor."""
    extractor = start_extractor(script)
    broker.publish(file_request(1, HOST, "done-first", queue=broker.queue, secret_key="cut-secret-key"))
    broker.collect(broker.finished("done-first"))
    broker.publish(file_request(1, HOST, "in-flight", queue=broker.queue, secret_key="cut-secret-key",
                                parameters={"seconds": IN_FLIGHT_SECONDS}))
    broker.collect(lambda b: b.replies_for("in-flight"))
    cut_connections_of(extractor.process)
    return extractor


def test_a_cut_connection_ends_plain_pyclowder_with_status_0_and_returns_the_job_in_flight_to_the_queue(
        broker, start_extractor):
    extractor = cut_mid_job(broker, start_extractor, "behave/plain.py")
    extractor.process.wait(15)
    time.sleep(0.5)
    broker.drain()
    assert extractor.process.returncode == 0
    assert broker.queue_depth() == 1
    assert [r["message_type"] for r in broker.replies_for("done-first")][-1] == "StatusMessage.done"


@pytest.mark.parametrize("script", ["behave/with_auto.py", "behave/with_mixin.py"], ids=["auto", "mixin"])
def test_after_a_cut_the_tracked_extractor_reconnects_and_runs_the_job_again_as_a_redelivery(
        broker, start_extractor, script):
    extractor = cut_mid_job(broker, start_extractor, script)
    first_run = broker.replies_for("in-flight")[0]
    broker.collect(broker.finished("in-flight"), timeout=60)
    assert extractor.process.poll() is None
    last = broker.replies_for("in-flight")[-1]
    assert last["message_type"] == "StatusMessage.done"
    assert last["tracking"]["redelivered"] is True
    assert last["job_id"] != first_run["job_id"]
    assert [r["message_type"] for r in broker.replies_for("done-first")].count("StatusMessage.done") == 1
    assert "Reconnected to the broker" in extractor.log()
