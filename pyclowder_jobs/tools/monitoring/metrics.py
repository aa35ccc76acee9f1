"""Prometheus metrics of a store, computed when scraped (``docs/monitoring.rst``).

:class:`StoreCollector` reads :meth:`~pyclowder_jobs.tools.store.Store.metrics` at each scrape and
yields metric families, so every process that serves one store (several ``serve``, a ``record``)
gives the same figures.  Names follow Prometheus' rules: one prefix (``pyclowder_jobs_``), seconds,
``_total`` on counters; labels are bounded: ``extractor``, ``status`` and ``queue`` only, never a
job, resource, user, worker or host.

``pyclowder-jobs serve`` answers ``/metrics`` with :func:`exposition`; ``pyclowder-jobs record
--metrics-port`` serves a registry of :func:`registry` with ``prometheus_client``'s own server, and
adds each extractor queue's ready messages and consumers from :class:`QueueWatch`.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Set, Tuple

import pika
import pika.exceptions
from prometheus_client import start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

from pyclowder_jobs.tools.store import DURATION_BUCKETS, Store

logger = logging.getLogger("pyclowder_jobs")

#: The prefix of every metric.
PREFIX = "pyclowder_jobs_"
#: Upper bounds of the run-time and queue-wait histograms, in seconds (the store's; ``+Inf`` follows).
BUCKETS = DURATION_BUCKETS
#: Seconds between two looks at the extractor queues (passive declares) while recording.
QUEUE_INTERVAL = 10.0
#: A queue's figures older than this many intervals are left out (the broker went away).
QUEUE_FRESH = 3
#: The longest queue name AMQP allows, in bytes.
MAX_QUEUE_NAME = 255

#: The figures of :meth:`Store.metrics`.
Figures = Dict[str, Any]
#: A queue's (ready messages, consumers).
QueueFigures = Tuple[int, int]


class StoreCollector(Collector):
    """The metrics of a store, read by ``figures()`` (a :meth:`Store.metrics` call) at each scrape.

    ``queues``, when given, gives each extractor queue's ready messages and consumers.
    """

    def __init__(self, figures: Callable[[], Figures],
                 queues: Optional[Callable[[], Mapping[str, QueueFigures]]] = None) -> None:
        self._figures = figures
        self._queues = queues
        #: The extractors that had waiting jobs at the latest scrape (whose queues are worth a look).
        self.waiting: Set[str] = set()

    def collect(self) -> Iterator[Metric]:
        """The metric families, as of now."""
        figures = self._figures()
        self.waiting = set(figures["waiting"])
        yield from families(figures)
        if self._queues is not None:
            yield from queue_families(self._queues())

    def describe(self) -> Iterable[Metric]:
        """Nothing: the families are known only when collected (so registering never reads the store)."""
        return ()


def families(figures: Figures) -> Iterator[Metric]:
    """The metric families of :meth:`Store.metrics`'s figures; every extractor gets each gauge, 0 included."""
    extractors: List[str] = figures["extractors"]
    finished = CounterMetricFamily(
        PREFIX + "jobs_finished", "Jobs that ended, by extractor and final status (SUCCEEDED, FAILED, SKIPPED, "
        "CANCELLED, or LOST: its worker went away)", labels=("extractor", "status"))
    for (extractor, status), count in sorted(figures["finished"].items()):
        finished.add_metric((extractor, status), count)
    yield finished
    yield _histogram("job_run_time_seconds", "Run time of the last attempt of finished jobs, in seconds",
                     figures["run_time"])
    yield _histogram("job_queue_wait_seconds", "Time from submission to the first start of started jobs, "
                     "in seconds", figures["queue_wait"])
    for name, key, text in (
            ("jobs_running", "running", "Unfinished jobs that started and whose worker is alive (or unknown)"),
            ("jobs_waiting", "waiting", "Jobs submitted (or resubmitted) and not started yet"),
            ("jobs_unclaimed", "unclaimed", "Waiting jobs while no worker of their extractor is alive "
                                            "(no heartbeat within 3 intervals)"),
            ("jobs_lost", "lost", "Unfinished jobs whose worker went away (LOST)"),
            ("workers_up", "workers_up", "Workers alive (a heartbeat within 3 intervals), by the extractor "
                                         "their heartbeats name")):
        gauge = GaugeMetricFamily(PREFIX + name, text, labels=("extractor",))
        counts = figures[key]
        for extractor in extractors:
            gauge.add_metric((extractor,), counts.get(extractor, 0))
        yield gauge
    yield CounterMetricFamily(PREFIX + "rejected_events", "Documents the store could not keep or fold (in its "
                              "rejected table: pyclowder-jobs rejected lists them)", value=figures["rejected"])


def queue_families(queues: Mapping[str, QueueFigures]) -> Iterator[Metric]:
    """Each extractor queue's ready messages and consumers, as two gauges."""
    ready = GaugeMetricFamily(PREFIX + "queue_messages_ready", "Requests waiting in the extractor's queue",
                              labels=("queue",))
    consumers = GaugeMetricFamily(PREFIX + "queue_consumers", "Consumers of the extractor's queue (its workers)",
                                  labels=("queue",))
    for queue, (messages, count) in sorted(queues.items()):
        ready.add_metric((queue,), messages)
        consumers.add_metric((queue,), count)
    yield ready
    yield consumers


def _histogram(name: str, text: str, histograms: Mapping[str, Tuple[List[int], float]]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(PREFIX + name, text, labels=("extractor",))
    for extractor, (counts, seconds) in sorted(histograms.items()):
        cumulative, total = [], 0
        for bound, count in zip(BUCKETS + (float("inf"),), counts):
            total += count
            cumulative.append(("+Inf" if bound == float("inf") else _bound(bound), total))
        family.add_metric((extractor,), cumulative, sum_value=seconds)
    return family


def _bound(bound: float) -> str:
    """A bucket's ``le`` as ``prometheus_client``'s own histograms write it: ``60.0``, ``0.1``."""
    return floatToGoString(bound)


def registry(collector: StoreCollector) -> CollectorRegistry:
    """A registry of ``collector`` alone (no process or platform metrics: they are not the store's)."""
    found = CollectorRegistry(auto_describe=False)
    found.register(collector)
    return found


def exposition(collector_registry: CollectorRegistry, accept: Optional[str]) -> Tuple[bytes, str]:
    """(body, content type) of a scrape, in the format the scraper's ``Accept`` header asks for."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(collector_registry), content_type


class QueueWatch:
    """Each extractor queue's ready messages and consumers, from passive declares every ``interval`` seconds.

    It runs in a thread of its own, on a connection of its own, so the recorder it serves is never
    disturbed: a broker that goes away only leaves the figures out until it is back.  ``names()``
    gives the queues to look at (those the heartbeats name, and the extractors with waiting jobs);
    a queue that does not exist is left out.
    """

    def __init__(self, uri: str, names: Callable[[], Iterable[str]], *, interval: float = QUEUE_INTERVAL) -> None:
        self.uri = uri
        self.interval = interval
        self._names = names
        self._figures: Dict[str, Tuple[float, QueueFigures]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pyclowder-jobs queue watch", daemon=True)

    def start(self) -> "QueueWatch":
        """Start looking."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop looking (within a second or so)."""
        self._stop.set()
        self._thread.join(timeout=10)

    def figures(self) -> Dict[str, QueueFigures]:
        """The latest fresh figures of each queue."""
        horizon = time.monotonic() - QUEUE_FRESH * self.interval
        with self._lock:
            return {queue: found for queue, (at, found) in self._figures.items() if at >= horizon}

    def _run(self) -> None:
        connection = None
        while not self._stop.is_set():
            try:
                if connection is None or not connection.is_open:
                    connection = pika.BlockingConnection(pika.URLParameters(self.uri))
                self._look(connection)
                deadline = time.monotonic() + self.interval
                while not self._stop.is_set() and time.monotonic() < deadline:
                    connection.process_data_events(time_limit=min(1.0, self.interval))  # keeps the connection alive
            except (pika.exceptions.AMQPError, OSError, ValueError) as exc:
                logger.warning("metrics: cannot look at the extractor queues (%s); trying again in %.0f s",
                               type(exc).__name__, self.interval)
                _close(connection)
                connection = None
                self._stop.wait(self.interval)
            except Exception:  # pylint: disable=broad-except  # names() read a store that failed
                logger.exception("metrics: the names of the extractor queues could not be read")
                self._stop.wait(self.interval)
        _close(connection)

    def _look(self, connection: Any) -> None:
        """One passive declare per queue; a missing queue closes its channel, which is opened again."""
        channel = connection.channel()
        found: Dict[str, Tuple[float, QueueFigures]] = {}
        for queue in sorted(set(self._names())):
            if not 0 < len(queue.encode("utf-8", "replace")) <= MAX_QUEUE_NAME:
                continue
            try:
                declared = channel.queue_declare(queue=queue, passive=True)
            except pika.exceptions.ChannelClosedByBroker:  # no such queue (404), or a name the broker refuses
                channel = connection.channel()
                continue
            found[queue] = (time.monotonic(), (declared.method.message_count, declared.method.consumer_count))
        if channel.is_open:
            channel.close()
        with self._lock:
            self._figures = found


class MetricsServer:
    """``record --metrics-port``: the store's metrics and the extractor queues' figures on
    ``prometheus_client``'s own HTTP server, read from a connection to the store of its own."""

    def __init__(self, db: str, uri: str, *, interval: float = QUEUE_INTERVAL) -> None:
        self.store = Store(db)
        self.watch = QueueWatch(uri, self._queue_names, interval=interval)
        self.collector = StoreCollector(self.store.metrics, self.watch.figures)
        self.url = ""
        self._server: Any = None

    def start(self, host: str, port: int) -> None:
        """Listen on ``host:port`` (0: any free port; see :attr:`url`) and start looking at the queues."""
        self._server, _ = start_http_server(port, addr=host, registry=registry(self.collector))
        shown = "[%s]" % host if ":" in host else host
        self.url = "http://%s:%d/metrics" % (shown, self._server.server_port)
        self.watch.start()

    def stop(self) -> None:
        """Stop serving and looking, and close the store."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self.watch.stop()
        self.store.close()

    def _queue_names(self) -> Set[str]:
        return heartbeat_queues(self.store.heartbeats()) | self.collector.waiting


def heartbeat_queues(heartbeats: Iterable[Mapping[str, Any]]) -> Set[str]:
    """The queues named by heartbeats' ``queue`` fields."""
    return {beat["queue"] for beat in heartbeats if type(beat.get("queue")) is str and beat["queue"].strip()}


def _close(connection: Any) -> None:
    try:
        if connection is not None and connection.is_open:
            connection.close()
    except Exception:  # pylint: disable=broad-except
        pass
