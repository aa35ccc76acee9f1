"""A replica killed mid-job (SIGKILL): the message is redelivered, and the record says what happened."""

import os
import signal
from datetime import datetime, timedelta, timezone

import pytest

from pyclowder_jobs.server import group_events
from pyclowder_jobs.testing.clowder import file_request

pytestmark = pytest.mark.broker

HEARTBEAT = 1


def kill_the_replica_running(broker, tap, replicas, file_id):
    """SIGKILL the replica that started ``file_id``, once the tap holds that start too; returns the
    first run's job id."""
    broker.collect(lambda b: b.replies_for(file_id) and any(event.get("file_id") == file_id for _, event in tap))
    first = broker.replies_for(file_id)[0]
    victim = next(r for r in replicas if r.process.pid == first["tracking"]["pid"])
    os.kill(victim.process.pid, signal.SIGKILL)
    victim.process.wait(10)
    return first["job_id"]


def fold(tap, now):
    events = [event for key, event in tap if not key.endswith(".heartbeat")]
    beats = [event for key, event in tap if key.endswith(".heartbeat")]
    return {job.job_id: job.to_dict() for job in group_events(events, heartbeats=beats, now=now)}


def test_a_killed_run_without_an_id_is_lost_and_superseded_by_its_redelivery(broker, start_extractor):
    tap = broker.bind_tap(broker.queue + ".#")
    replicas = [start_extractor("behave/with_mixin.py", heartbeat=HEARTBEAT) for _ in range(2)]
    broker.publish(file_request(1, "http://127.0.0.1:9/", "victim", queue=broker.queue, secret_key="k" * 10,
                                parameters={"seconds": 2, "steps": 4}))
    first = kill_the_replica_running(broker, tap, replicas, "victim")
    broker.collect(broker.finished("victim"), timeout=30)
    second = broker.replies_for("victim")[-1]
    assert second["job_id"] != first and second["tracking"]["redelivered"] is True
    broker.drain()
    jobs = fold(tap, now=datetime.now(timezone.utc) + timedelta(seconds=3.5 * HEARTBEAT))
    assert jobs[first]["status"] == "LOST"
    assert jobs[first]["superseded_by"] == second["job_id"]
    assert jobs[second["job_id"]]["status"] == "SUCCEEDED"


def test_a_killed_run_with_clowders_id_keeps_it_and_the_job_succeeds_once(broker, start_extractor):
    tap = broker.bind_tap(broker.queue + ".#")
    replicas = [start_extractor("behave/with_mixin.py", heartbeat=HEARTBEAT) for _ in range(2)]
    job_id = "5c8a6c70a1b2c3d4e50000aa"
    broker.publish(file_request(1, "http://127.0.0.1:9/", "victim-2", queue=broker.queue, secret_key="k" * 10,
                                job_id=job_id, parameters={"seconds": 2, "steps": 4}))
    assert kill_the_replica_running(broker, tap, replicas, "victim-2") == job_id
    broker.collect(broker.finished("victim-2"), timeout=30)
    replies = broker.replies_for("victim-2")
    assert {r["job_id"] for r in replies} == {job_id}
    assert [r["message_type"] for r in replies].count("StatusMessage.done") == 1
    assert replies[-1]["tracking"]["redelivered"] is True
    jobs = fold(tap, now=datetime.now(timezone.utc))
    assert jobs[job_id]["status"] == "SUCCEEDED"
    assert len(jobs[job_id]["workers"]) == 2


def test_a_killed_workers_job_is_lost_once_its_heartbeats_stop(broker, start_extractor):
    tap = broker.bind_tap(broker.queue + ".#")
    replica = start_extractor("behave/with_mixin.py", heartbeat=HEARTBEAT)
    broker.publish(file_request(1, "http://127.0.0.1:9/", "orphan", queue=broker.queue, secret_key="k" * 10,
                                parameters={"seconds": 5, "steps": 5}))
    broker.collect(lambda b: any(key.endswith(".heartbeat") and event["tracking"]["jobs"] for key, event in tap))
    job_id = kill_the_replica_running(broker, tap, [replica], "orphan")
    broker.drain()
    killed_at = datetime.now(timezone.utc)
    assert fold(tap, now=killed_at)[job_id]["status"] != "LOST"
    assert fold(tap, now=killed_at + timedelta(seconds=3.5 * HEARTBEAT))[job_id]["status"] == "LOST"
