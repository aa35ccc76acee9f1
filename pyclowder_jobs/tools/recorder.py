"""Consume the event tap into the store: a durable named queue, batched commits, acks after commit.

The recorder's queue is its own (durable, named), bound to the tap exchange, so events sent while
it is down wait for it.  Messages are taken with manual acks and a large prefetch, written in
batches (by size, or every ``flush_every`` seconds), and acked with ``multiple=True`` only once the
batch is committed: a crash or Ctrl-C loses nothing, and the redelivered copies are skipped by the
store's dedup keys.  A message the store cannot use is kept in its rejected table and acked with
its batch.

When the broker goes away (a restart, a cut connection), the recorder waits for the batches it
handed over to be committed, lets the unacked rest be redelivered, and connects again with
backoff; only when the broker stays away for longer than the reconnect timeout
(``PYCLOWDER_JOBS_RECONNECT_TIMEOUT``, 300 s by default) does it stop with a :class:`BrokerError`.

The store is written by a child process, so that taking messages off the socket and parsing,
folding and committing them run on two cores at once; at most two batches are in flight.  A
batch goes to the writer as the message bodies themselves: pickling a list of bytes costs next
to nothing, where pickling parsed events cost more than parsing them again.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Callable, Deque, List, NoReturn, Optional, Sequence, Tuple
from urllib.parse import urlsplit, urlunsplit

import pika
import pika.exceptions

from pyclowder_jobs.tools.store import Store, StoreError

logger = logging.getLogger("pyclowder_jobs")

DEFAULT_URI = "amqp://guest:guest@127.0.0.1:5672/%2f"
DEFAULT_QUEUE = "pyclowder-jobs.recorder"
DEFAULT_EXCHANGE = "pyclowder.jobs"
#: How many batches may be handed to the writer process before the first is committed.
IN_FLIGHT = 2
#: The size asked for the pipe to the writer: room for a batch of 2,000 tap events of 500 bytes.
PIPE_BYTES = 2 ** 20
#: Seconds the broker may stay away before the recorder gives up (the extractor reads the same variable).
RECONNECT_TIMEOUT_VARIABLE = "PYCLOWDER_JOBS_RECONNECT_TIMEOUT"
RECONNECT_TIMEOUT = 300.0
#: The longest wait between two attempts to reconnect.
MOST_BACKOFF = 5.0


class BrokerError(Exception):
    """The broker cannot be reached or went away; the message names the URI (no password) and the fix."""


@dataclass
class RecordSummary:
    """What a recorder run did."""

    received: int = 0
    new: int = 0
    rejected: int = 0
    batches: int = 0
    seconds: float = 0.0
    reconnects: int = 0

    @property
    def duplicates(self) -> int:
        """Messages that were already stored (redeliveries, copies)."""
        return self.received - self.rejected - self.new

    def line(self, db: str) -> str:
        """One line for the operator."""
        rate = self.received / self.seconds if self.seconds > 0 else 0.0
        line = ("recorded %d new events into %s (%d duplicates, %d rejected) in %d batches, %.1f s, %.0f events/s"
                % (self.new, db, self.duplicates, self.rejected, self.batches, self.seconds, rate))
        if self.reconnects:
            line += "; reconnected to the broker %d times" % self.reconnects
        return line


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
    """Moves tap events from a durable queue into the store at ``path``, one transaction per batch."""

    def __init__(self, path: str, *, uri: str = DEFAULT_URI, queue: str = DEFAULT_QUEUE,
                 exchange: str = DEFAULT_EXCHANGE, bindings: Sequence[str] = ("#",),
                 batch_size: int = 2000, flush_every: float = 0.5, prefetch: Optional[int] = None,
                 reconnect_timeout: Optional[float] = None) -> None:
        """``reconnect_timeout``: seconds the broker may stay away (default: the environment's
        ``PYCLOWDER_JOBS_RECONNECT_TIMEOUT``, else 300; 0 gives up at once)."""
        self.path = path
        self.uri = uri
        self.queue = queue
        self.exchange = exchange
        self.bindings = list(bindings)
        self.batch_size = batch_size
        self.flush_every = flush_every
        # enough unacked messages for the batches in flight and the one being filled
        self.prefetch = prefetch or (IN_FLIGHT + 1) * batch_size
        self.reconnect_timeout = reconnect_timeout_from_env() if reconnect_timeout is None else reconnect_timeout
        self.summary = RecordSummary()
        self._stop = threading.Event()
        self._pending: List[bytes] = []
        self._last_tag = 0
        self._first_pending = 0.0
        self._in_flight: Deque[Tuple[int, int]] = deque()  # (last delivery tag, messages) per batch

    def stop(self) -> None:
        """Ask the running loop to commit what it holds and return (safe from any thread or a signal)."""
        self._stop.set()

    def run(self, *, until: Optional[Callable[["Recorder"], bool]] = None,
            on_batch: Optional[Callable[[RecordSummary], None]] = None) -> RecordSummary:
        """Record until :meth:`stop`, SIGINT/SIGTERM (in the main thread), or ``until(self)`` is true."""
        Store(self.path).close()  # a database that cannot be opened is reported before anything else
        started = time.monotonic()
        restore = _stop_on_signals(self.stop)
        connection = writer = None
        try:
            connection = connect(self.uri)
            writer = _Writer(self.path)
            while True:
                try:
                    self._consume(connection, writer, until, on_batch)
                    return self.summary
                except pika.exceptions.ChannelClosedByBroker as exc:
                    raise BrokerError("the broker at %s refused the recorder's queue or binding (%s %s): check "
                                      "--queue, --exchange and --bind"
                                      % (safe_uri(self.uri), exc.reply_code, exc.reply_text)) from exc
                except (pika.exceptions.AMQPError, OSError) as exc:
                    _close(connection)
                    connection = None
                    self._forget_unacked(writer, on_batch)
                    connection = self._reconnect(exc)
                    if connection is None:
                        return self.summary
        finally:
            restore()
            if writer is not None:
                writer.close()
            self.summary.seconds = time.monotonic() - started
            if connection is not None:
                _close(connection)

    def _consume(self, connection: Any, writer: "_Writer", until: Optional[Callable[["Recorder"], bool]],
                 on_batch: Optional[Callable[[RecordSummary], None]]) -> None:
        """Take messages into batches and ack each batch once committed, until asked to stop."""
        channel = connection.channel()
        channel.exchange_declare(exchange=self.exchange, exchange_type="topic", durable=True)
        channel.queue_declare(queue=self.queue, durable=True)
        for binding in self.bindings:
            channel.queue_bind(queue=self.queue, exchange=self.exchange, routing_key=binding)
        channel.basic_qos(prefetch_count=self.prefetch)
        channel.basic_consume(queue=self.queue, on_message_callback=self._take)
        while not self._stop.is_set() and not (until is not None and until(self)):
            # returns as soon as messages arrive; the limit is how often a committed batch is noticed
            connection.process_data_events(time_limit=min(0.02, self.flush_every))
            # while the writer has its fill, go on taking messages until the next batch is full too
            busy = len(self._in_flight) >= IN_FLIGHT
            self._settle(channel, writer, on_batch, wait=busy and len(self._pending) >= self.batch_size)
            if len(self._in_flight) < IN_FLIGHT and self._due():
                self._hand_over(writer)
        self._hand_over(writer)
        while self._in_flight:
            self._settle(channel, writer, on_batch, wait=True)

    def _forget_unacked(self, writer: "_Writer", on_batch: Optional[Callable[[RecordSummary], None]]) -> None:
        """After the connection is lost: let the writer commit what it was given (its acks cannot be
        sent now; the broker redelivers those messages, and the store skips them as duplicates) and
        drop what it was not given (redelivered as well)."""
        self._pending = []
        while self._in_flight:
            self._settle(None, writer, on_batch, wait=True)

    def _reconnect(self, lost: BaseException) -> Optional[pika.BlockingConnection]:
        """A new connection, tried with backoff until the reconnect timeout; None when asked to stop first."""
        deadline = time.monotonic() + self.reconnect_timeout
        logger.warning("Lost the broker at %s (%s): what was committed is acked, the rest will be redelivered; "
                       "reconnecting for up to %.0f s", safe_uri(self.uri), type(lost).__name__,
                       self.reconnect_timeout)
        delay = 0.2
        while not self._stop.is_set():
            try:
                connection = pika.BlockingConnection(pika.URLParameters(self.uri))
            except (pika.exceptions.AMQPError, OSError, ValueError) as exc:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BrokerError("lost the broker at %s (%s) and could not reconnect within %.0f s (%s): what "
                                      "was committed is acked, the rest will be redelivered; restart the recorder "
                                      "once RabbitMQ is back" % (safe_uri(self.uri), type(lost).__name__,
                                                                  self.reconnect_timeout, type(exc).__name__)) from exc
                self._stop.wait(min(delay, left))
                delay = min(MOST_BACKOFF, delay * 2) * random.uniform(0.8, 1.2)
                continue
            self.summary.reconnects += 1
            logger.warning("Reconnected to the broker at %s", safe_uri(self.uri))
            return connection
        return None

    def _take(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        if not self._pending:
            self._first_pending = time.monotonic()
        self._pending.append(body)
        self._last_tag = method.delivery_tag

    def _due(self) -> bool:
        """Whether the pending messages make a batch: enough of them, or the oldest waited long enough."""
        return bool(self._pending) and (len(self._pending) >= self.batch_size
                                        or time.monotonic() - self._first_pending >= self.flush_every)

    def _hand_over(self, writer: "_Writer") -> None:
        """Give the pending messages to the writer as one batch."""
        if self._pending:
            writer.send(self._pending)
            self._in_flight.append((self._last_tag, len(self._pending)))
            self._pending = []

    def _settle(self, channel: Any, writer: "_Writer", on_batch: Optional[Callable[[RecordSummary], None]],
                wait: bool) -> None:
        """Ack every batch the writer has committed (``wait``: block for the oldest one); with no
        ``channel`` (the connection is lost) only count them."""
        while self._in_flight and writer.ready(0.5 if wait else 0):
            new, rejected = writer.result()
            tag, count = self._in_flight.popleft()
            if channel is not None:
                channel.basic_ack(delivery_tag=tag, multiple=True)
            self.summary.received += count
            self.summary.new += new
            self.summary.rejected += rejected
            self.summary.batches += 1
            wait = False
            if on_batch is not None:
                on_batch(self.summary)


class _Writer:
    """The child process that folds and commits batches to the store (``python -m`` this module)."""

    def __init__(self, path: str) -> None:
        to_child, to_us = os.pipe(), os.pipe()
        _widen(to_child[1])
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__, path, str(to_child[0]), str(to_us[1])],
            pass_fds=(to_child[0], to_us[1]), start_new_session=True)  # Ctrl-C is the parent's to handle
        os.close(to_child[0])
        os.close(to_us[1])
        self._out = Connection(to_child[1], readable=False)
        self._in = Connection(to_us[0], writable=False)

    def send(self, bodies: List[bytes]) -> None:
        """Hand a batch of message bodies to the writer."""
        try:
            self._out.send(bodies)
        except OSError:
            self._died()

    def ready(self, timeout: float) -> bool:
        """True once the writer has answered for the oldest batch (waits up to ``timeout`` seconds)."""
        return self._in.poll(timeout)

    def result(self) -> Tuple[int, int]:
        """(new events, rejected messages) of the oldest batch sent; raises what the writer met."""
        try:
            found = self._in.recv()
        except (EOFError, OSError):
            self._died()
        if isinstance(found, str):
            raise StoreError(found)
        return found

    def close(self) -> None:
        """Let the writer finish what it has and stop."""
        self._out.close()  # the writer ends when its input ends
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._in.close()

    def _died(self) -> NoReturn:
        raise StoreError("the store writer stopped unexpectedly (exit code %s): nothing after its last commit "
                         "was acked; start the recorder again" % self._process.poll())


def _widen(pipe: int) -> None:
    """Let ``pipe`` hold a whole batch (1 MB, where Linux allows it; elsewhere it stays as it is).

    Through a 64 kB pipe a batch goes in a dozen chunks, and the writer's receiving thread
    needs the interpreter lock back between two of them, which its folding thread holds for
    up to 5 ms at a time: the consumer waited in ``send`` for an eighth of its time, taking no
    messages meanwhile.
    """
    try:
        import fcntl  # pylint: disable=import-outside-toplevel  # not on every system
        fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass


def _write(path: str, inbox: Connection, outbox: Connection) -> None:
    """The writer process: one transaction per batch received; replies (new, rejected) or an error text.

    A thread keeps taking batches off the pipe while the last one is committed, so that the
    consuming process never waits for the pipe to be read.
    """
    store = Store(path)
    batches: "queue.Queue[Optional[List[bytes]]]" = queue.Queue()

    def receive() -> None:
        """Move batches from the pipe to the queue until the pipe ends."""
        while True:
            try:
                batches.put(inbox.recv())
            except (EOFError, OSError):
                batches.put(None)
                return

    threading.Thread(target=receive, name="receive", daemon=True).start()
    try:
        while True:
            batch = batches.get()
            if batch is None:
                return
            try:
                new, rejected = store.add_raw(batch, source="recorder")
            except StoreError as exc:  # a fault of the database itself: it names the cause
                outbox.send(str(exc))
                return
            except Exception as exc:  # pylint: disable=broad-except
                outbox.send("the store failed on a batch of %d messages (%s: %s); nothing of it was acked"
                            % (len(batch), type(exc).__name__, exc))
                return
            outbox.send((new, rejected))
    finally:
        store.close()


def reconnect_timeout_from_env() -> float:
    """Seconds from ``PYCLOWDER_JOBS_RECONNECT_TIMEOUT`` (300 when unset or not a number of seconds)."""
    text = os.environ.get(RECONNECT_TIMEOUT_VARIABLE)
    if text is None:
        return RECONNECT_TIMEOUT
    try:
        return max(0.0, float(text))
    except ValueError:
        logger.warning("%s=%r is not a number of seconds: using %.0f", RECONNECT_TIMEOUT_VARIABLE, text[:32],
                       RECONNECT_TIMEOUT)
        return RECONNECT_TIMEOUT


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


if __name__ == "__main__":  # the writer process started by _Writer: DB path, input fd, output fd
    _write(sys.argv[1], Connection(int(sys.argv[2]), writable=False), Connection(int(sys.argv[3]), readable=False))
