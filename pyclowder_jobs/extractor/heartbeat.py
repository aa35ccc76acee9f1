"""The heartbeat: pyClowder's announcement on the ``extractors`` fanout, with ``tracking`` (``docs/wire.rst``).

Each heartbeat keeps pyClowder's fields (``id``, ``queue``, ``owner`` on 3.x, ``extractor_info``)
and adds ``tracking``: host, pid, interval, time, sequence number, jobs processed and the jobs
running now; a copy goes to the event tap. Unlike pyClowder's, this loop survives a broken
connection: it reconnects at the next beat instead of ending the heartbeat thread for good.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Dict

import pika
from pyclowder.connectors import RabbitMQBroadcast

from pyclowder_jobs.protocol import tracking
from pyclowder_jobs.extractor import compat
from pyclowder_jobs.extractor.tap import open_tap
from pyclowder_jobs.extractor.worker import Worker

logger = logging.getLogger("pyclowder_jobs")


class TrackedBroadcast(RabbitMQBroadcast):
    """Publishes a tracked heartbeat every ``heartbeat`` seconds from a daemon thread."""

    def __init__(self, connector: Any, worker: Worker, tap_exchange: str = "", tap_persistent: bool = True) -> None:
        super().__init__(**compat.broadcast_arguments(connector))
        self.id = worker.id
        self.tracking_worker = worker
        self.tap_exchange = tap_exchange
        self.tap_persistent = tap_persistent
        self.tap = None

    def message(self) -> Dict[str, Any]:
        """The heartbeat as it is sent now."""
        message = compat.heartbeat_fields(self)
        message["extractor_info"] = self.extractor_info
        worker = self.tracking_worker
        message["tracking"] = tracking.heartbeat_tracking(worker.host, worker.pid, self.heartbeat, time.time(),
                                                      worker.next_seq(), worker.processed, worker.running())
        return message

    def send_heartbeat(self) -> None:
        self.tap = open_tap(self.connection, self.tap_exchange, self.extractor_info["name"], self.tap_persistent)
        next_beat = time.monotonic()
        while self.thread:
            try:
                if self.channel is None or self.channel.is_closed:
                    self._reconnect()
                if time.monotonic() >= next_beat:
                    body = json.dumps(self.message())
                    self.channel.basic_publish(exchange="extractors", routing_key="", body=body)
                    if self.tap is not None:
                        self.tap.publish("heartbeat", body)
                    next_beat = time.monotonic() + self.heartbeat
                self.channel.connection.process_data_events(time_limit=max(0.0, min(1.0, next_beat - time.monotonic())))
            except Exception:  # pylint: disable=broad-except
                logger.warning("Could not send the heartbeat: trying again in %.0f s", min(self.heartbeat, 5.0),
                               exc_info=True)
                self.channel = None
                time.sleep(min(self.heartbeat, 5.0))
        self._close()

    def _reconnect(self) -> None:
        self._close()
        self.connection = pika.BlockingConnection(pika.URLParameters(self.rabbitmq_uri))
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange="extractors", exchange_type="fanout", durable=True)
        self.tap = open_tap(self.connection, self.tap_exchange, self.extractor_info["name"], self.tap_persistent)

    def _close(self) -> None:
        try:
            if self.connection is not None and self.connection.is_open:
                self.connection.close()
        except Exception:  # pylint: disable=broad-except
            pass
