"""Extractor-side benchmark: plain pyClowder against the tracked connector, in one run.

Three figures, each for plain pyClowder and for the tracked connector, printed with their ratios
and the targets of DESIGN.md section 6:

1. Throughput on the real broker: a queue pre-loaded with no-op jobs, messages per second from
   the first to the last ``StatusMessage.done`` reply (target: tracked at least 20x plain).
2. Status latency on the real broker: emit time in the job thread to arrival at a consumer on the
   reply queue, same machine and clock (target: tracked p99 under 20 ms).
3. CPU per message with no broker: pyClowder's own ``on_message`` -> handler -> publish path
   against the tracked one, driven with fake channel objects (target: at most 5 % more).

Benchmarks are not tests: slow figures never fail the run. The exit status is 0 with the
figures, 1 when something broke (an extractor died, replies stopped coming), 2 when RabbitMQ
cannot be reached. Run from anywhere: ``python benchmarks/bench_extractor.py [--quick]``; it
measures the ``pyclowder_jobs`` of the tree it is in.
"""

import argparse
import calendar
import contextlib
import cProfile
import io
import json
import logging
import math
import multiprocessing
import os
import platform
import pstats
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlparse

import pika
import pika.exceptions
import pika.spec
from pyclowder.utils import CheckMessage

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # measure this tree's pyclowder_jobs, not an installed copy

import pyclowder_jobs  # noqa: E402
from pyclowder_jobs.protocol.ids import objectid  # noqa: E402
from pyclowder_jobs.testing.clowder import file_request  # noqa: E402
from stamping_extractor import STAMP  # noqa: E402

RABBITMQ_URI = os.environ.get("RABBITMQ_URI", "amqp://guest:guest@127.0.0.1:5672/%2f")
BEHAVE = REPO / "examples" / "behave"
PLAIN_SCRIPT = BEHAVE / "plain.py"
#: The behave extractor's name (its tap routing keys start with it) and the tap's exchange.
BEHAVE_NAME = "pyclowder-jobs.behave"
TAP_EXCHANGE = "pyclowder.jobs"
TRACKED_SCRIPT = BEHAVE / "with_mixin.py"
STAMPING_SCRIPT = Path(__file__).resolve().parent / "stamping_extractor.py"
DONE = "StatusMessage.done"
HOST = "http://127.0.0.1:9/"
SECRET = "bench-secret-key"
#: pyClowder's default log format (``pyclowder.utils.setup_logging`` without a configuration).
PYCLOWDER_LOG_FORMAT = "%(asctime)-15s [%(threadName)-15s] %(levelname)-7s : %(name)s - %(message)s"
#: Seconds an extractor may take to start and answer its first job.
STARTUP_SECONDS = 30.0
#: The two paths of the CPU harness, the messages per timed chunk, before timing, and when profiling.
KINDS = ("plain", "tracked")
CHUNK = 200
WARMUP = 300
PROFILED = 3000

TARGET_RATIO = 20.0
TARGET_P99_MS = 20.0
TARGET_CPU_OVERHEAD = 5.0


class BenchmarkBroke(Exception):
    """Something failed that a slow figure cannot explain: the run has no valid figures."""


# -- the broker side ------------------------------------------------------------------------------


class ReplyListener:
    """One broker connection: publishes requests as Clowder v1 does and timestamps replies on arrival.

    Replies are consumed (pushed, not polled), so the arrival time is when the reply reaches this
    consumer, give or take the time to read the frame.
    """

    def __init__(self, uri):
        self.connection = pika.BlockingConnection(pika.URLParameters(uri))
        self.channel = self.connection.channel()
        declared = self.channel.queue_declare(queue="clowder.bench-" + uuid.uuid4().hex[:12], exclusive=True)
        self.reply_queue = declared.method.queue
        self.channel.basic_consume(self.reply_queue, self._arrived, auto_ack=True)
        self.replies = []
        self.done = 0

    def _arrived(self, channel, method, properties, body):
        arrival = time.time()
        reply = json.loads(body)
        self.replies.append((arrival, reply))
        if reply.get("message_type") == DONE:
            self.done += 1

    def reset(self):
        """Forget the replies of the previous measurement."""
        self.replies = []
        self.done = 0

    def declare(self, queue):
        """Declare an extractor's queue and error queue as pyClowder does."""
        for name in (queue, "error." + queue):
            self.channel.queue_declare(queue=name, durable=True)

    def delete(self, queue):
        """Delete an extractor's queue and error queue."""
        for name in (queue, "error." + queue):
            self.channel.queue_delete(queue=name)

    def publish(self, queue, body):
        """Publish a request the way Clowder v1 does: persistent, with reply_to and correlation_id."""
        properties = pika.BasicProperties(delivery_mode=2, reply_to=self.reply_queue,
                                          correlation_id=str(uuid.uuid4()))
        self.channel.basic_publish(exchange="", routing_key=queue, body=json.dumps(body), properties=properties)

    def wait_for_done(self, count, timeout, extractor):
        """Consume replies until ``count`` jobs have sent their done status."""
        deadline = time.monotonic() + timeout
        while self.done < count:
            extractor.check_alive()
            if time.monotonic() > deadline:
                raise BenchmarkBroke("%s: %d of %d jobs done after %.0f s; its log ends with:\n%s"
                                     % (extractor.name, self.done, count, timeout, extractor.log_tail()))
            self.connection.process_data_events(time_limit=0.05)

    def close(self):
        """Close the connection; one the broker has already dropped is left as it is."""
        with contextlib.suppress(pika.exceptions.AMQPError):
            if self.connection.is_open:
                self.connection.close()


class ExtractorProcess:
    """An extractor script running as a subprocess on its own queue, its output in a log file."""

    def __init__(self, script, queue, log_dir, env=None):
        self.name = script.name
        self.log_path = Path(log_dir) / ("%s-%s.log" % (script.stem, queue))
        environment = dict(os.environ, RABBITMQ_URI=RABBITMQ_URI, RABBITMQ_QUEUE=queue, HEARTBEAT="300",
                           PYTHONUNBUFFERED="1",
                           PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        environment.update(env or {})
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen([sys.executable, str(script)], cwd=BEHAVE, env=environment,
                                            stdout=log, stderr=subprocess.STDOUT)

    def check_alive(self):
        """Raise :class:`BenchmarkBroke`, with the end of its log, if the extractor has exited."""
        if self.process.poll() is not None:
            raise BenchmarkBroke("%s exited with status %s; its log ends with:\n%s"
                                 % (self.name, self.process.returncode, self.log_tail()))

    def log_tail(self, lines=15):
        """The last lines the extractor wrote."""
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self):
        """Terminate the extractor; kill it if it has not exited within 10 seconds."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def extractor_on_fresh_queue(listener, script, log_dir, preload=0, env=None):
    """Run ``script`` on a new queue holding ``preload`` no-op jobs; stop it and delete its queues after."""
    queue = "bench.%s" % uuid.uuid4().hex[:12]
    listener.declare(queue)
    extractor = None
    try:
        for number in range(preload):
            listener.publish(queue, request_body(queue, number))
        extractor = ExtractorProcess(script, queue, log_dir, env)
        yield queue, extractor
    finally:
        if extractor is not None:
            extractor.stop()
        listener.delete(queue)


def request_body(queue, number, parameters=None):
    """A Clowder v1 (>= 1.11) request for one file, with its job id."""
    return file_request(1, HOST, "bench-file-%d" % number, queue=queue, secret_key=SECRET,
                        job_id=objectid(), parameters=parameters)


def measure_throughput(listener, script, count, log_dir, seconds_per_job, env=None):
    """Messages per second of ``script`` on a queue pre-loaded with ``count`` no-op jobs.

    Measured from the first to the last done reply, so start-up does not count: ``count - 1``
    jobs finish in that interval. Returns the rate and the replies with their arrival times.
    """
    listener.reset()
    with extractor_on_fresh_queue(listener, script, log_dir, preload=count, env=env) as (_, extractor):
        listener.wait_for_done(count, STARTUP_SECONDS + count * seconds_per_job, extractor)
    done = [arrival for arrival, reply in listener.replies if reply.get("message_type") == DONE]
    elapsed = max(done) - min(done)
    return (count - 1) / elapsed if elapsed > 0 else math.inf, list(listener.replies)


def measure_latency(listener, tracked, delays, log_dir):
    """Replies of stamped jobs sent one at a time, each waiting ``delays[i]`` seconds before its stamp."""
    env = {"BENCH_TRACKING": "1" if tracked else "0"}
    listener.reset()
    with extractor_on_fresh_queue(listener, STAMPING_SCRIPT, log_dir, env=env) as (queue, extractor):
        for number, delay in enumerate(delays, 1):
            listener.publish(queue, request_body(queue, number, {"delay": delay}))
            listener.wait_for_done(number, STARTUP_SECONDS + delay, extractor)
    return list(listener.replies)


def tracking_latencies(replies):
    """Milliseconds from ``tracking.ts`` (emit time, truncated to the millisecond) to arrival."""
    return [arrival * 1000 - _utc_millis(reply["tracking"]["ts"]) for arrival, reply in replies
            if isinstance(reply.get("tracking"), dict)]


def stamp_latencies(replies):
    """Milliseconds from the emit time a stamped status carries in its text to arrival."""
    return [arrival * 1000 - float(reply["message"][len(STAMP):]) for arrival, reply in replies
            if str(reply.get("message", "")).startswith(STAMP)]


def _utc_millis(text):
    """``2026-11-22T11:04:26.123Z`` as milliseconds since the epoch."""
    seconds = calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))
    return seconds * 1000 + int(text[20:23])


def summarize(values):
    """p50, p99 and max (nearest rank) of a list of milliseconds; an empty list means tracking broke."""
    if not values:
        raise BenchmarkBroke("no status carried an emit time: the replies were not tracked")
    ordered = sorted(values)

    def rank(percent):
        return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]

    return {"n": len(ordered), "p50": rank(50), "p99": rank(99), "max": ordered[-1]}


# -- the in-process CPU harness ---------------------------------------------------------------


class _NoWakeConnection:
    """Stands for pika's BlockingConnection: the harness drives the connector itself, so a wake-up
    only runs its callback at once, as the connector thread would on waking."""

    def add_callback_threadsafe(self, callback):
        callback()


class _CountingChannel:
    """Stands for a pika channel: counts what would be published and acknowledged, keeps the last body."""

    def __init__(self):
        self.connection = _NoWakeConnection()
        self.published = 0
        self.acked = 0
        self.last_body = None

    def basic_publish(self, exchange, routing_key, body, properties=None, mandatory=False):
        self.published += 1
        self.last_body = body

    def basic_ack(self, delivery_tag=0, multiple=False):
        self.acked += 1


def _no_op_check(connector, host, secret_key, resource, parameters):
    """Process every message without downloading anything, as ``examples/behave`` does."""
    return CheckMessage.bypass


def _no_op_process(connector, host, secret_key, resource, parameters):
    """A job that does nothing, as in the broker measurements."""


def _harness_connector(kind):
    """pyClowder's RabbitMQConnector, or the tracked one; built with keyword arguments, never connected.

    The tracked connector's module is imported only when the first one is made, so nothing of it
    is loaded before the plain connector has been set up.
    """
    if kind == "plain":
        from pyclowder.connectors import RabbitMQConnector as connector_class
    else:
        from pyclowder_jobs.extractor.connector import TrackedRabbitMQConnector as connector_class
    return connector_class(extractor_name="bench", extractor_info={"name": "bench", "process": {"file": ["*"]}},
                           rabbitmq_uri=RABBITMQ_URI, rabbitmq_queue="bench", check_message=_no_op_check,
                           process_message=_no_op_process, heartbeat=300)


def _deliveries(count):
    """``count`` (method, header, body) triples as pika hands them to ``on_message``."""
    header = pika.BasicProperties(delivery_mode=2, reply_to="clowder.bench", correlation_id="bench")
    return [(pika.spec.Basic.Deliver(consumer_tag="bench", delivery_tag=tag, redelivered=False, exchange="",
                                     routing_key="bench"),
             header, json.dumps(request_body("bench", tag)).encode())
            for tag in range(1, count + 1)]


def _drive(connector, channel, deliveries):
    """What pyClowder's ``listen`` loop does for each message, with the job thread run to its end."""
    connector.connection = channel.connection  # as connect() would
    for method, header, body in deliveries:
        connector.on_message(channel, method, header, body)
        worker = connector.worker
        worker.thread.join()
        worker.process_messages(channel, "bench")
        if not worker.is_finished():
            raise BenchmarkBroke("the %s handler did not finish its job" % type(worker).__name__)
        connector.worker = None


def _configure_logging(level):
    """Root logger at ``level``; at INFO, pyClowder's default format written to the null device."""
    root = logging.getLogger()
    if level == "INFO":
        handler = logging.StreamHandler(open(os.devnull, "w"))
        handler.setFormatter(logging.Formatter(PYCLOWDER_LOG_FORMAT))
        root.addHandler(handler)
    root.setLevel(level)


def _harness(kind, warmup):
    """A connector of ``kind`` and its counting channel, warmed up with ``warmup`` messages.

    Checks that the tracked path really tracks: if it handed its messages to pyClowder's own
    path, its figures would be plain pyClowder's.
    """
    connector = _harness_connector(kind)
    channel = _CountingChannel()
    _drive(connector, channel, _deliveries(warmup))
    tracked = "tracking" in json.loads(channel.last_body)
    if tracked != (kind == "tracked"):
        raise BenchmarkBroke("the %s path sent a status %s tracking" % (kind, "with" if tracked else "without"))
    return connector, channel


def _timed_chunk(connector, channel, size):
    """CPU microseconds (all threads of the process) per message over ``size`` new messages."""
    deliveries = _deliveries(size)
    published, acked = channel.published, channel.acked
    start = time.process_time()
    _drive(connector, channel, deliveries)
    cost = (time.process_time() - start) / size * 1e6
    if (channel.published - published, channel.acked - acked) != (2 * size, size):
        raise BenchmarkBroke("the harness did not publish two statuses and ack each message")
    return cost


def _logging_state():
    """What a connector can change in logging for the whole process, to be put back later.

    ``Logger.makeRecord``, the log record factory and the root handlers' formatters: the tracked
    connector adds the job id to every record (it leaves handlers and formatters alone, but a
    path's chunks must not depend on that).
    """
    formatters = [(handler, handler.formatter) for handler in logging.getLogger().handlers]
    return logging.Logger.makeRecord, logging.getLogRecordFactory(), formatters


def _restore_logging_state(state):
    """Put back a state taken by :func:`_logging_state`."""
    make_record, record_factory, formatters = state
    logging.Logger.makeRecord = make_record
    logging.setLogRecordFactory(record_factory)
    for handler, formatter in formatters:
        handler.setFormatter(formatter)


def interleaved_chunks(level, chunks, size, warmup):
    """CPU us per message of both paths in ``chunks`` alternating chunks of ``size`` messages.

    Alternating short chunks in one interpreter makes both paths share whatever load the rest of
    the machine adds while they run. Each path runs with the logging set-up it would have in a
    process of its own: the plain connector is made first, and the logging state it saw is put
    back before each of its chunks.
    """
    _configure_logging(level)
    harnesses, logging_states = {}, {}
    for kind in KINDS:
        harnesses[kind] = _harness(kind, warmup)
        logging_states[kind] = _logging_state()
    costs = {kind: [] for kind in KINDS}
    for number in range(chunks):
        for kind in KINDS if number % 2 == 0 else KINDS[::-1]:
            _restore_logging_state(logging_states[kind])
            costs[kind].append(_timed_chunk(*harnesses[kind], size))
    return costs


def profile_path(kind, count, warmup, top):
    """The ``top`` functions by cumulative CPU time over ``count`` messages, job threads included.

    Each job thread gets its own profiler (on the thread's CPU clock); their figures are merged.
    """
    _configure_logging("WARNING")
    connector, channel = _harness(kind, warmup)
    deliveries = _deliveries(count)
    job_profiles = []

    def profile_job_thread(*_):
        profile = cProfile.Profile(time.thread_time)
        job_profiles.append(profile)
        profile.enable()

    main = cProfile.Profile(time.thread_time)
    threading.setprofile(profile_job_thread)
    main.enable()
    try:
        _drive(connector, channel, deliveries)
    finally:
        main.disable()
        threading.setprofile(None)
    report = io.StringIO()
    stats = pstats.Stats(main, stream=report)
    for profile in job_profiles:
        stats.add(profile)
    stats.strip_dirs().sort_stats("cumulative").print_stats(top)
    return report.getvalue()


def in_fresh_interpreter(function, *args):
    """Run ``function(*args)`` in a new Python process and return its result.

    Each round of measurements starts from an untouched interpreter: pyClowder's logging as it
    is on start-up, and no tracked connector made yet.
    """
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def cpu_pairs(level, rounds, chunks, size, warmup):
    """Pairs of CPU figures (plain, tracked) from ``rounds`` fresh interpreters."""
    pairs = {kind: [] for kind in KINDS}
    for _ in range(rounds):
        costs = in_fresh_interpreter(interleaved_chunks, level, chunks, size, warmup)
        for kind in KINDS:
            pairs[kind].extend(costs[kind])
    return pairs


def overhead_percent(pairs):
    """How much more CPU the tracked path takes: the median of the paired ratios, in percent.

    Pairing makes load from elsewhere on the machine, which hits both figures of a pair, cancel.
    """
    ratios = [tracked / plain for plain, tracked in zip(pairs["plain"], pairs["tracked"])]
    return (statistics.median(ratios) - 1) * 100


# -- reporting -------------------------------------------------------------------------------


def _latency_line(label, figures):
    """One line of latency figures."""
    return "  %-50s n=%-4d p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms" % (
        label, figures["n"], figures["p50"], figures["p99"], figures["max"])


def _cpu_line(kind, costs):
    """One line of CPU figures: the median, how many chunks, and their spread."""
    return "    %-8s %6.1f us/message  (median of %d; range %.1f-%.1f)" % (
        kind, statistics.median(costs), len(costs), min(costs), max(costs))


def _machine_load():
    """The number of CPUs and the load average: figures from a busy machine are worth less."""
    return "%d CPUs, load average %.2f" % (os.cpu_count(), os.getloadavg()[0])


def _verdict(met):
    """A target met or not, in capitals when not."""
    return "yes" if met else "NO"


def print_summary(throughput, latency, cpu):
    """The compact table: every figure, its ratio, the target and whether it is met."""
    rows = [("figure", "plain", "tracked", "ratio", "target", "met")]
    ratio = throughput["tracked"] / throughput["plain"]
    rows.append(("messages/s, no-op jobs", "%.2f" % throughput["plain"], "%.1f" % throughput["tracked"],
                 "%.0fx" % ratio, ">= %.0fx" % TARGET_RATIO, _verdict(ratio >= TARGET_RATIO)))
    for key in ("p50", "p99", "max"):
        plain, tracked = latency["plain"][key], latency["tracked"][key]
        target, met = ("< %.0f ms" % TARGET_P99_MS, _verdict(tracked < TARGET_P99_MS)) if key == "p99" else ("", "")
        rows.append(("status latency %s, ms" % key, "%.1f" % plain, "%.1f" % tracked,
                     "%.0fx less" % (plain / tracked) if tracked > 0 else "-", target, met))
    for level, pairs in cpu.items():
        overhead = overhead_percent(pairs)
        target, met = ("<= %.0f %%" % TARGET_CPU_OVERHEAD, _verdict(overhead <= TARGET_CPU_OVERHEAD)) \
            if level == "WARNING" else ("(info)", "")
        rows.append(("CPU us/message, logs at %s" % level, "%.1f" % statistics.median(pairs["plain"]),
                     "%.1f" % statistics.median(pairs["tracked"]), "%+.1f %%" % overhead, target, met))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    print("\nSummary")
    for row in rows:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


# -- the run ---------------------------------------------------------------------------------


def parse_arguments(argv):
    """The options, with the counts a full or a quick run uses (a full run takes about 1.5 minutes)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, help="no-op jobs for the tracked throughput run (default 2000)")
    parser.add_argument("--plain-messages", type=int, help="no-op jobs for the plain throughput run (default 40)")
    parser.add_argument("--quick", action="store_true", help="fewer jobs, statuses and rounds (under a minute)")
    parser.add_argument("--profile", action="store_true",
                        help="also print where each path spends its CPU (cProfile, job threads included)")
    parser.add_argument("--tap", action="store_true",
                        help="also measure the cost of persistent tap events: the tracked throughput with a durable "
                             "queue bound to the tap (as a recorder's), tap events persistent and transient, in turns")
    arguments = parser.parse_args(argv)
    quick = arguments.quick
    arguments.messages = arguments.messages or (500 if quick else 2000)
    arguments.plain_messages = arguments.plain_messages or (12 if quick else 40)
    arguments.plain_latency_jobs = 8 if quick else 20
    arguments.tracked_latency_jobs = 50 if quick else 300
    arguments.cpu_rounds = 1 if quick else 3
    arguments.cpu_chunks = 20 if quick else 30
    if arguments.messages < 2 or arguments.plain_messages < 2:
        parser.error("--messages and --plain-messages need at least 2 jobs")
    return arguments


def run_throughput(listener, arguments, log_dir):
    """Part 1: messages per second of plain.py and with_mixin.py, each on a pre-loaded queue."""
    print("\n[1/3] Throughput: one extractor process, its queue pre-loaded with no-op jobs; "
          "jobs per second from the first to the last done reply")
    plain, _ = measure_throughput(listener, PLAIN_SCRIPT, arguments.plain_messages, log_dir, seconds_per_job=2.0)
    print("  plain   %-15s %5d jobs  %7.2f messages/s" % (PLAIN_SCRIPT.name, arguments.plain_messages, plain))
    tracked, replies = measure_throughput(listener, TRACKED_SCRIPT, arguments.messages, log_dir,
                                          seconds_per_job=0.05)
    print("  tracked %-15s %5d jobs  %7.2f messages/s" % (TRACKED_SCRIPT.name, arguments.messages, tracked))
    print("  ratio   %.0fx (target >= %.0fx)" % (tracked / plain, TARGET_RATIO))
    print(_latency_line("tracked status latency in this run (queue full)", summarize(tracking_latencies(replies))))
    if arguments.tap:
        run_tap_cost(listener, arguments, log_dir, plain)
    return {"plain": plain, "tracked": tracked}


def run_tap_cost(listener, arguments, log_dir, plain):
    """``--tap``: the tracked throughput with a durable queue taking the tap (as a recorder's queue
    does while the recorder is down), tap events persistent and transient, three runs each in turns."""
    queue = "bench.tap-" + uuid.uuid4().hex[:8]
    listener.channel.exchange_declare(exchange=TAP_EXCHANGE, exchange_type="topic", durable=True)
    listener.channel.queue_declare(queue=queue, durable=True)
    listener.channel.queue_bind(queue=queue, exchange=TAP_EXCHANGE, routing_key=BEHAVE_NAME + ".#")
    rates = {"persistent": [], "transient": []}
    try:
        for _ in range(3):
            for mode in rates:
                env = {"PYCLOWDER_JOBS_TAP_PERSISTENT": "1" if mode == "persistent" else "0"}
                rate, _ = measure_throughput(listener, TRACKED_SCRIPT, arguments.messages, log_dir,
                                             seconds_per_job=0.05, env=env)
                rates[mode].append(rate)
                listener.channel.queue_purge(queue)
    finally:
        listener.channel.queue_delete(queue)
    for mode, found in rates.items():
        print("  tracked, tap %-10s into a durable queue: %s messages/s (median %.1f, %.0fx plain)"
              % (mode, ", ".join("%.1f" % rate for rate in found), statistics.median(found),
                 statistics.median(found) / plain))
    ratios = [persistent / transient for persistent, transient in zip(rates["persistent"], rates["transient"])]
    print("  persistent over transient, paired runs: %s (median %.2f)"
          % (", ".join("%.2f" % ratio for ratio in ratios), statistics.median(ratios)))


def run_latency(listener, arguments, log_dir):
    """Part 2: emit-to-arrival of stamped jobs, plain (stamp in the text) and tracked (tracking.ts)."""
    print("\n[2/3] Status latency: emit in the job thread to arrival at a consumer of the reply queue; "
          "jobs sent one at a time")
    count = arguments.plain_latency_jobs
    plain_replies = measure_latency(listener, False, [number / count for number in range(count)], log_dir)
    plain = summarize(stamp_latencies(plain_replies))
    print(_latency_line("plain, stamped status, emitted 0-1 s into the job", plain))
    tracked_replies = measure_latency(listener, True, [0.0] * arguments.tracked_latency_jobs, log_dir)
    tracked = summarize(tracking_latencies(tracked_replies))
    print(_latency_line("tracked, every status, from tracking.ts", tracked))
    print(_latency_line("tracked, stamped status only", summarize(stamp_latencies(tracked_replies))))
    return {"plain": plain, "tracked": tracked}


def run_cpu(arguments):
    """Part 3: CPU per message of both paths in the harness, logs off and at INFO."""
    print("\n[3/3] CPU per message, in-process harness: pyClowder's listen loop driven by hand with a fake "
          "channel, no-op jobs, chunks of %d messages, plain and tracked alternating" % CHUNK)
    results = {}
    for level, label in (("WARNING", "logs off (WARNING)"), ("INFO", "pyClowder's INFO logs, to /dev/null")):
        pairs = cpu_pairs(level, arguments.cpu_rounds, arguments.cpu_chunks, CHUNK, WARMUP)
        print("  %s:" % label)
        print(_cpu_line("plain", pairs["plain"]))
        print(_cpu_line("tracked", pairs["tracked"]))
        print("    overhead %+.1f %% (median of the paired ratios)" % overhead_percent(pairs))
        results[level] = pairs
    return results


def run_profile():
    """``--profile``: the functions each path spends its CPU in, to see where tracking's cost goes."""
    for kind in KINDS:
        print("\nWhere the %s path spends its CPU (logs at WARNING, %d messages, CPU seconds):" % (kind, PROFILED))
        print(in_fresh_interpreter(profile_path, kind, PROFILED, WARMUP, 30))


def run_on_broker(listener, arguments):
    """Throughput and latency, with the extractors' logs in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="bench-extractor-") as log_dir:
        throughput = run_throughput(listener, arguments, log_dir)
        latency = run_latency(listener, arguments, log_dir)
    return throughput, latency


def _interrupt(signum, frame):
    """Stop on SIGTERM as on Ctrl-C, so that extractors are stopped and queues deleted."""
    raise KeyboardInterrupt


def main(argv=None):
    arguments = parse_arguments(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    address = "%s:%s" % (urlparse(RABBITMQ_URI).hostname, urlparse(RABBITMQ_URI).port or 5672)
    print("pyclowder-jobs %s extractor benchmark (%s): pyClowder %s, Python %s, RabbitMQ at %s, %s"
          % (pyclowder_jobs.__version__, Path(pyclowder_jobs.__file__).parent, version("pyclowder"),
             platform.python_version(), address, _machine_load()))
    try:
        listener = ReplyListener(RABBITMQ_URI)
    except (pika.exceptions.AMQPError, OSError) as exc:
        print("RabbitMQ is not reachable at %s (%s): start it or set RABBITMQ_URI. No figures."
              % (address, exc.__class__.__name__), file=sys.stderr)
        return 2
    try:
        try:
            throughput, latency = run_on_broker(listener, arguments)
        finally:
            listener.close()
        cpu = run_cpu(arguments)
        if arguments.profile:
            run_profile()
    except BenchmarkBroke as exc:
        print("\nThe benchmark broke, no valid figures: %s" % exc, file=sys.stderr)
        return 1
    except pika.exceptions.AMQPError as exc:
        print("\nThe connection to RabbitMQ failed, no valid figures: %r" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted: extractors stopped, queues deleted.", file=sys.stderr)
        return 130
    print_summary(throughput, latency, cpu)
    print("  at the end: %s" % _machine_load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
