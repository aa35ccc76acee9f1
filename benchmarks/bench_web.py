"""Render times and request latency of the web page for 100,000 jobs (not a timed test: it prints the figures).

Synthesises the events of N jobs (SUBMITTED with the submitter, a start, two progress reports and
two log lines from one of 16 workers, then done, an error, or nothing yet), folds them with
``group_events``, and times the pages from job dicts (``views``): the index with the default limit,
with every job on it, and a job page with its chart and log lines.

Then it fills a real ``Store`` with the same events, serves ``make_app(store)`` with uvicorn in
another process (as ``pyclowder-jobs serve`` does) and sends requests one after another on one
kept-alive connection: p50 and p99 of each route.  The peer in the same run is a bare Starlette
app answering "ok" on the same server, the floor any route pays::

    python benchmarks/bench_web.py [--jobs 100000] [--requests 300] [--no-store]
"""
import argparse
import http.client
import multiprocessing
import os
import platform
import socket
import statistics
import tempfile
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List

from pyclowder_jobs.protocol import times, tracking as wire
from pyclowder_jobs.server import group_events
from pyclowder_jobs.tools.web import views
from pyclowder_jobs.tools.web.app import DEFAULT_LIMIT
from pyclowder_jobs.tools.web.chart import progress_series

WORKERS = 16
EXTRACTORS = ("ncsa.wordcount", "ncsa.image.preview", "ncsa.audio.speech2text", "terra.plantcv")
START = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()


def job_events(number: int) -> List[Dict[str, Any]]:
    """The events of job ``number``: most succeed, one in 20 fails, one in 20 is still running."""
    job_id = "%08x%016x" % (int(START + number), number)
    resource = "%024x" % (number // 3 * 7919)
    extractor = EXTRACTORS[number % len(EXTRACTORS)]
    worker = "worker-%02d" % (number % WORKERS)
    begin = START + number * 0.5
    events = [{"file_id": resource, "extractor_id": extractor, "job_id": job_id, "status": "SUBMITTED",
               "start": times.utc_seconds(begin), "user_id": "%024x" % (1 + number % 40)}]
    steps = [("StatusMessage.start", "Started processing.", None, 1.0),
             ("StatusMessage.processing", "5/10 files (50%)", {"done": 5, "total": 10, "unit": "files"}, 2.0),
             ("StatusMessage.processing", "10/10 files (100%)", {"done": 10, "total": 10, "unit": "files"}, 3.0)]
    if number % 20 == 7:
        steps.append(("StatusMessage.error", "Could not read the file.", None, 3.5))
    elif number % 20 != 13:
        steps.append(("StatusMessage.done", "Done processing.", None, 3.5))
    template = wire.reply_tracking_template(worker, "node%d" % (number % 4), 1000 + number % WORKERS, 1, False)
    for seq, (status, message, progress, offset) in enumerate(steps):
        kind = wire.PROGRESS if progress else wire.STATUS
        tracking = wire.reply_tracking(template, number * 10 + seq, begin + offset, kind, progress)
        events.append(wire.status_reply(resource, extractor, job_id, status, message, begin + offset, tracking))
    for seq, (level, message) in enumerate((("INFO", "Counting words"), ("DEBUG", "1,200 words")), 8):
        tracking = wire.reply_tracking(template, number * 10 + seq, begin + 2.5, wire.LOG)
        events.append(wire.log_event(resource, extractor, job_id, level, "wordcount", message, tracking))
    return events


def timed(run: Callable[[], Any], repeat: int) -> float:
    """The median of ``repeat`` runs, in seconds."""
    found = []
    for _ in range(repeat):
        begin = time.perf_counter()
        run()
        found.append(time.perf_counter() - begin)
    return statistics.median(found)


def report(name: str, seconds: float, size: int = 0) -> None:
    print("  %-62s %9.2f ms%s" % (name, seconds * 1000, "   (%.1f MB)" % (size / 1e6) if size else ""))


def serve(path: str, listener: socket.socket) -> None:
    """The child process: the app on ``path`` with a bare peer at ``/peer``, on uvicorn."""
    import uvicorn  # pylint: disable=import-outside-toplevel
    from starlette.applications import Starlette  # pylint: disable=import-outside-toplevel
    from starlette.responses import PlainTextResponse  # pylint: disable=import-outside-toplevel
    from starlette.routing import Mount, Route  # pylint: disable=import-outside-toplevel

    from pyclowder_jobs.tools.web import make_app  # pylint: disable=import-outside-toplevel

    async def peer(_: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    both = Starlette(routes=[Route("/peer", peer), Mount("/", make_app(path))])
    uvicorn.Server(uvicorn.Config(both, log_level="warning", access_log=False)).run(sockets=[listener])


def latencies(port: int, target: str, count: int) -> List[float]:
    """Seconds of ``count`` requests for ``target``, one after another on one kept-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    found = []
    for _ in range(count + 5):
        begin = time.perf_counter()
        connection.request("GET", target)
        answer = connection.getresponse()
        answer.read()
        found.append(time.perf_counter() - begin)
        assert answer.status == 200, (target, answer.status)
    connection.close()
    return found[5:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=100000)
    parser.add_argument("--requests", type=int, default=300, help="requests per route (default %(default)s)")
    parser.add_argument("--no-store", action="store_true", help="skip the store and the server")
    args = parser.parse_args()
    print("pyclowder-jobs web benchmark: %d jobs, Python %s, %s, %d cores"
          % (args.jobs, platform.python_version(), platform.machine(), os.cpu_count() or 0))

    events = [event for number in range(args.jobs) for event in job_events(number)]
    begin = time.perf_counter()
    jobs = group_events(events)
    print("  folded %d events into %d jobs in %.1f s" % (len(events), len(jobs), time.perf_counter() - begin))
    newest = [job.to_dict() for job in reversed(jobs)]

    print("Pages from job dicts (views.py alone):")
    page = newest[:DEFAULT_LIMIT]
    report("index, default limit (%d of %d jobs)" % (DEFAULT_LIMIT, len(newest)),
           timed(lambda: views.index_page(page, total=len(newest), limit=DEFAULT_LIMIT), 20),
           len(views.index_page(page, total=len(newest), limit=DEFAULT_LIMIT).encode()))
    everything = views.index_page(newest, total=len(newest), limit=len(newest))
    report("index, all %d jobs grouped on one page" % len(newest),
           timed(lambda: views.index_page(newest, total=len(newest), limit=len(newest)), 1), len(everything.encode()))
    running = next(job for job in newest if job["status"] != "SUCCEEDED")
    raw = [event for event in events if event["job_id"] == running["job_id"]]
    series = progress_series(raw)
    lines = [views.log_line(seq, event, {}) for seq, event in enumerate(raw) if "level" in event]
    report("job page (%d events, chart inline, %d log lines)" % (len(running["events"]), len(lines)),
           timed(lambda: views.job_page(running, series, lines), 200))

    if args.no_store:
        return
    with tempfile.TemporaryDirectory(prefix="bench-web-") as folder:
        from pyclowder_jobs.store import Store  # pylint: disable=import-outside-toplevel
        path = os.path.join(folder, "jobs.db")
        with Store(path) as store:
            begin = time.perf_counter()
            for start in range(0, len(events), 50000):
                store.add_events(events[start:start + 50000])
            filled = time.perf_counter() - begin
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        port = listener.getsockname()[1]
        child = multiprocessing.get_context("fork").Process(target=serve, args=(path, listener), daemon=True)
        child.start()
        print("SQLite store (filled with the same events in %.1f s); requests on one kept-alive connection, "
              "%d each (p50 / p99):" % (filled, args.requests))
        try:
            latencies(port, "/", 1)  # the first index counts all jobs (the count is reused for 10 s)
            job_id = running["job_id"]
            found = {}
            for target in ("/peer", "/static/app.css", "/jobs/%s.json" % job_id, "/api/jobs.json?limit=10",
                           "/jobs/" + job_id, "/jobs/%s/chart.svg" % job_id, "/"):
                found[target] = latencies(port, target, args.requests)
                times_ms = sorted(value * 1000 for value in found[target])
                p50 = statistics.median(times_ms)
                p99 = times_ms[min(len(times_ms) - 1, int(len(times_ms) * 0.99))]
                print("  GET %-58s %7.2f / %7.2f ms   (%.1fx the peer)"
                      % (target, p50, p99, p50 / (statistics.median(found["/peer"]) * 1000)))
        finally:
            child.terminate()
            child.join(10)


if __name__ == "__main__":
    main()
