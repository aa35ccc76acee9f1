"""A big history: a store of 1,000,000 jobs and 5,000,000 events (a benchmark, not a test).

Writes a Clowder v1 export (JSON lines in Mongo extended JSON, as ``mongoexport`` writes it) of
``--jobs`` jobs of five events each: half with job ids (``SUBMITTED`` with the submitting user,
then the extractor's replies), half legacy events without ids; 40 users, 4 extractors, 20,000
files; one job in 20 fails, one in 50 is still running.  Then it imports the file through the
``import`` path (``pyclowder_jobs.tools.importer.import_file``) into a fresh store and prints:

* the import rate (target: at least 50,000 documents per second into SQLite) and the size of the
  store on disk per event;
* p50 and p95 over ``--samples`` queries from a fresh reader of: the newest 100 jobs with no
  filter and with each filter (status, extractor, user, resource, since), one job, and the
  newest 100 events of one job (target: p95 under 50 ms, ``docs/performance.rst``);
* ``stats`` over the whole store, and the resource tree of one resource.

``--db`` names a store URL or path to fill instead of a temporary SQLite file::

    python benchmarks/bench_store.py [--jobs 1000000] [--samples 50] [--keep FILE]
"""
import argparse
import heapq
import json
import os
import platform
import random
import statistics
import tempfile
import time
from typing import Any, Callable, Dict, Iterator, List, Tuple

from pyclowder_jobs.store import Store
from pyclowder_jobs.tools.importer import import_file

EXTRACTORS = ("ncsa.wordcount", "ncsa.image.preview", "ncsa.audio.speech2text", "terra.plantcv")
USERS = 40
FILES = 20000
START = 1704067200  # 2024-01-01T00:00:00Z
OFFSETS = (0.0, 0.6, 1.4, 2.3, 3.5)
LEGACY = ("StatusMessage.start: Started processing", "StatusMessage.processing: Downloading file.",
          "StatusMessage.processing: Running the extractor.", "StatusMessage.processing: Uploading metadata.",
          "DONE")


def iso_ms(seconds: float) -> str:
    whole = int(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + ".%03dZ" % int((seconds - whole) * 1000)


def job_documents(job: int, rng: random.Random) -> List[Tuple[float, Dict[str, Any]]]:
    """(time, document) of the events of job ``job``."""
    began = START + job * 2.0 + rng.random()
    resource = {"$oid": "%024x" % (0x5c8a6c70a1b2c3d4e5000000 + job % FILES)}
    extractor = EXTRACTORS[job % len(EXTRACTORS)]
    with_id = job % 2 == 0
    steps = len(OFFSETS)
    if job % 50 == 11:
        steps -= 1  # still running
    found = []
    for step in range(steps):
        when = began + OFFSETS[step]
        status = LEGACY[step]
        if step == steps - 1 == len(OFFSETS) - 1 and job % 20 == 7:
            status = "StatusMessage.error: Could not read the file."
        document = {"_id": {"$oid": "%08x%016x" % (int(when), job * 8 + step)}, "file_id": resource,
                    "extractor_id": extractor, "status": status, "start": {"$date": iso_ms(when)}}
        if with_id:
            document["job_id"] = {"$oid": "%08x%016x" % (START + job // 50, job)}
            if step == 0:
                document["status"] = "SUBMITTED"
                document["user_id"] = {"$oid": "%024x" % (1 + job % USERS)}
        found.append((when, document))
    return found


def export(path: str, jobs: int) -> int:
    """Write the export in time order (jobs overlap); returns the number of documents."""
    rng = random.Random(2024)
    pending: List[Tuple[float, int, Dict[str, Any]]] = []
    written = 0
    with open(path, "w", encoding="utf-8") as stream:
        for job in range(jobs):
            for when, document in job_documents(job, rng):
                heapq.heappush(pending, (when, written + len(pending), document))
            horizon = START + job * 2.0
            while pending and pending[0][0] < horizon:
                stream.write(json.dumps(heapq.heappop(pending)[2]) + "\n")
                written += 1
        while pending:
            stream.write(json.dumps(heapq.heappop(pending)[2]) + "\n")
            written += 1
    return written


def timed(run: Callable[[], Any], samples: int) -> List[float]:
    found = []
    for _ in range(samples):
        began = time.perf_counter()
        run()
        found.append((time.perf_counter() - began) * 1000)
    return found


def line(name: str, values: List[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    verdict = "met" if p95 < 50 else "NOT met"
    return "  {:<44} p50 {:8.2f} ms  p95 {:8.2f} ms  {}".format(name, statistics.median(values), p95, verdict)


def queries(db: str, jobs: int, samples: int) -> None:
    rng = random.Random(7)

    def reader(run: Callable[[Store], Any]) -> Callable[[], Any]:
        def once() -> Any:
            with Store(db, create=False) as store:
                return run(store)
        return once

    def some_job() -> str:
        job = rng.randrange(0, jobs, 2)
        return "%08x%016x" % (START + job // 50, job)

    since = "2024-01-%02dT00:00:00Z" % (1 + min(27, jobs * 2 // 86400))
    cases = [
        ("newest 100 jobs", lambda store: store.jobs(limit=100)),
        ("status=FAILED", lambda store: store.jobs(status="FAILED", limit=100)),
        ("status=PROCESSING", lambda store: store.jobs(status="PROCESSING", limit=100)),
        ("extractor=ncsa.wordcount", lambda store: store.jobs(extractor="ncsa.wordcount", limit=100)),
        ("user=...17", lambda store: store.jobs(user="%024x" % 17, limit=100)),
        ("resource=one file", lambda store: store.jobs(resource="%024x" % (0x5c8a6c70a1b2c3d4e5000000 + rng.randrange(FILES)),
                                                       limit=100)),
        ("since=%s" % since[:10], lambda store: store.jobs(since=since, limit=100)),
        ("one job", lambda store: store.job(some_job())),
        ("newest 100 events of one job", lambda store: store.job_events(some_job(), limit=100, newest=True)),
    ]
    print("\nQueries from a fresh reader (%d samples each; target p95 under 50 ms):" % samples)
    for name, run in cases:
        print(line(name, timed(reader(run), samples)))
    began = time.perf_counter()
    with Store(db, create=False) as store:
        figures = store.stats()
    print("  stats over the whole store: %.2f s (%d extractors)" % (time.perf_counter() - began,
                                                                     len(figures["extractors"])))
    began = time.perf_counter()
    with Store(db, create=False) as store:
        store.tree(resource="%024x" % (0x5c8a6c70a1b2c3d4e5000000 + 5))
    print("  the tree of one resource: %.1f ms" % ((time.perf_counter() - began) * 1000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000000, help="jobs in the export (default 1,000,000)")
    parser.add_argument("--samples", type=int, default=50, help="queries per figure (default 50)")
    parser.add_argument("--db", help="fill this store (a path or a postgresql:// URL) instead of a temporary file")
    args = parser.parse_args()
    print("pyclowder-jobs store benchmark: Python %s on %s, %d cores, load average %.2f"
          % (platform.python_version(), platform.machine(), os.cpu_count() or 0, os.getloadavg()[0]))
    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "extractions.jsonl")
        began = time.perf_counter()
        documents = export(source, args.jobs)
        print("export: %d documents, %.0f MB, written in %.0f s"
              % (documents, os.path.getsize(source) / 1e6, time.perf_counter() - began))
        db = args.db or os.path.join(folder, "big.sqlite")
        began = time.process_time(), time.perf_counter()
        with Store(db) as store:
            summary = import_file(store, source)
        cpu, wall = time.process_time() - began[0], time.perf_counter() - began[1]
        print("import: %d documents in %.0f s (%.0f s CPU): %.0f documents/s (target 50,000: %s)"
              % (summary.imported, wall, cpu, documents / wall, "met" if documents / wall >= 50000 else "NOT met"))
        if not db.startswith("postgresql:"):
            size = sum(os.path.getsize(db + suffix) for suffix in ("", "-wal") if os.path.exists(db + suffix))
            print("size on disk: %.0f MB, %.0f bytes per event" % (size / 1e6, size / documents))
        queries(db, args.jobs, args.samples)
    print("load average at the end: %.2f" % os.getloadavg()[0])


if __name__ == "__main__":
    main()
