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
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

import pika
from pyclowder.connectors import RabbitMQConnector

from pyclowder_jobs.extractor import compat, logs, request, tracing
from pyclowder_jobs.extractor.heartbeat import TrackedBroadcast
from pyclowder_jobs.extractor.handler import TrackedHandler
from pyclowder_jobs.extractor.settings import Settings
from pyclowder_jobs.extractor.tap import open_tap
from pyclowder_jobs.extractor.worker import Job, Worker

logger = logging.getLogger("pyclowder_jobs")


class JobTrackingMixin:
    """Job tracking for a pyClowder ``RabbitMQConnector``: ``class C(JobTrackingMixin, RabbitMQConnector)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tracking_settings = Settings.from_env()
        self.tracking_worker = Worker()
        self.tap = None
        self.tracing = tracing.connector_tracing(self.rabbitmq_queue, self.rabbitmq_uri, self.tracking_worker.id)
        self._wake_pending = False
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
        self.tap = open_tap(self.connection, self.tracking_settings.tap_exchange, self.extractor_info["name"])
        self.announcer = TrackedBroadcast(self, self.tracking_worker, self.tracking_settings.tap_exchange)
        self.announcer.start_thread()

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


class TrackedRabbitMQConnector(JobTrackingMixin, RabbitMQConnector):
    """pyClowder's ``RabbitMQConnector`` with job tracking."""
