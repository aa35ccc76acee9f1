"""Render times of the web page for 100,000 jobs (not a timed test: it prints the figures).

Synthesises the events of N jobs (SUBMITTED with the submitter, a start, two progress reports from
one of 16 workers, then done, an error, or nothing yet), folds them with ``group_events``, and times:

* the index page with the default limit (the newest 100 of N jobs, grouped),
* the index page with every job on it (the full tree's grouping, rendered), and ``tree()`` alone,
* a job page with its per-worker chart, and the chart as SVG;

then fills a real ``Store`` with the same events and times the same routes end to end through the
server's ``WebApp`` (store query, grouping, HTML), without sockets::

    python benchmarks/bench_web.py [--jobs 100000] [--no-store]
"""
import argparse
import os
import platform
import statistics
import tempfile
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List

from pyclowder_jobs.protocol import times, tracking as wire
from pyclowder_jobs.server import group_events, tree
from pyclowder_jobs.tools.web import pages
from pyclowder_jobs.tools.web.chart import progress_series, render_svg
from pyclowder_jobs.tools.web.httpd import DEFAULT_LIMIT, TOTAL_TTL, WebApp

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
    return events


def timed(run: Callable[[], Any], repeat: int) -> float:
    """The median of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        begin = time.perf_counter()
        run()
        times.append(time.perf_counter() - begin)
    return statistics.median(times)


def report(name: str, seconds: float, size: int = 0) -> None:
    print("  %-58s %9.1f ms%s" % (name, seconds * 1000, "   (%.1f MB)" % (size / 1e6) if size else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=100000)
    parser.add_argument("--no-store", action="store_true", help="skip the SQLite store part")
    args = parser.parse_args()
    print("pyclowder-jobs web benchmark: %d jobs, Python %s, %s, %d cores"
          % (args.jobs, platform.python_version(), platform.machine(), os.cpu_count() or 0))

    events = [event for number in range(args.jobs) for event in job_events(number)]
    begin = time.perf_counter()
    jobs = group_events(events)
    print("  folded %d events into %d jobs in %.1f s" % (len(events), len(jobs), time.perf_counter() - begin))
    newest = [job.to_dict() for job in reversed(jobs)]

    print("Pages from job dicts (pages.py alone):")
    index = pages.index_page(newest[:DEFAULT_LIMIT], total=len(newest), limit=DEFAULT_LIMIT)
    report("index, default limit (%d of %d jobs)" % (DEFAULT_LIMIT, len(newest)),
           timed(lambda: pages.index_page(newest[:DEFAULT_LIMIT], total=len(newest), limit=DEFAULT_LIMIT), 20), len(index.encode()))
    full = pages.index_page(newest, total=len(newest), limit=len(newest))
    report("index, all %d jobs grouped on one page" % len(newest),
           timed(lambda: pages.index_page(newest, total=len(newest), limit=len(newest)), 3),
           len(full.encode()))
    report("tree() of all %d jobs (resource, extractor, jobs)" % len(jobs), timed(lambda: tree(jobs), 3))
    running = next(job for job in newest if job["status"] != "SUCCEEDED")
    raw = [event for event in events if event["job_id"] == running["job_id"]]
    series = progress_series(raw)
    report("job page (%d events, chart inline)" % len(running["events"]),
           timed(lambda: pages.job_page(running, series), 200))
    report("chart SVG", timed(lambda: render_svg(series), 200))

    if args.no_store:
        return
    with tempfile.TemporaryDirectory(prefix="bench-web-") as folder:
        from pyclowder_jobs.store import Store  # pylint: disable=import-outside-toplevel
        store = Store(os.path.join(folder, "jobs.db"))
        begin = time.perf_counter()
        for start in range(0, len(events), 50000):
            store.add_events(events[start:start + 50000])
        print("SQLite store (filled with the same events in %.1f s), end to end through WebApp:"
              % (time.perf_counter() - begin))
        app = WebApp(store)
        report("GET / the first time (counts all jobs; reused for %d s)" % TOTAL_TTL,
               timed(lambda: app.handle("GET", "/"), 1))
        for target, repeat in (("/", 20), ("/?status=FAILED", 5), ("/?extractor=ncsa.wordcount&limit=1000", 3),
                               ("/api/jobs.json", 5), ("/jobs/" + running["job_id"], 50),
                               ("/jobs/%s/chart.svg" % running["job_id"], 50)):
            reply = app.handle("GET", target)
            assert reply.status == 200, (target, reply.status, reply.body[:300])
            report("GET " + target, timed(lambda target=target: app.handle("GET", target), repeat), len(reply.body))
        store.close()


if __name__ == "__main__":
    main()
