"""Recorder ingest from the real broker into a fresh SQLite file, then ``jobs`` and ``stats`` on it.

Publishes N tap-shaped events (status, progress and done events of many jobs, from several fake
workers with their own seq counters, plus their heartbeats) to a fresh recorder queue bound to a
test exchange, then measures the recorder draining them.  Needs RabbitMQ at RABBITMQ_URI::

    python benchmarks/bench_recorder.py [--events 200000]
"""
import argparse
import json
import os
import platform
import resource
import tempfile
import time
import uuid
from datetime import datetime, timezone

import pika

from pyclowder_jobs.tools.recorder import Recorder
from pyclowder_jobs.tools.report import stats
from pyclowder_jobs.store import Store

URI = os.environ.get("RABBITMQ_URI", "amqp://guest:guest@127.0.0.1:5672/%2f")
WORKERS = 8
EXTRACTORS = ("ncsa.wordcount", "ncsa.image.preview", "terra.plantcv")
START = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()


def iso_ms(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (moment.microsecond // 1000)


def tap_events(count: int):
    """(routing key, body) of ``count`` events: per job start, two progress steps, done; beats between."""
    seqs = [0] * WORKERS
    produced = 0
    job = 0
    while produced < count:
        worker = job % WORKERS
        extractor = EXTRACTORS[job % len(EXTRACTORS)]
        begin = START + job * 0.05
        job_id = "%08x%016x" % (int(begin), job)
        resource = "%024x" % (job * 7919)
        steps = (("StatusMessage.start", "Started processing.", None),
                 ("StatusMessage.processing", "1/2 steps (50%)", {"done": 1, "total": 2, "unit": "steps"}),
                 ("StatusMessage.processing", "2/2 steps (100%)", {"done": 2, "total": 2, "unit": "steps"}),
                 ("StatusMessage.done", "Done processing.", None))
        for offset, (message_type, message, progress) in enumerate(steps):
            seqs[worker] += 1
            ts = begin + 0.3 * offset
            tracking = {"v": 1, "worker": "worker-%d" % worker, "host": "node%d" % (worker % 2), "pid": 1000 + worker,
                        "seq": seqs[worker], "ts": iso_ms(ts), "attempt": 1, "redelivered": False,
                        "kind": "progress" if progress else "status"}
            if progress:
                tracking["progress"] = progress
            body = {"file_id": resource, "extractor_id": extractor, "job_id": job_id,
                    "status": "%s: %s" % (message_type, message),
                    "start": datetime.fromtimestamp(int(ts), timezone.utc).isoformat(),
                    "message_type": message_type, "message": message, "tracking": tracking}
            yield "%s.%s" % (extractor, tracking["kind"]), json.dumps(body).encode()
            produced += 1
        if job % 500 == 0:
            seqs[worker] += 1
            beat = {"id": "worker-%d" % worker, "queue": extractor, "extractor_info": {"name": extractor},
                    "tracking": {"v": 1, "host": "node%d" % (worker % 2), "pid": 1000 + worker, "interval": 10,
                                 "ts": iso_ms(begin), "seq": seqs[worker], "processed": job // WORKERS, "jobs": []}}
            yield "%s.heartbeat" % extractor, json.dumps(beat).encode()
            produced += 1
        job += 1


def cpu(who: int) -> float:
    """User and system CPU seconds of this process, or of its waited-for children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def broker_cpu() -> float:
    """CPU seconds used so far by a RabbitMQ server on this machine (beam.smp), or 0 if none is seen."""
    total = 0.0
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        try:
            with open("/proc/%s/comm" % entry) as comm:
                if comm.read().strip() != "beam.smp":
                    continue
            with open("/proc/%s/stat" % entry) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200000)
    parser.add_argument("--batch-size", type=int, default=2000)
    options = parser.parse_args()
    exchange = "bench.pyclowder.jobs." + uuid.uuid4().hex[:8]
    queue = "bench.recorder." + uuid.uuid4().hex[:8]
    connection = pika.BlockingConnection(pika.URLParameters(URI))
    channel = connection.channel()
    channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)
    channel.queue_declare(queue=queue, durable=True)
    channel.queue_bind(queue=queue, exchange=exchange, routing_key="#")
    try:
        began = time.perf_counter()
        published = 0
        for routing_key, body in tap_events(options.events):
            channel.basic_publish(exchange=exchange, routing_key=routing_key, body=body)
            published += 1
        connection.process_data_events(0)
        while channel.queue_declare(queue=queue, durable=True, passive=True).method.message_count < published:
            connection.sleep(0.1)
        print("published %d events in %.1f s" % (published, time.perf_counter() - began))
        idle = broker_cpu()
        connection.sleep(1.0)
        idle = broker_cpu() - idle  # its timers and the other clients of a shared broker
        load = os.getloadavg()[0]

        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "bench.sqlite")
            recorder = Recorder(path, uri=URI, queue=queue, exchange=exchange, batch_size=options.batch_size)
            own, children, rabbit = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN), broker_cpu()
            began = time.perf_counter()
            summary = recorder.run(until=lambda r: r.summary.received >= published)
            seconds = time.perf_counter() - began
            own, children = cpu(resource.RUSAGE_SELF) - own, cpu(resource.RUSAGE_CHILDREN) - children
            rabbit = broker_cpu() - rabbit
            print("recorder: %d events (%d new) in %.2f s: %.0f events/s (target 20,000/s), %d batches"
                  % (summary.received, summary.new, seconds, summary.received / seconds, summary.batches))
            print("  CPU: consumer %.2f s (%.0f events per CPU second), writer %.2f s (%.0f events per CPU second);"
                  " load average before the run %.1f, after it %.1f"
                  % (own, summary.received / own, children, summary.received / children, load, os.getloadavg()[0]))
            if rabbit:
                print("  RabbitMQ delivering them: %.2f CPU s (%.2f CPU s a second when idle just before); all three "
                      "together: %.0f microseconds of CPU per event"
                      % (rabbit, idle, 1e6 * (own + children + rabbit) / summary.received))
            store = Store(path, create=False)
            began = time.perf_counter()
            jobs = store.jobs()
            listed = time.perf_counter() - began
            began = time.perf_counter()
            figures = stats(jobs, store.heartbeats())
            counted = time.perf_counter() - began
            print("jobs: %d jobs read in %.2f s; stats over them in %.2f s (%d extractors, %d workers)"
                  % (len(jobs), listed, counted, len(figures["extractors"]), len(figures["workers"])))
            print("database: %.1f MB" % (os.path.getsize(path) / 1e6))
            store.close()
        print("machine: %s, Python %s, %d cores" % (platform.machine(), platform.python_version(), os.cpu_count()))
    finally:
        channel.queue_delete(queue=queue)
        channel.exchange_delete(exchange=exchange)
        connection.close()


if __name__ == "__main__":
    main()
