"""The connector mixin: a job id for every message, stamped on everything the job emits.

``JobTrackingMixin`` goes before pyClowder's ``RabbitMQConnector`` in a class's bases. It takes
over ``connect`` (to send tracked heartbeats) and ``on_message`` (to give the message its job id
before the job thread starts, then run it in a :class:`~pyclowder_jobs.extractor.handler.TrackedHandler`).
Whenever its own code fails, it hands the message to pyClowder's ``on_message`` unchanged.

A connector leaves logging's handlers and formatters alone: it only needs the ``Logger.makeRecord``
hook of :mod:`~pyclowder_jobs.extractor.logs`, which it holds from its making until it is
garbage-collected (for an extractor, until the process ends). ``%(job_id)s`` is the application's
to put in its format; :func:`~pyclowder_jobs.extractor.patch.enable` adds it to pyClowder's
default format.

It also runs pyClowder's ``listen`` loop again after the connection to the broker is lost (where
pyClowder's ends, and the extractor exits with status 0): it reconnects with backoff, and goes on
heartbeating and consuming. The job the loss cut short is redelivered by RabbitMQ and run again
(its first run is then LOST, superseded by the second); its first run is let finish before another
message is taken, so that one process never runs two jobs at once, and what it sends is dropped.
When the broker stays away longer than ``PYCLOWDER_JOBS_RECONNECT_TIMEOUT`` (300 s), the process
exits with status 75 (``EX_TEMPFAIL``), so that a supervisor restarts it.
"""

from __future__ import annotations

import logging
import os
import random
import sys
import threading
import time
import weakref
from typing import Any, Optional
from urllib.parse import urlsplit

import pika
from pyclowder.connectors import RabbitMQConnector

from pyclowder_jobs.extractor import compat, logs, request, tracing
from pyclowder_jobs.extractor.heartbeat import TrackedBroadcast
from pyclowder_jobs.extractor.handler import TrackedHandler
from pyclowder_jobs.extractor.settings import Settings
from pyclowder_jobs.extractor.tap import open_tap
from pyclowder_jobs.extractor.worker import Job, Worker

logger = logging.getLogger("pyclowder_jobs")

#: The exit status when the broker stays away past the reconnect timeout: ``EX_TEMPFAIL``, try again.
EXIT_UNREACHABLE = 75
#: The longest wait between two attempts to reconnect.
MOST_BACKOFF = 5.0


class JobTrackingMixin:
    """Job tracking for a pyClowder ``RabbitMQConnector``: ``class C(JobTrackingMixin, RabbitMQConnector)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tracking_settings = Settings.from_env()
        self.tracking_worker = Worker()
        self.tap = None
        self.tracing = tracing.connector_tracing(self.rabbitmq_queue, self.rabbitmq_uri, self.tracking_worker.id)
        self._wake_pending = False
        self._stopping = threading.Event()
        self._listening = False
        logs.install()
        # Not at exit: daemon threads may still log then, with formats that show the job id.
        weakref.finalize(self, logs.uninstall).atexit = False

    def connect(self) -> None:
        """Connect as pyClowder does, with a tracked heartbeat in place of pyClowder's."""
        self.connection = pika.BlockingConnection(pika.URLParameters(self.rabbitmq_uri))
        self.channel = self.connection.channel()
        self.channel.basic_qos(prefetch_count=1)
        self.channel.queue_declare(queue=self.rabbitmq_queue, durable=True)
        self.channel.queue_declare(queue="error." + self.rabbitmq_queue, durable=True)
        compat.bind_exchange(self)
        settings = self.tracking_settings
        self.tap = open_tap(self.connection, settings.tap_exchange, self.extractor_info["name"],
                            settings.tap_persistent)
        self.announcer = TrackedBroadcast(self, self.tracking_worker, settings.tap_exchange, settings.tap_persistent)
        self.announcer.start_thread()

    def listen(self) -> None:
        """pyClowder's listen loop, run again after each lost connection until :meth:`stop`."""
        self._listening = True
        cut: Optional[Any] = None
        try:
            while not self._stopping.is_set():
                try:
                    if cut is not None:
                        self._let_finish(cut)
                        cut = None
                    super().listen()  # returns once the connection is lost, or stop() was called
                except Exception as exc:  # pylint: disable=broad-except
                    logger.warning("Lost the broker while connecting or consuming (%s)", exc)
                if self._stopping.is_set():
                    return
                cut = self._cut_job() or cut
                self._close_connection()
                if not self._reconnect():
                    return
        finally:
            self._listening = False

    def alive(self) -> bool:
        """True while connected, and while reconnecting: pyClowder's ``start`` waits as long."""
        return self._listening or super().alive()

    def stop(self) -> None:
        """Stop consuming for good (no reconnecting)."""
        self._stopping.set()
        super().stop()

    def _cut_job(self) -> Optional[Any]:
        """The handler of the job the lost connection cut short, if any: its message goes back to the
        queue (RabbitMQ redelivers it), so it is no longer this worker's and what it sends is dropped."""
        handler, self.worker = self.worker, None
        if handler is None or handler.is_finished():
            return None
        job = getattr(handler, "tracking_job", None)
        if job is not None:
            self.tracking_worker.job_abandoned(job)
        logger.warning("[%s] the job was cut short by the lost connection: RabbitMQ will deliver its message "
                       "again, and what this run sends from now on is dropped", handler.job_id)
        return handler

    def _let_finish(self, handler: Any) -> None:
        """Wait, connected, for a cut job's thread to end before taking the next message, for up to
        the reconnect timeout; past it, exit so that a supervisor restarts the extractor."""
        thread = getattr(handler, "thread", None)
        deadline = time.monotonic() + self.tracking_settings.reconnect_timeout
        if thread is not None and thread.is_alive():
            logger.warning("[%s] waiting for the cut job's run to end before taking the next message",
                           handler.job_id)
        while thread is not None and thread.is_alive() and not self._stopping.is_set():
            if time.monotonic() > deadline:
                self._exit("the run of job %s, cut short by the lost connection, did not end within %.0f s"
                           % (handler.job_id, self.tracking_settings.reconnect_timeout))
            self.connection.process_data_events(time_limit=0.5)

    def _reconnect(self) -> bool:
        """Connect again with backoff; False when stopped meanwhile. Exits the process past the timeout."""
        timeout = self.tracking_settings.reconnect_timeout
        deadline = time.monotonic() + timeout
        logger.warning("Lost the connection to the broker at %s: reconnecting for up to %.0f s",
                       _where(self.rabbitmq_uri), timeout)
        delay = 0.2
        while not self._stopping.is_set():
            try:
                self.connect()
            except Exception as exc:  # pylint: disable=broad-except
                self._close_connection()
                left = deadline - time.monotonic()
                if left <= 0:
                    self._exit("could not reconnect to the broker at %s within %.0f s (%s)"
                               % (_where(self.rabbitmq_uri), timeout, type(exc).__name__))
                self._stopping.wait(min(delay, left))
                delay = min(MOST_BACKOFF, delay * 2) * random.uniform(0.8, 1.2)
                continue
            logger.warning("Reconnected to the broker at %s: consuming %s again", _where(self.rabbitmq_uri),
                           self.rabbitmq_queue)
            return True
        return False

    def _close_connection(self) -> None:
        """Close what is left of a connection, quietly."""
        connection, self.connection, self.channel = self.connection, None, None
        announcer = getattr(self, "announcer", None)
        if announcer is not None:
            announcer.stop_thread()
        try:
            if connection is not None and connection.is_open:
                connection.close()
        except Exception:  # pylint: disable=broad-except
            pass

    def _exit(self, why: str) -> None:
        """End the process with :data:`EXIT_UNREACHABLE`, after saying why."""
        logger.error("%s: exiting with status %d so that a supervisor restarts the extractor", why, EXIT_UNREACHABLE)
        for handler in logging.getLogger().handlers + logger.handlers:
            try:
                handler.flush()
            except Exception:  # pylint: disable=broad-except
                pass
        sys.stdout.flush()
        sys.stderr.flush()
        # pylint: disable-next=protected-access  # SystemExit would end only the listening thread under start()
        os._exit(EXIT_UNREACHABLE)

    def on_message(self, channel: Any, method: Any, header: Any, body: bytes) -> None:
        """Give the message its job id, then process it in a tracked handler."""
        try:
            incoming = request.read(body, self.tracking_settings.id_style)
        except request.BadRequest as exc:
            logger.warning("Message %s on %s refused: %s; moved to error.%s", method.delivery_tag,
                           self.rabbitmq_queue, exc, self.rabbitmq_queue)
            self._refuse(channel, method, header, body)
            return
        except Exception:  # pylint: disable=broad-except
            logger.exception("Could not read the message for tracking: handing it to pyClowder")
            super().on_message(channel, method, header, body)
            return
        for warning in incoming.warnings:
            logger.warning("[%s] %s", incoming.job_id, warning)
        try:
            handler = self._tracked_handler(channel, method, header, incoming)
        except Exception:  # pylint: disable=broad-except
            logger.exception("[%s] could not set up tracking: handing the message to pyClowder", incoming.job_id)
            super().on_message(channel, method, header, body)
            return
        self.worker = handler
        handler.start_thread(incoming.body, self.tracing)

    def _tracked_handler(self, channel: Any, method: Any, header: Any, incoming: request.Request) -> TrackedHandler:
        json_body = incoming.body
        if "routing_key" not in json_body and method.routing_key:
            json_body["routing_key"] = method.routing_key
        job = Job(incoming.job_id, incoming.resource_id, incoming.attempt, bool(method.redelivered),
                  resource_name=incoming.resource_name)
        return TrackedHandler(job, self.tracking_worker, self._wake_connector_thread, self.tap,
                              json_body.get("secretKey"), self.tracking_settings.progress_interval,
                              # pyClowder's RabbitMQHandler arguments, as its on_message passes them
                              self.extractor_name, self.extractor_info, job.job_id, self.check_message,
                              self.process_message, self.ssl_verify, self.mounted_paths, self.clowder_url,
                              method, header, incoming.raw)

    def _wake_connector_thread(self) -> None:
        """Make the connector thread's wait return now, to publish what a job queued.

        One wake-up at a time is enough: the callback clears the flag before the listen loop
        publishes, so whatever is queued after that asks for a wake-up of its own.
        """
        if not self._wake_pending:
            self._wake_pending = True
            try:
                self.connection.add_callback_threadsafe(self._woken)
            except Exception:  # pylint: disable=broad-except
                # The connection is closing: pyClowder's own loop notices that.
                self._wake_pending = False

    def _woken(self) -> None:
        self._wake_pending = False

    def _refuse(self, channel: Any, method: Any, header: Any, body: bytes) -> None:
        """Move a message that cannot be processed to the error queue, as pyClowder does."""
        properties = pika.BasicProperties(delivery_mode=2, reply_to=header.reply_to)
        channel.basic_publish(exchange="", routing_key="error." + self.rabbitmq_queue,
                              properties=properties, body=body)
        channel.basic_ack(method.delivery_tag)


def _where(uri: str) -> str:
    """host:port of a broker URI, without the credentials."""
    try:
        parts = urlsplit(uri)
        return "%s:%s" % (parts.hostname, parts.port or 5672)
    except ValueError:
        return "the configured broker"


class TrackedRabbitMQConnector(JobTrackingMixin, RabbitMQConnector):
    """pyClowder's ``RabbitMQConnector`` with job tracking."""
