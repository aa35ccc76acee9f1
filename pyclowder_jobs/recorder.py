"""Consume the event tap into the store: a durable named queue, batched commits, acks after commit.

The recorder's queue is its own (durable, named), bound to the tap exchange, so events sent while
it is down wait for it.  Messages are taken with manual acks and a large prefetch, written in
batches (by size, or every ``flush_every`` seconds), and acked with ``multiple=True`` only once the
batch is committed: a crash or Ctrl-C loses nothing, and the redelivered copies are skipped by the
store's dedup keys.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence
from urllib.parse import urlsplit, urlunsplit

import pika
import pika.exceptions

from pyclowder_jobs.store import Store

DEFAULT_URI = "amqp://guest:guest@127.0.0.1:5672/%2f"
DEFAULT_QUEUE = "pyclowder-jobs.recorder"
DEFAULT_EXCHANGE = "pyclowder.jobs"


class BrokerError(Exception):
    """The broker cannot be reached or went away; the message names the URI (no password) and the fix."""


@dataclass
class RecordSummary:
    """What a recorder run did."""

    received: int = 0
    new: int = 0
    malformed: int = 0
    batches: int = 0
    seconds: float = 0.0

    @property
    def duplicates(self) -> int:
        return self.received - self.malformed - self.new

    def line(self, db: str) -> str:
        """One line for the operator."""
        rate = self.received / self.seconds if self.seconds > 0 else 0.0
        return ("recorded %d new events into %s (%d duplicates, %d malformed) in %d batches, %.1f s, %.0f events/s"
                % (self.new, db, self.duplicates, self.malformed, self.batches, self.seconds, rate))


def safe_uri(uri: str) -> str:
    """The URI with its password left out, fit to print."""
    try:
        parts = urlsplit(uri)
        if parts.password is None:
            return uri
        netloc = "%s@%s" % (parts.username or "", parts.hostname or "")
        if parts.port:
            netloc += ":%d" % parts.port
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    except ValueError:
        return "<unreadable URI>"


def connect(uri: str) -> pika.BlockingConnection:
    """A blocking connection to ``uri``, or a BrokerError that says what to do."""
    try:
        return pika.BlockingConnection(pika.URLParameters(uri))
    except (pika.exceptions.AMQPError, OSError, ValueError) as exc:
        raise BrokerError("cannot reach the broker at %s (%s): start RabbitMQ there, or give the right one "
                          "with --rabbitmq-uri or RABBITMQ_URI" % (safe_uri(uri), type(exc).__name__)) from exc


class Recorder:
    """Moves tap events from a durable queue into a :class:`Store`, one transaction per batch."""

    def __init__(self, store: Store, *, uri: str = DEFAULT_URI, queue: str = DEFAULT_QUEUE,
                 exchange: str = DEFAULT_EXCHANGE, bindings: Sequence[str] = ("#",),
                 batch_size: int = 1000, flush_every: float = 0.5, prefetch: int = 4000) -> None:
        self.store = store
        self.uri = uri
        self.queue = queue
        self.exchange = exchange
        self.bindings = list(bindings)
        self.batch_size = batch_size
        self.flush_every = flush_every
        self.prefetch = prefetch
        self.summary = RecordSummary()
        self._stop = threading.Event()
        self._pending: List[bytes] = []
        self._last_tag = 0
        self._first_pending = 0.0

    def stop(self) -> None:
        """Ask the running loop to commit what it holds and return (safe from any thread or a signal)."""
        self._stop.set()

    def run(self, *, until: Optional[Callable[["Recorder"], bool]] = None,
            on_batch: Optional[Callable[[RecordSummary], None]] = None) -> RecordSummary:
        """Record until :meth:`stop`, SIGINT/SIGTERM (in the main thread), or ``until(self)`` is true."""
        started = time.monotonic()
        restore = _stop_on_signals(self.stop)
        connection = connect(self.uri)
        try:
            channel = connection.channel()
            channel.exchange_declare(exchange=self.exchange, exchange_type="topic", durable=True)
            channel.queue_declare(queue=self.queue, durable=True)
            for binding in self.bindings:
                channel.queue_bind(queue=self.queue, exchange=self.exchange, routing_key=binding)
            channel.basic_qos(prefetch_count=self.prefetch)
            channel.basic_consume(queue=self.queue, on_message_callback=self._take)
            while not self._stop.is_set() and not (until is not None and until(self)):
                connection.process_data_events(time_limit=min(0.1, self.flush_every))
                if self._pending and (len(self._pending) >= self.batch_size
                                      or time.monotonic() - self._first_pending >= self.flush_every):
                    self._flush(channel, on_batch)
            self._flush(channel, on_batch)
        except pika.exceptions.ChannelClosedByBroker as exc:
            raise BrokerError("the broker at %s refused the recorder's queue or binding (%s %s): check --queue, "
                              "--exchange and --bind" % (safe_uri(self.uri), exc.reply_code, exc.reply_text)) from exc
        except (pika.exceptions.AMQPError, OSError) as exc:
            raise BrokerError("lost the broker at %s (%s): what was committed is acked, the rest will be "
                              "redelivered; restart the recorder once RabbitMQ is back"
                              % (safe_uri(self.uri), type(exc).__name__)) from exc
        finally:
            restore()
            self.summary.seconds = time.monotonic() - started
            _close(connection)
        return self.summary

    def _take(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        if not self._pending:
            self._first_pending = time.monotonic()
        self._pending.append(body)
        self._last_tag = method.delivery_tag

    def _flush(self, channel: Any, on_batch: Optional[Callable[[RecordSummary], None]]) -> None:
        """Commit the pending messages as one batch, then ack them all at once."""
        if not self._pending:
            return
        bodies, self._pending = self._pending, []
        events, malformed = parse_bodies(bodies)
        self.summary.new += self.store.add_events(events) if events else 0
        channel.basic_ack(delivery_tag=self._last_tag, multiple=True)
        self.summary.received += len(bodies)
        self.summary.malformed += malformed
        self.summary.batches += 1
        if on_batch is not None:
            on_batch(self.summary)


def parse_bodies(bodies: Sequence[bytes]) -> tuple:
    """(the JSON objects among ``bodies``, how many were not JSON objects)."""
    events, malformed = [], 0
    loads = json.loads
    for body in bodies:
        try:
            event = loads(body)
        except ValueError:
            malformed += 1
            continue
        if type(event) is dict:
            events.append(event)
        else:
            malformed += 1
    return events, malformed


def _stop_on_signals(stop: Callable[[], None]) -> Callable[[], None]:
    """Make SIGINT and SIGTERM call ``stop`` (main thread only); returns what puts the old handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in previous:
        signal.signal(number, lambda *_: stop())

    def restore() -> None:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return restore


def _close(connection: Any) -> None:
    try:
        if connection.is_open:
            connection.close()
    except Exception:  # pylint: disable=broad-except
        pass
