"""The event tap: a copy of every status, progress and log event and every heartbeat (``docs/wire.rst``).

Clowder's reply queue has one consumer, so watchers get their own copy: each event is published to
a topic exchange (``pyclowder.jobs`` by default) with the routing key ``<extractor>.<kind>``,
persistent unless ``PYCLOWDER_JOBS_TAP_PERSISTENT`` is off, so that what waits in a recorder's
durable queue survives a broker restart. The tap has its own channel, used only from the thread that owns the
connection; a failure there is logged and the tap rests a while, never disturbing the extractor.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Optional

import pika

logger = logging.getLogger("pyclowder_jobs")

#: Seconds the tap rests after a failure before it tries again.
RETRY_AFTER = 30.0

_TRANSIENT = pika.BasicProperties(delivery_mode=1, content_type="application/json")
_PERSISTENT = pika.BasicProperties(delivery_mode=2, content_type="application/json")


class Tap:
    """Publishes copies of one extractor's events on a channel of its own."""

    def __init__(self, connection: Any, exchange: str, extractor: str, persistent: bool = True) -> None:
        self.connection = connection
        self.exchange = exchange
        self.extractor = extractor
        self.properties = _PERSISTENT if persistent else _TRANSIENT
        self._channel: Optional[Any] = None
        self._resting_until = 0.0

    def publish(self, kind: str, body: str) -> None:
        """Publish an event, ``body`` its JSON, as ``<extractor>.<kind>``; call it from the connection's thread."""
        if time.monotonic() < self._resting_until:
            return
        try:
            if self._channel is None or not self._channel.is_open:
                self._open_channel()
            self._channel.basic_publish(exchange=self.exchange, routing_key="%s.%s" % (self.extractor, kind),
                                        body=body, properties=self.properties)
        except Exception as exc:  # pylint: disable=broad-except
            self._rest(exc)

    def open(self) -> "Tap":
        """Open the channel now, so that the first event costs no round trips to the broker."""
        try:
            self._open_channel()
        except Exception as exc:  # pylint: disable=broad-except
            self._rest(exc)
        return self

    def _open_channel(self) -> None:
        self._channel = self.connection.channel()
        self._channel.exchange_declare(exchange=self.exchange, exchange_type="topic", durable=True)

    def _rest(self, exc: Exception) -> None:
        logger.warning("Could not publish to the event tap %r (%s): trying again in %.0f s",
                       self.exchange, exc, RETRY_AFTER)
        self._resting_until = time.monotonic() + RETRY_AFTER
        self._close()

    def _close(self) -> None:
        channel, self._channel = self._channel, None
        try:
            if channel is not None and channel.is_open:
                channel.close()
        except Exception:  # pylint: disable=broad-except
            pass


def open_tap(connection: Any, exchange: str, extractor: str, persistent: bool = True) -> Optional[Tap]:
    """A tap for ``extractor`` on ``connection``, its channel open, or None when the exchange name
    is empty (tap off). Call it from the connection's thread."""
    return Tap(connection, exchange, extractor, persistent).open() if exchange else None
