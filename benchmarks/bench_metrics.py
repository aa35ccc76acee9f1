"""The scrape: how many series ``/metrics`` gives for 100 extractors, and how long it takes on a big store.

1. Series: a synthetic store of ``--extractors`` extractors (default 100), each with finished jobs
   of every final status, a lost, a running, a waiting and an unclaimed job, and a worker (alive for
   half of them), plus the queue gauges of as many queues; it prints the series of the exposition
   (sample lines), by family.
2. Time: ``GET /metrics`` on ``pyclowder-jobs serve``'s app (uvicorn, loopback, a kept-alive
   connection, as Prometheus scrapes) over the store ``--db`` (default: 1,000,000 jobs built with
   ``bench_store.py``'s export and import when the file does not exist yet; the import takes
   minutes), p50 and p95 of ``--samples`` scrapes (target: under 200 ms), next to its peer in the
   same run: ``SELECT count(*) FROM jobs``, the cheapest read of every job.

    python benchmarks/bench_metrics.py [--extractors 100] [--db FILE] [--jobs 1000000] [--samples 30]
"""
import argparse
import http.client
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from typing import Callable, Dict, List

import uvicorn

from pyclowder_jobs.store import Store
from pyclowder_jobs.tools.monitoring.metrics import StoreCollector, exposition, registry
from pyclowder_jobs.tools.web import make_app

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_store  # noqa: E402  # the big history's export, shared

NOW = 1_800_000_000.0  # 2027-01-15: the synthetic store's moment


def iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".%03dZ" % int(seconds * 1000 % 1000)


def reply(job: str, extractor: str, kind: str, seconds: float, worker: str, seq: int) -> Dict:
    return {"file_id": "file-" + job, "extractor_id": extractor, "job_id": job, "status": "StatusMessage.%s: x" % kind,
            "start": iso(seconds)[:19] + "+00:00", "message_type": "StatusMessage." + kind, "message": "x",
            "tracking": {"v": 1, "worker": worker, "host": "node", "pid": 1, "seq": seq, "ts": iso(seconds),
                         "attempt": 1, "redelivered": False, "kind": "status"}}


def synthetic_events(extractors: int) -> List[Dict]:
    """Each extractor: finished jobs of each final status, lost, running, waiting and unclaimed jobs, a worker."""
    events: List[Dict] = []
    seq = 0
    for number in range(extractors):
        name = "bench.extractor-%03d" % number
        worker = "worker-%03d" % number
        alive = number % 2 == 0
        start = NOW - 3600
        for index, (final, run) in enumerate((("done", 0.3), ("done", 42.0), ("done", 1900.0), ("error", 7.0),
                                              ("skip", 0.01))):
            job = "%s-%d" % (name, index)
            events.append({"_id": {"$oid": "%08x%016x" % (int(start), number * 100 + index)}, "file_id": "file-" + job,
                           "job_id": job, "extractor_id": name, "status": "SUBMITTED", "start": {"$date": iso(start)}})
            for kind, at in (("start", start + 1), (final, start + 1 + run)):
                seq += 1
                events.append(reply(job, name, kind, at, worker, seq))
            if final == "skip":
                seq += 1
                events.append(reply(job, name, "done", start + 1 + run, worker, seq))
        seq += 1
        events.append(reply(name + "-running", name, "start", NOW - 5, worker, seq))
        events.append({"_id": {"$oid": "%08x%016x" % (int(NOW - 60), number * 100 + 99)}, "file_id": "file-w",
                       "job_id": name + "-waiting", "extractor_id": name, "status": "SUBMITTED",
                       "start": {"$date": iso(NOW - 60)}})
        beat_at = NOW - 1 if alive else NOW - 600
        events.append({"id": worker, "queue": name, "extractor_info": {"name": name},
                       "tracking": {"v": 1, "host": "node", "pid": 1, "interval": 10.0, "ts": iso(beat_at),
                                    "seq": seq + 1, "processed": 5,
                                    "jobs": [{"job_id": name + "-running", "resource_id": "file-r"}] if alive else []}})
        seq += 1
    return events


def series(extractors: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        with Store(os.path.join(folder, "synthetic.sqlite")) as store:
            store.add_events(synthetic_events(extractors))
            queues = {"bench.extractor-%03d" % number: (number % 3, number % 2) for number in range(extractors)}
            collector = StoreCollector(lambda: store.metrics(now=NOW), lambda: queues)
            body, _ = exposition(registry(collector), None)
    samples = [line for line in body.decode("utf-8").splitlines() if line and not line.startswith("#")]
    by_family: Counter = Counter()
    for line in samples:
        name = line.split("{")[0].split(" ")[0]
        for suffix in ("_bucket", "_count", "_sum"):
            if name.endswith(suffix) and "seconds" in name:
                name = name[:-len(suffix)]
        by_family[name] += 1
    print("Series for %d extractors (and %d queues): %d, %.1f per extractor; %d bytes"
          % (extractors, extractors, len(samples), len(samples) / extractors, len(body)))
    for name, count in by_family.most_common():
        print("  %-48s %6d" % (name, count))


def timed(run: Callable[[], object], samples: int) -> List[float]:
    found = []
    for _ in range(samples):
        began = time.perf_counter()
        run()
        found.append((time.perf_counter() - began) * 1000)
    return found


def figure(name: str, values: List[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return "  %-40s p50 %8.1f ms  p95 %8.1f ms" % (name, statistics.median(values), p95)


def build(db: str, jobs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "extractions.jsonl")
        began = time.perf_counter()
        documents = bench_store.export(source, jobs)
        with Store(db) as store:
            from pyclowder_jobs.tools.importer import import_file  # pylint: disable=import-outside-toplevel
            import_file(store, source)
        print("built %s: %d jobs, %d documents in %.0f s" % (db, jobs, documents, time.perf_counter() - began))


def scrape_time(db: str, samples: int) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    app = make_app(db)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def scrape() -> bytes:
        connection.request("GET", "/metrics")
        answer = connection.getresponse()
        body = answer.read()
        assert answer.status == 200, body[:200]
        return body

    body = scrape()  # the first scrape opens the pool's connection and warms the caches
    scrapes: List[float] = []
    count_all: List[float] = []
    metrics_call: List[float] = []
    with Store(db, create=False) as store:
        for _ in range(samples):  # interleaved, so that a change of the machine's load touches all three
            scrapes += timed(scrape, 1)
            count_all += timed(store.count, 1)
            metrics_call += timed(store.metrics, 1)
        jobs = store.count()
        figures = store.metrics()
        unfinished = sum(sum(figures[kind].values()) for kind in ("running", "waiting", "lost"))
    connection.close()
    server.should_exit = True
    thread.join(20)
    lines = [line for line in body.decode("utf-8").splitlines() if line and not line.startswith("#")]
    print("\n/metrics on %s: %d jobs (%d unfinished), %d extractors, %d series (%d samples each)"
          % (db, jobs, unfinished, len(figures["extractors"]), len(lines), samples))
    print(figure("GET /metrics (target p95 under 200 ms)", scrapes))
    print(figure("Store.metrics() alone", metrics_call))
    print(figure("peer: SELECT count(*) FROM jobs", count_all))
    print("  GET /metrics over the peer (p50): %.1fx" % (statistics.median(scrapes) / statistics.median(count_all)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--extractors", type=int, default=100, help="extractors in the synthetic store (100)")
    parser.add_argument("--db", help="the big store (built with --jobs jobs when the file does not exist)")
    parser.add_argument("--jobs", type=int, default=1000000, help="jobs of a store to build (default 1,000,000)")
    parser.add_argument("--samples", type=int, default=30, help="scrapes per figure (default 30)")
    args = parser.parse_args()
    print("pyclowder-jobs metrics benchmark: Python %s on %s, %d cores, load average %.2f"
          % (platform.python_version(), platform.machine(), os.cpu_count() or 0, os.getloadavg()[0]))
    series(args.extractors)
    if args.db:
        if not os.path.exists(args.db):
            build(args.db, args.jobs)
        scrape_time(args.db, args.samples)
    print("load average at the end: %.2f" % os.getloadavg()[0])


if __name__ == "__main__":
    main()
