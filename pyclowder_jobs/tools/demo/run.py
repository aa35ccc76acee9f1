"""``pyclowder-jobs demo``: tracked replicas on the local broker, and the jobs they ran, told apart.

It starts the demo extractor as two replicas, submits a batch that sends the same file to both at
once, a failure, a retry, a skip and slow jobs with progress, and prints what the event tap shows
as it happens: each status with its job id and worker (named by the first 8 characters of its id,
as every table names it), the heartbeats and the job's log lines.
Then it records everything into SQLite and prints the job table and the stats. Without a broker it
replays a bundled recording of such a run through the same code.
"""

from __future__ import annotations

import calendar
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

import pika

from pyclowder_jobs.tools.demo import scenario
from pyclowder_jobs.testing.clowder import StandInClowder
from pyclowder_jobs.tools.terminal import clean, short

QUEUE = "pyclowder-jobs.demo"
TAP_EXCHANGE = "pyclowder.jobs"
RECORDING = Path(__file__).with_name("recording.jsonl")
SECRET_KEY = "demo-secret-key-0000"
FINAL = ("StatusMessage.done", "StatusMessage.error")

Event = Tuple[str, Dict[str, Any]]


class Narrator:
    """Prints tap events as one line each: when, which worker (labelled as the tables label it), which job,
    what happened. What the events carry is printed as text, without control or escape sequences."""

    def __init__(self, names: Dict[str, str], write: Callable[[str], None] = print) -> None:
        self.names = names
        self.write = lambda line: write(clean(line))
        self.started: Optional[float] = None

    def tell(self, routing_key: str, event: Dict[str, Any]) -> None:
        kind = routing_key.rsplit(".", 1)[-1]
        if kind == "heartbeat":
            self._heartbeat(event)
            return
        tracking = event.get("tracking") or {}
        when = self._clock(tracking.get("ts"))
        who = short(tracking.get("worker"))
        job = event.get("job_id") or "-"
        name = self.names.get(event.get("file_id"), event.get("file_id"))
        if kind == "log":
            if event.get("logger") == "behave":
                message = str(event.get("message")).replace(str(event.get("file_id")), str(name))
                self.write("%s  %-8s  %s  %-10s  log: %s" % (when, who, job, name, message))
            return
        status = str(event.get("message_type", "")).replace("StatusMessage.", "").upper()
        attempt = tracking.get("attempt", 1)
        self.write("%s  %-8s  %s  %-10s  %-10s %s%s" % (
            when, who, job, name, status, event.get("message"), "  (attempt %d)" % attempt if attempt > 1 else ""))

    def _heartbeat(self, event: Dict[str, Any]) -> None:
        tracking = event.get("tracking") or {}
        jobs = tracking.get("jobs") or []
        doing = ", ".join("%s on %s" % (job.get("job_id"), self.names.get(job.get("resource_id"), "?"))
                          for job in jobs) or "idle"
        self.write("%s  %-8s  heartbeat from %s pid %s: %s; %s finished so far" % (
            self._clock(tracking.get("ts")), short(event.get("id")), tracking.get("host"), tracking.get("pid"), doing,
            tracking.get("processed", 0)))

    def _clock(self, ts: Optional[str]) -> str:
        seconds = _epoch(ts)
        if seconds is None:
            return "       "
        if self.started is None:
            self.started = seconds
        return "%+6.2fs" % (seconds - self.started)


def _epoch(ts: Optional[str]) -> Optional[float]:
    """Seconds since the epoch of a ``tracking.ts`` (``2026-11-22T11:04:26.123Z``), or None."""
    if not ts:
        return None
    try:
        return calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) + float(ts[19:-1] or 0)
    except ValueError:
        return None


def run(rabbitmq_uri: str, replicas: int = 2, save: Optional[str] = None,
        write: Callable[[str], None] = print) -> Tuple[List[Event], Dict[str, str]]:
    """Run the demo against the broker, or replay the recording; returns the tap events and file names."""
    try:
        connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_uri))
    except pika.exceptions.AMQPError as exc:
        write("No RabbitMQ at %s (%s): replaying a recording of the demo instead. Start RabbitMQ "
              "(rabbitmq-server -detached) to see it live." % (_without_password(rabbitmq_uri), type(exc).__name__))
        return replay(RECORDING, write)
    try:
        events, names = _live(connection, rabbitmq_uri, replicas, write)
    finally:
        if connection.is_open:
            connection.close()
    if save:
        _save(events, names, save)
    return events, names


def replay(path: Path, write: Callable[[str], None] = print) -> Tuple[List[Event], Dict[str, str]]:
    """Tell a recorded run as if it were happening, and return its events and file names."""
    with open(path, encoding="utf8") as recording:
        header = json.loads(recording.readline())
        events = [tuple(json.loads(line)) for line in recording if line.strip()]
    narrator = Narrator(header["names"], write)
    for routing_key, event in events:
        narrator.tell(routing_key, event)
    return events, header["names"]


def _live(connection: Any, rabbitmq_uri: str, replicas: int,
          write: Callable[[str], None]) -> Tuple[List[Event], Dict[str, str]]:
    channel = connection.channel()
    for queue in (QUEUE, "error." + QUEUE):
        channel.queue_delete(queue=queue)
        channel.queue_declare(queue=queue, durable=True)
    channel.exchange_declare(exchange=TAP_EXCHANGE, exchange_type="topic", durable=True)
    tap = channel.queue_declare(queue="", exclusive=True).method.queue
    channel.queue_bind(queue=tap, exchange=TAP_EXCHANGE, routing_key=QUEUE + ".#")
    replies = channel.queue_declare(queue="", exclusive=True).method.queue
    workdir = tempfile.mkdtemp(prefix="pyclowder-jobs-demo-")
    with StandInClowder() as clowder:
        processes = [_start_replica(rabbitmq_uri, workdir, number) for number in range(1, replicas + 1)]
        try:
            _wait_for_consumers(channel, replicas, processes)
            bodies = scenario.requests(clowder.url, QUEUE, SECRET_KEY)
            names = scenario.file_names(bodies)
            write("%d replicas of the demo extractor are listening on %s; submitting %d requests, two of them "
                  "for the same file (report.csv).\n" % (replicas, QUEUE, len(bodies)))
            for body in bodies:
                channel.basic_publish(exchange="", routing_key=QUEUE, body=json.dumps(body),
                                      properties=pika.BasicProperties(reply_to=replies, delivery_mode=2))
            events = _follow(channel, tap, len(bodies), Narrator(names, write))
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(10)
            channel.queue_delete(queue=QUEUE)
            channel.queue_delete(queue="error." + QUEUE)
    write("\nThe replicas' own logs are in %s" % workdir)
    return events, names


def _start_replica(rabbitmq_uri: str, workdir: str, number: int) -> subprocess.Popen:
    environment = dict(os.environ, RABBITMQ_URI=rabbitmq_uri, RABBITMQ_QUEUE=QUEUE, HEARTBEAT="2",
                       PYTHONUNBUFFERED="1")
    with open(os.path.join(workdir, "replica-%d.log" % number), "w") as log:  # the child keeps its own copy
        return subprocess.Popen([sys.executable, "-m", "pyclowder_jobs.tools.demo.behave"], cwd=workdir,
                                env=environment, stdout=log, stderr=subprocess.STDOUT)


def _wait_for_consumers(channel: Any, replicas: int, processes: List[subprocess.Popen], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while channel.queue_declare(queue=QUEUE, durable=True, passive=True).method.consumer_count < replicas:
        if any(process.poll() is not None for process in processes) or time.monotonic() > deadline:
            raise RuntimeError("the demo extractor did not start: see its log in the work directory")
        time.sleep(0.1)


def _follow(channel: Any, tap: str, expected: int, narrator: Narrator, timeout: float = 90) -> List[Event]:
    """Tell tap events as they arrive until every request has finished and the replicas beat once more."""
    events: List[Event] = []
    finished = 0
    beats_after = 0
    deadline = time.monotonic() + timeout
    while (finished < expected or beats_after < 2) and time.monotonic() < deadline:
        method, _, body = channel.basic_get(tap, auto_ack=True)
        if method is None:
            channel.connection.sleep(0.05)
            continue
        event = json.loads(body)
        events.append((method.routing_key, event))
        narrator.tell(method.routing_key, event)
        if method.routing_key.endswith(".status") and event.get("message_type") in FINAL:
            finished += 1
        elif method.routing_key.endswith(".heartbeat") and finished >= expected:
            beats_after += 1
    return events


def _save(events: Iterable[Event], names: Dict[str, str], path: str) -> None:
    with open(path, "w", encoding="utf8") as recording:
        recording.write(json.dumps({"names": names}) + "\n")
        for event in events:
            recording.write(json.dumps(event) + "\n")


def _without_password(uri: str) -> str:
    parsed = pika.URLParameters(uri)
    return "%s:%s" % (parsed.host, parsed.port)
