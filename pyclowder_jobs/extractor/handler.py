"""pyClowder's per-message handler, with the job's id, attempt and timing on every status.

The job thread only queues messages, as in pyClowder; the connector thread publishes them. What
this handler adds: the ``tracking`` object on each status, progress messages, the job id on the
thread's log records, copies of the job's events for the event tap, a wake-up of the connector
thread for each queued message, and a final error-queueing of a message that pyClowder would
otherwise leave unacknowledged.
"""

from __future__ import annotations

import json
import logging
import numbers
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import pika
from pyclowder.connectors import Connector, RabbitMQHandler
from pyclowder.utils import StatusMessage

from pyclowder_jobs.protocol import tracking
from pyclowder_jobs.extractor.logs import MIN_SECRET_LENGTH, enter_job, leave_job, redact
from pyclowder_jobs.extractor.tap import Tap
from pyclowder_jobs.extractor.tracing import JobSpan, Tracing
from pyclowder_jobs.extractor.worker import Job, Worker

logger = logging.getLogger("pyclowder_jobs")


class TrackedHandler(RabbitMQHandler):
    """Processes one message in its own thread, like pyClowder's ``RabbitMQHandler``."""

    # The state every job starts in, set on the handler only when it changes: pyClowder's handler
    # already has nineteen attributes, and past thirty an object's attributes cost more to set.
    _last_progress = float("-inf")
    _pending_progress: Optional[tuple] = None
    _ending = False
    _ended = False
    _span: Optional[JobSpan] = None

    def __init__(self, job: Job, worker: Worker, wake: Callable[[], None], tap: Optional[Tap], secret: Optional[str],
                 progress_interval: float, *handler_arguments: Any) -> None:
        """``wake`` makes the connector thread publish what is queued (it never raises); ``secret`` is
        the request's ``secretKey``, masked in everything the job emits.

        ``handler_arguments`` go to pyClowder's ``RabbitMQHandler`` as they are: the arguments its
        own ``on_message`` passes, in the same order (the same in 2.x and 3.x). They are passed by
        position, as pyClowder does, because forwarding eleven keywords costs more per message than
        all the rest of this set-up.
        """
        super().__init__(*handler_arguments)
        self.tracking_job = job
        self.tracking_worker = worker
        self._tracking = worker.tracking_template(job.attempt, job.redelivered, job.resource_name)
        self._wake_connector = wake
        self._tap = tap
        self._tap_events: List[Tuple[str, str]] = []
        self._secret = secret if isinstance(secret, str) and len(secret) >= MIN_SECRET_LENGTH else None
        self._progress_interval = progress_interval

    # -- the job thread -----------------------------------------------------------------------

    def start_thread(self, json_body: Dict[str, Any], tracing: Optional[Tracing] = None) -> None:
        """Start processing the message in a daemon thread, as pyClowder does; ``tracing`` makes the
        job's OpenTelemetry span (None where OpenTelemetry is not installed)."""
        self.tracking_worker.job_started(self.tracking_job)
        self.thread = threading.Thread(target=self._run_job, args=(json_body, tracing), daemon=True)
        self.thread.start()

    def _run_job(self, json_body: Dict[str, Any], tracing: Optional[Tracing] = None) -> None:
        """The job thread: pyClowder's processing, with the job id on its log records (and a copy of
        each for the event tap), always ending with a final status."""
        previous = enter_job(self.job_id, self._secret, None if self._tap is None else self.log_event)
        if tracing is not None:
            span = tracing.start(self)
            if span is not None:
                self._span = span
        try:
            self._process_message(json_body)
        except Exception as error:  # pylint: disable=broad-except
            logger.exception("[%s] the job failed outside pyClowder's error handling", self.job_id)
            if self._span is not None:
                self._span.exception(error)
        finally:
            try:
                if not self._ended:
                    self._end_unfinished()
            finally:
                if self._span is not None:
                    self._span.end()
                leave_job(previous)

    def _end_unfinished(self) -> None:
        """Move a message that pyClowder returned from without a final status to the error queue."""
        logger.warning("[%s] pyClowder ended the job without acknowledging its message: "
                       "moving it to the error queue so the extractor takes the next one", self.job_id)
        resource = {"type": "file", "id": self.tracking_job.resource_id}
        try:
            self.message_error(resource, "The message could not be processed (see the extractor's log).")
        finally:
            self._end()

    def status_update(self, status: Any, resource: Dict[str, Any], message: str) -> None:
        """Queue a status reply with the job's ``tracking`` object, and wake the connector."""
        try:
            with self.lock:
                if self._pending_progress is not None:
                    self._flush_progress_locked()
                self.messages.append(self._status(status, resource, message, tracking.STATUS, None, time.time()))
        except Exception:  # pylint: disable=broad-except
            logger.exception("[%s] could not add tracking to a status: sending pyClowder's own", self.job_id)
            super().status_update(status, resource, message)
            return
        Connector.status_update(self, status, resource, message)
        if not self._ending:
            self._wake_connector()

    def progress(self, resource: Dict[str, Any], done: float, total: Optional[float] = None,
                 unit: Optional[str] = None, message: Optional[str] = None) -> None:
        """Tell Clowder how far the job is: a PROCESSING status such as ``3/10 files (30%)``.

        ``tracking.progress`` holds the numbers. Calls closer together than the progress interval
        (1 s by default) are coalesced; the last one is always sent, before any later status.
        """
        if not _is_number(done) or not (total is None or _is_number(total)):
            logger.warning("[%s] progress(done=%r, total=%r) ignored: done and total must be numbers",
                           self.job_id, type(done).__name__, type(total).__name__)
            return
        text = message if message is not None else tracking.progress_text(done, total, unit)
        numbers_ = {"done": done, "total": total, "unit": unit}
        with self.lock:
            self._pending_progress = (resource, text, numbers_, time.time())
            due = self._progress_due()
            if due:
                self._flush_progress_locked()
        logger.debug("[%s] progress: %s", self.job_id, text)
        if due:
            self._wake_connector()

    def log_event(self, record: logging.LogRecord) -> None:
        """Queue a copy of a log record from the job's thread for the event tap (the job's log sink)."""
        if self._tap is None:
            return
        job = self.tracking_job
        fields = tracking.reply_tracking(self._tracking.fields, self.tracking_worker.next_seq(), record.created,
                                         tracking.LOG)
        event = tracking.log_event(job.resource_id, self.extractor_info["name"], job.job_id, record.levelname,
                               record.name, record.getMessage(), fields)
        body = json.dumps(event)
        with self.lock:
            self._tap_events.append((tracking.LOG, body))

    def message_ok(self, resource: Dict[str, Any], message: str = "Done processing.") -> None:
        self._ending = True
        super().message_ok(resource, message)
        self._end()

    def message_error(self, resource: Dict[str, Any], message: str = "Error processing message.") -> None:
        self._ending = True
        super().message_error(resource, message)
        self._end()

    def message_resubmit(self, resource: Dict[str, Any], retry_count: int, message: Optional[str] = None) -> None:
        self._ending = True
        super().message_resubmit(resource, retry_count, message)
        self._end()

    def _end(self) -> None:
        """Stop listing the job, and wake the connector once for its final status and what follows it.

        The final status is queued while ``_ending`` is set, so that it does not wake the connector
        thread on its own: pyClowder queues the acknowledgement (or the error-queue or retry
        message) right after it, and one wake-up publishes both.
        """
        self._ending = False
        if not self._ended:
            self._ended = True
            self.tracking_worker.job_ended(self.tracking_job)
        self._wake_connector()

    # -- the connector thread -----------------------------------------------------------------

    def process_messages(self, channel: Any, rabbitmq_queue: str) -> None:
        """Send a coalesced progress message that has come due, publish as pyClowder does, then
        publish the copies for the event tap."""
        if self._pending_progress is not None:
            with self.lock:
                if self._progress_due():
                    self._flush_progress_locked()
        self._publish_encoded_statuses(channel)
        super().process_messages(channel if self._span is None else self._span.publishing(channel, rabbitmq_queue),
                                 rabbitmq_queue)
        if self._tap_events:
            self._publish_to_tap()

    def _publish_encoded_statuses(self, channel: Any) -> None:
        """Publish the statuses at the head of the queue as pyClowder would, with the JSON made in
        :meth:`_status`; pyClowder's loop publishes the rest, from the first other message on."""
        while True:
            with self.lock:
                if not self.messages or "body" not in self.messages[0]:
                    return
                message = self.messages.pop(0)
            if self.header.reply_to:
                properties = pika.BasicProperties(delivery_mode=2, correlation_id=self.header.correlation_id)
                channel.basic_publish(exchange="", routing_key=self.header.reply_to, properties=properties,
                                      body=message["body"])

    def _publish_to_tap(self) -> None:
        with self.lock:
            events, self._tap_events = self._tap_events, []
        for kind, body in events:
            self._tap.publish(kind, body)

    # -- helpers ------------------------------------------------------------------------------

    def _progress_due(self) -> bool:
        return time.monotonic() - self._last_progress >= self._progress_interval

    def _flush_progress_locked(self) -> None:
        pending = self._pending_progress
        if pending is None:
            return
        self._pending_progress = None
        self._last_progress = time.monotonic()
        resource, text, numbers_, timestamp = pending
        self.messages.append(self._status(StatusMessage.processing, resource, text, tracking.PROGRESS,
                                          numbers_, timestamp))

    def _status(self, status: Any, resource: Dict[str, Any], message: str, kind: str,
                progress: Optional[Dict[str, Any]], timestamp: float) -> Dict[str, Any]:
        job = self.tracking_job
        job.resource_id = resource["id"]
        job.last_event = timestamp
        fields = tracking.reply_tracking(self._tracking.fields, self.tracking_worker.next_seq(), timestamp, kind,
                                         progress)
        message = redact(message, self._secret)
        if self._span is not None:
            self._span.status(status, message, kind, progress, timestamp, self._ending)
        payload = tracking.status_reply(resource["id"], self.extractor_info["name"], job.job_id, status,
                                    message, timestamp, fields)
        body = self._tracking.encode_reply(payload)
        if self._tap is not None:
            self._tap_events.append((kind, body))
        return {"type": "status", "resource": resource, "payload": payload, "body": body}


def progress(connector: Any, resource: Dict[str, Any], done: float, total: Optional[float] = None,
             unit: Optional[str] = None) -> None:
    """Report progress through any pyClowder connector: tracked ones coalesce it and add the numbers."""
    if isinstance(connector, TrackedHandler):
        connector.progress(resource, done, total, unit)
    else:
        connector.status_update(StatusMessage.processing, resource, tracking.progress_text(done, total, unit))


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
