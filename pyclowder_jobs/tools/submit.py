"""``pyclowder-jobs submit``: run local files through an extractor, without a Clowder.

It serves the files with :class:`pyclowder_jobs.testing.clowder.StandInClowder` (downloads, file
descriptions and metadata uploads, as Clowder v1 and v2 answer them), publishes one Clowder-shaped
request per file (v1 or v2) with the given parameters to the extractor's queue, and prints as they
arrive each job's status replies and progress, its log lines (from the event tap, when the
extractor is tracked) and the calls it makes to the stand-in. Plain pyClowder extractors work too:
they send replies only.

A job ends with a ``done`` reply (SUCCEEDED, or SKIPPED when ``check_message`` declined the file) or
an ``error`` reply (FAILED); a retry is followed to its next attempt. :meth:`Submission.run` returns
0 when every job succeeded or was skipped, 1 when one failed or did not end within the timeout.
"""

from __future__ import annotations

import json
import os
import queue as queues
import secrets
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import pika
import pika.exceptions
from rich.text import Text

from pyclowder_jobs.protocol.ids import objectid
from pyclowder_jobs.testing.clowder import Call, StandInClowder, file_request
from pyclowder_jobs.tools.recorder import DEFAULT_EXCHANGE, BrokerError, connect, safe_uri
from pyclowder_jobs.tools.terminal import STYLES, clean, counted
from pyclowder_jobs.tools.timefmt import duration

#: What each reply's ``message_type`` is shown as, and in which colour.
KINDS = {"StatusMessage.start": ("START", "cyan"), "StatusMessage.processing": ("PROCESSING", "cyan"),
         "StatusMessage.done": ("DONE", "green"), "StatusMessage.skip": ("SKIP", "yellow"),
         "StatusMessage.error": ("ERROR", "red"), "StatusMessage.retry": ("RETRY", "magenta")}
#: Outcomes that make ``submit`` exit 0.
ACCEPTED = ("SUCCEEDED", "SKIPPED")
#: Seconds to keep listening once every job has ended, for the log lines and calls that follow the last reply.
AFTERWORD = 0.5
#: Longest metadata document shown in a line, in characters.
METADATA_SHOWN = 300


class UsageError(ValueError):
    """A problem with what ``submit`` was asked to do, told in one line."""


class Job:
    """One submitted file and what its replies said."""

    def __init__(self, path: str, name: str, file_id: str, job_id: str) -> None:
        self.path = path
        self.name = name
        self.file_id = file_id
        self.job_id = job_id
        self.attempts = 0
        self.skipped = False
        self.outcome: Optional[str] = None
        self.message = ""
        self.started: Optional[float] = None
        self.ended: Optional[float] = None

    def take(self, message_type: str, message: str, now: float) -> None:
        """Follow the job's state through one reply."""
        if message_type == "StatusMessage.start":
            self.attempts += 1
            self.skipped = False
            self.started = self.started or now
        elif message_type == "StatusMessage.skip":
            self.skipped, self.message = True, message
        elif message_type == "StatusMessage.done":
            self.outcome, self.ended = ("SKIPPED" if self.skipped else "SUCCEEDED"), now
        elif message_type == "StatusMessage.error":
            self.outcome, self.ended, self.message = "FAILED", now, message

    def detail(self, queue: str) -> str:
        """What the summary says after the outcome: why it failed or was skipped, how many attempts."""
        said = [self.message] if self.outcome != "SUCCEEDED" and self.message else []
        if self.attempts > 1:
            said.append("after %d attempts" % self.attempts)
        if self.outcome == "FAILED":
            said.append("the request is on error.%s" % queue)
        return "; ".join(said)


def parse_parameters(pairs: Sequence[str], document: Optional[str]) -> Optional[Dict[str, Any]]:
    """The request's ``parameters``: the JSON object ``document``, then each ``key=value`` (the value read
    as JSON when it is JSON, else as text); None when neither is given."""
    if document is None and not pairs:
        return None
    parameters: Dict[str, Any] = {}
    if document is not None:
        try:
            parameters = json.loads(document)
        except ValueError as exc:
            raise UsageError("--parameters is not JSON (%s): give an object such as '{\"steps\": 4}'" % exc) from None
        if not isinstance(parameters, dict):
            raise UsageError("--parameters must be a JSON object, such as '{\"steps\": 4}'")
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise UsageError("--param %r is not KEY=VALUE (e.g. --param steps=4 --param name=report)" % pair)
        try:
            parameters[key] = json.loads(value)
        except ValueError:
            parameters[key] = value
    return parameters


class Submission:
    """Files to send to one extractor queue, and the run that follows their jobs to their end."""

    def __init__(self, files: Sequence[str], queue: str, *, uri: str, clowder_version: int = 1,
                 parameters: Optional[Dict[str, Any]] = None, timeout: float = 300.0,
                 exchange: str = DEFAULT_EXCHANGE, listen: str = "127.0.0.1", url: Optional[str] = None,
                 write: Callable[[Text], None] = print, note: Callable[[str], None] = print) -> None:
        for path in files:
            if not os.path.isfile(path):
                raise UsageError("no such file: %s (give files to send to the extractor)" % path)
        if clowder_version not in (1, 2):
            raise UsageError("--clowder is 1 or 2, not %r" % clowder_version)
        self.files = list(files)
        self.queue = queue
        self.uri = uri
        self.clowder_version = clowder_version
        self.parameters = parameters
        self.timeout = timeout
        self.exchange = exchange
        self.address, self.port = _address(listen)
        self.url = url
        self.write = write
        self.note = note
        self.jobs: List[Job] = []
        self._by_file: Dict[str, Job] = {}
        self._calls: "queues.Queue[Call]" = queues.Queue()
        self._t0 = time.monotonic()
        self._name_width = 0

    def run(self) -> int:
        """Submit every file, print what happens until every job has ended or the time is up; the exit code."""
        contents = self._read()
        connection = connect(self.uri)
        try:
            channel = connection.channel()
            consumers = self._check_queue(connection)
            replies = channel.queue_declare(queue="", exclusive=True, auto_delete=True).method.queue
            channel.exchange_declare(exchange=self.exchange, exchange_type="topic", durable=True)
            tap = channel.queue_declare(queue="", exclusive=True, auto_delete=True).method.queue
            channel.queue_bind(queue=tap, exchange=self.exchange, routing_key="#")
            channel.basic_consume(queue=replies, auto_ack=True,
                                  on_message_callback=lambda _c, _m, _p, body: self._reply(body))
            channel.basic_consume(queue=tap, auto_ack=True,
                                  on_message_callback=lambda _c, method, _p, body: self._tap(method.routing_key, body))
            try:
                clowder = StandInClowder(self.port, address=self.address, key=secrets.token_hex(16), url=self.url,
                                         on_call=self._calls.put)
            except OSError as exc:
                raise UsageError("cannot serve the files on %s:%d (%s): give another --listen"
                                 % (self.address, self.port, exc.strerror or exc)) from None
            with clowder:
                self._publish(channel, clowder, replies, consumers, contents)
                self._follow(connection)
        except (pika.exceptions.AMQPError, OSError) as exc:
            raise BrokerError("lost the broker at %s (%s)" % (safe_uri(self.uri), type(exc).__name__)) from exc
        finally:
            try:
                connection.close()
            except Exception:  # pylint: disable=broad-except
                pass
        return self._summary()

    # -- setting up ---------------------------------------------------------------------------

    def _check_queue(self, connection: Any) -> int:
        """The number of consumers on the extractor's queue; a UsageError when there is no such queue."""
        probe = connection.channel()
        try:
            return probe.queue_declare(queue=self.queue, passive=True).method.consumer_count
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code != 404:
                raise
            raise UsageError("no queue %s on the broker at %s: start the extractor first (it declares its queue, "
                             "named after extractor_info.json's name or RABBITMQ_QUEUE), or check --queue"
                             % (self.queue, safe_uri(self.uri))) from None
        finally:
            if probe.is_open:
                probe.close()

    def _read(self) -> List[bytes]:
        """The files' contents, or a UsageError naming the one that cannot be read."""
        contents = []
        for path in self.files:
            try:
                with open(path, "rb") as source:
                    contents.append(source.read())
            except OSError as exc:
                raise UsageError("cannot read %s (%s)" % (path, exc.strerror or exc)) from None
        return contents

    def _publish(self, channel: Any, clowder: StandInClowder, replies: str, consumers: int,
                 contents: List[bytes]) -> None:
        key = clowder.key or ""
        for path, content in zip(self.files, contents):
            name = os.path.basename(path)
            file_id = clowder.add_file(content, name=name)
            job = Job(path, clean(name), file_id, objectid())
            self.jobs.append(job)
            self._by_file[file_id] = job
            body = file_request(self.clowder_version, clowder.url, file_id, queue=self.queue, secret_key=key,
                                job_id=job.job_id, filename=name, size=len(content), parameters=self.parameters,
                                manual=True)
            properties = pika.BasicProperties(reply_to=replies, delivery_mode=2, correlation_id=str(uuid.uuid4())) \
                if self.clowder_version == 1 else pika.BasicProperties(reply_to=replies, delivery_mode=1)
            channel.basic_publish(exchange="", routing_key=self.queue, body=json.dumps(body), properties=properties)
        self._name_width = min(24, max(len(job.name) for job in self.jobs))
        self._t0 = time.monotonic()
        self.note("submitted %s to %s as Clowder v%d requests%s; files served at %s"
                  % (counted(len(self.jobs), "file"), self.queue, self.clowder_version,
                     " with parameters %s" % json.dumps(self.parameters) if self.parameters is not None else "",
                     clowder.url))
        if not consumers:
            self.note("nothing consumes %s yet: the requests wait there until the extractor starts" % self.queue)

    # -- following ----------------------------------------------------------------------------

    def _follow(self, connection: Any) -> None:
        deadline = self._t0 + self.timeout
        ended_at: Optional[float] = None
        while True:
            now = time.monotonic()
            if ended_at is None and all(job.outcome for job in self.jobs):
                ended_at = now
            if (ended_at is not None and now - ended_at >= AFTERWORD) or (ended_at is None and now >= deadline):
                break
            connection.process_data_events(time_limit=0.1)
            self._tell_calls()
        self._tell_calls()
        for job in self.jobs:
            if job.outcome is None:
                job.outcome = "TIMED OUT"
                job.message = "no final reply within %s (the request may still be on %s)" % (
                    duration(self.timeout), self.queue)

    def _reply(self, body: bytes) -> None:
        self._tell_calls()  # the calls the job made came before its reply
        reply = _document(body)
        job = self._by_file.get(reply.get("file_id")) if reply else None
        if job is None:
            return
        message_type, message = str(reply.get("message_type")), clean(reply.get("message"))
        job.take(message_type, message, time.monotonic())
        label, style = KINDS.get(message_type, (clean(message_type), ""))
        tracking = reply.get("tracking") if isinstance(reply.get("tracking"), dict) else {}
        if tracking.get("kind") == "progress":
            label = "PROGRESS"
        attempt = tracking.get("attempt")
        if type(attempt) is int and attempt > 1:
            message += "  (attempt %d)" % attempt
        self._line(job, label, style, message)

    def _tap(self, routing_key: str, body: bytes) -> None:
        self._tell_calls()
        event = _document(body)
        job = self._by_file.get(event.get("file_id")) if event else None
        if job is None or not routing_key.endswith(".log"):
            return  # statuses come as replies; the tap also carries other extractors' events
        if event.get("logger") == "pyclowder.connectors" and ": StatusMessage." in str(event.get("message")):
            return  # pyClowder logs each status it sends: the reply is already shown
        self._line(job, "LOG", "dim", "%s %s: %s" % (clean(event.get("level")), clean(event.get("logger")),
                                                     clean(event.get("message"))))

    def _tell_calls(self) -> None:
        while True:
            try:
                call = self._calls.get_nowait()
            except queues.Empty:
                return
            job = self._by_file.get(call.file_id or "")
            if call.metadata is not None:
                shown = json.dumps(call.metadata.get("content", call.metadata) if isinstance(call.metadata, dict)
                                   else call.metadata)
                self._line(job, "METADATA", "blue", shown if len(shown) <= METADATA_SHOWN
                           else shown[:METADATA_SHOWN] + "\u2026")
            elif call.status == 401:
                self._line(job, "REFUSED", "red", "%s %s without the request's key (answered 401)"
                           % (call.method, call.path))
            elif call.status >= 400:
                self._line(job, "NOT SERVED", "yellow", "%s %s (answered %d: submit serves downloads, file "
                           "descriptions and metadata)" % (call.method, call.path, call.status))
            elif call.path.endswith(call.file_id or "\0"):
                self._line(job, "DOWNLOAD", "dim", "%s %s" % (call.method, call.path))

    def _line(self, job: Optional[Job], label: str, style: str, message: str) -> None:
        name, job_id = (job.name, job.job_id) if job else ("-", "-")
        if len(name) > self._name_width:
            name = name[:self._name_width - 1] + "\u2026"
        self.write(Text.assemble(("%+7.2fs" % (time.monotonic() - self._t0), "dim"), "  ",
                                 name.ljust(self._name_width), "  ", (job_id.ljust(24), "dim"), "  ",
                                 (label.ljust(10), style), " ", clean(message)))

    # -- the end ------------------------------------------------------------------------------

    def _summary(self) -> int:
        counts: Dict[str, int] = {}
        self.note("")
        for job in self.jobs:
            counts[job.outcome or ""] = counts.get(job.outcome or "", 0) + 1
            took = duration(job.ended - job.started) if job.ended and job.started else ""
            line = Text.assemble(job.name.ljust(self._name_width), "  ", job.job_id, "  ",
                                 ((job.outcome or "").ljust(9), STYLES.get(job.outcome or "", "")), "  ",
                                 took.rjust(8), "  ", job.detail(self.queue))
            line.rstrip()
            self.write(line)
        order = ("SUCCEEDED", "SKIPPED", "FAILED", "TIMED OUT")
        self.note("%s: %s" % (counted(len(self.jobs), "job"),
                              ", ".join("%d %s" % (counts[outcome], outcome.lower()) for outcome in order
                                        if counts.get(outcome))))
        return 0 if all(job.outcome in ACCEPTED for job in self.jobs) else 1


def _document(body: bytes) -> Optional[Dict[str, Any]]:
    """A message's JSON object, or None."""
    try:
        found = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return found if isinstance(found, dict) else None


def _address(listen: str) -> Tuple[str, int]:
    """``(host, port)`` of ``HOST`` or ``HOST:PORT`` (port 0: any free one)."""
    host, colon, port = listen.rpartition(":")
    if not colon:
        return listen or "127.0.0.1", 0
    if not port.isdigit() or int(port) > 65535:
        raise UsageError("--listen %r: give HOST or HOST:PORT (e.g. 0.0.0.0:8000)" % listen)
    return host or "127.0.0.1", int(port)
