"""The cost of one more event as a job grows (a benchmark, not a test: it prints the figures).

One tracked job reports its progress once a second, as an eight-hour job would.  For each size
(1,000, 20,000 and 100,000 events in the job) a fresh store is filled with the job's events, and
then, with ``--samples`` repetitions each, this is timed:

* one more event: ``Store.add_events`` of the job's next progress reply (one transaction);
* listing the newest 100 jobs from a fresh reader: a new ``Store`` opened on the file, then
  ``jobs(limit=100)``;
* one page of the job's events (the newest 100) from a fresh reader;

and, through the progress-service API (the calls ``serve`` answers, without the socket), one more
``update`` of a progress-service job that had that many updates, and its ``show`` page's data (the
job and its chart).  The target (``docs/performance.rst``): at
100,000 events each figure is within 2x of its figure at 1,000::

    python benchmarks/bench_long_job.py [--sizes 1000,20000,100000] [--samples 30]
"""
import argparse
import os
import platform
import statistics
import tempfile
import time
from typing import Any, Callable, Dict, List

from pyclowder_jobs.protocol import tracking
from pyclowder_jobs.store import Store

START = 1767225600.0  # 2026-01-01T00:00:00Z
JOB_ID = "6770a0000000000000000001"
RESOURCE = "6770a00000000000000000ff"
EXTRACTOR = "ncsa.long"
WORKER = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
BATCH = 5000


def progress_event(number: int) -> Dict[str, Any]:
    """The job's event ``number``: its start (0), then a progress reply a second."""
    template = tracking.reply_tracking_template(WORKER, "node1", 4242, 1, False)
    when = START + number
    if number == 0:
        fields = tracking.reply_tracking(template, 1, when, tracking.STATUS)
        return tracking.status_reply(RESOURCE, EXTRACTOR, JOB_ID, "StatusMessage.start", "Started processing.",
                                     when, fields)
    progress = {"done": number, "total": 28800, "unit": "s"}
    fields = tracking.reply_tracking(template, number + 1, when, tracking.PROGRESS, progress)
    return tracking.status_reply(RESOURCE, EXTRACTOR, JOB_ID, "StatusMessage.processing",
                                 tracking.progress_text(number, 28800, "s"), when, fields)


def fill(path: str, size: int) -> None:
    """A store holding the first ``size`` events of the job (and 99 short finished jobs around it)."""
    with Store(path) as store:
        others = []
        for number in range(99):
            job_id = "6770a0000000000000%06x" % (number + 2)
            for offset, status in ((0, "StatusMessage.start: Started processing."),
                                   (1, "StatusMessage.done: Done processing.")):
                others.append({"_id": "%024x" % (number * 2 + offset + 1), "file_id": "%024x" % number,
                               "extractor_id": EXTRACTOR, "job_id": job_id, "status": status,
                               "start": {"$date": "2025-12-31T23:%02d:%02d.000Z" % (number // 60, number % 60)}})
        store.add_events(others)
        for first in range(0, size, BATCH):
            store.add_events([progress_event(number) for number in range(first, min(size, first + BATCH))])


def timed(run: Callable[[], Any], samples: int) -> List[float]:
    """The wall time of each of ``samples`` runs, in milliseconds."""
    found = []
    for _ in range(samples):
        began = time.perf_counter()
        run()
        found.append((time.perf_counter() - began) * 1000)
    return found


def summary(values: List[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return "p50 {:7.2f} ms  p95 {:7.2f} ms".format(statistics.median(values), p95)


def measure(size: int, samples: int, folder: str) -> Dict[str, List[float]]:
    path = os.path.join(folder, "long-%d.sqlite" % size)
    fill(path, size)
    figures: Dict[str, List[float]] = {}
    with Store(path) as store:
        following = iter(range(size, size + samples))
        figures["one more event"] = timed(lambda: store.add_events([progress_event(next(following))]), samples)

    def list_jobs() -> None:
        with Store(path, create=False) as reader:
            assert len(reader.jobs(limit=100)) == 100

    def one_page() -> None:
        with Store(path, create=False) as reader:
            assert reader.job_events(JOB_ID, limit=100, newest=True)

    figures["jobs(limit=100), fresh reader"] = timed(list_jobs, samples)
    figures["newest 100 events of the job, fresh reader"] = timed(one_page, samples)
    figures.update(api_figures(folder, size, samples))
    return figures


def api_figures(folder: str, size: int, samples: int) -> Dict[str, List[float]]:
    """One more ``update`` of a progress-service job that had ``size`` of them, and its ``show`` data."""
    from pyclowder_jobs.tools.web.progress_api import ProgressAPI

    path = os.path.join(folder, "api-%d.sqlite" % size)
    clock = [START]
    with Store(path) as store:
        api = ProgressAPI(store, clock=lambda: clock[0])
        api.create({"jobid": ["long-api-job"]}, client="bench")

        def update() -> None:
            clock[0] += 1
            api.update({"jobid": ["long-api-job"], "workid": ["w1"], "current": [str(int(clock[0] - START))],
                        "total": ["1000000"]}, client="bench")

        for _ in range(size - 1):  # filled through the API itself, as a worker would
            update()
        figures = {"progress API update": timed(update, samples)}
        figures["progress API show, its data"] = timed(lambda: api.view("show", {"jobid": ["long-api-job"]}), samples)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,20000,100000", help="events in the job (default 1000,20000,100000)")
    parser.add_argument("--samples", type=int, default=30, help="repetitions of each figure (default 30)")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    print("pyclowder-jobs long-job benchmark: Python %s on %s, load average %.2f"
          % (platform.python_version(), platform.machine(), os.getloadavg()[0]))
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            results[size] = measure(size, args.samples, folder)
            print("\n%d events in the job:" % size)
            for name, values in results[size].items():
                print("  {:<46} {}".format(name, summary(values)))
    first, last = sizes[0], sizes[-1]
    print("\nGrowth from %d to %d events (median, target: within 2x):" % (first, last))
    for name in results[first]:
        ratio = statistics.median(results[last][name]) / statistics.median(results[first][name])
        print("  {:<46} {:5.2f}x  {}".format(name, ratio, "met" if ratio <= 2 else "NOT met"))
    print("load average at the end: %.2f" % os.getloadavg()[0])


if __name__ == "__main__":
    main()
