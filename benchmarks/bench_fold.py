"""Fold speed of ``pyclowder_jobs.server`` against Celery's ``State.event``.

Builds one deterministic stream (jobs x 5 events, 16 workers, interleaved in time; half the jobs
send raw status replies with job ids and ``tracking``, half are legacy Clowder v1 documents in Mongo
extended JSON without job ids), the same stream in Celery's event shape, and folds both in the
same run, timing CPU time (the best of ``--repeat`` runs).  ``--stored`` makes the jobs with ids
v1 documents with ``job_id`` instead, as Clowder v1 stores them; ``--bson`` makes every event a v1
document as pymongo returns it (``bson.ObjectId`` ids, naive UTC ``datetime`` times), half with
job ids and half without.  Needs Celery and pymongo (``pip install -e '.[bench]'``)::

    python benchmarks/bench_fold.py [--events N] [--stored | --bson] [--repeat R] [--without-celery]
"""
import argparse
import gc
import os
import platform
import random
import resource
import time
import tracemalloc
from datetime import datetime, timedelta, timezone

from pyclowder_jobs.server import JobIndex, group_events

EVENTS_PER_JOB = 5
WORKERS = 16
FILES = 20000
EXTRACTORS = ("ncsa.wordcount", "ncsa.image.preview", "ncsa.audio.speech2text", "terra.plantcv")
START = datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp()
# Seconds after the job's start of each of its five events.
OFFSETS = (0.0, 0.4, 1.3, 2.2, 3.5)
LEGACY_TEXTS = ("StatusMessage.start: Started processing", "StatusMessage.processing: Downloading file.",
                "StatusMessage.processing: Running the extractor.",
                "StatusMessage.processing: Uploading metadata.", "DONE")
CELERY_TYPES = ("task-received", "task-started", "task-progress", "task-progress", "task-succeeded")


def iso_ms(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (moment.microsecond // 1000)


def iso_seconds(seconds: float) -> str:
    return datetime.fromtimestamp(int(seconds), timezone.utc).isoformat()


def make_timeline(events: int, seed: int):
    """(time, job, step) of every event, in time order: jobs overlap, workers interleave."""
    rng = random.Random(seed)
    timeline = []
    for job in range(events // EVENTS_PER_JOB):
        began = START + job * 0.02 + rng.random() * 0.01
        for step, offset in enumerate(OFFSETS):
            timeline.append((began + offset + rng.random() * 0.05, job, step))
    timeline.sort()
    return timeline


def job_id(job: int) -> str:
    return "%08x%016x" % (int(START) + job // 50, job)


def make_ours(timeline, stored: bool = False):
    """The stream as Clowder has it: legacy jobs are v1 documents without job id; jobs with ids
    are raw replies with ``tracking`` (what the event tap carries), or with ``stored`` v1
    documents with ``job_id`` (what Clowder v1 keeps of them: it drops ``tracking``)."""
    seq = [0] * WORKERS
    stream = []
    for clock, (when, job, step) in enumerate(timeline):
        worker = job % WORKERS
        file_id = "%024x" % (0x5c8a6c70a1b2c3d4e5000000 + job % FILES)
        extractor = EXTRACTORS[job % len(EXTRACTORS)]
        if job % 2 or stored:
            doc = {
                "_id": {"$oid": "%08x%016x" % (int(when), clock)},
                "file_id": {"$oid": file_id},
                "extractor_id": extractor,
                "status": LEGACY_TEXTS[step],
                "start": {"$date": iso_ms(when)},
            }
            if job % 2 == 0:
                doc["job_id"] = {"$oid": job_id(job)}
                if step == 0:
                    doc.update(status="SUBMITTED", user_id={"$oid": "7ad73603ab6d3ee946363bb9"})
            stream.append(doc)
            continue
        seq[worker] += 1
        if step == 0:
            text = "StatusMessage.start: Started processing."
        elif step == EVENTS_PER_JOB - 1:
            text = "StatusMessage.done: Done processing."
        else:
            text = "StatusMessage.processing: page %d of 3" % step
        tracking = {"v": 1, "worker": "worker-%02d" % worker, "host": "node%d" % (worker // 4),
                    "pid": 1000 + worker, "seq": seq[worker], "ts": iso_ms(when), "attempt": 1,
                    "redelivered": False, "kind": "progress" if 0 < step < 4 else "status"}
        if 0 < step < 4:
            tracking["progress"] = {"done": step, "total": 3, "unit": "pages"}
        stream.append({
            "file_id": file_id, "extractor_id": extractor, "job_id": job_id(job), "status": text,
            "start": iso_seconds(when), "message_type": text.split(":", 1)[0],
            "message": text.split(": ", 1)[1], "tracking": tracking,
        })
    return stream


def make_bson(timeline):
    """The stream as pymongo reads it from Clowder v1's ``extractions``: ``ObjectId`` ids, naive UTC
    ``datetime`` times to the millisecond; jobs with ids have ``job_id`` (and a ``user_id`` on their
    SUBMITTED), legacy jobs have neither."""
    from bson import ObjectId

    epoch = datetime(1970, 1, 1)
    user = ObjectId("7ad73603ab6d3ee946363bb9")
    stream = []
    for clock, (when, job, step) in enumerate(timeline):
        doc = {
            "_id": ObjectId("%08x%016x" % (int(when), clock)),
            "file_id": ObjectId("%024x" % (0x5c8a6c70a1b2c3d4e5000000 + job % FILES)),
            "extractor_id": EXTRACTORS[job % len(EXTRACTORS)],
            "status": LEGACY_TEXTS[step],
            "start": epoch + timedelta(milliseconds=int(when * 1000)),
        }
        if job % 2 == 0:
            doc["job_id"] = ObjectId(job_id(job))
            if step == 0:
                doc.update(status="SUBMITTED", user_id=user)
        stream.append(doc)
    return stream


def make_celery(timeline):
    """The same events as Celery task events (legacy jobs get a made-up uuid: Celery needs one)."""
    stream = []
    for clock, (when, job, step) in enumerate(timeline):
        event = {"type": CELERY_TYPES[step], "uuid": job_id(job) if job % 2 == 0 else "legacy-%d" % job,
                 "hostname": "worker-%02d@node" % (job % WORKERS), "timestamp": when,
                 "local_received": when + 0.001, "clock": clock}
        if step == 0:
            event.update(name=EXTRACTORS[job % len(EXTRACTORS)], args="('%024x',)" % job,
                         kwargs="{}", retries=0)
        elif step == EVENTS_PER_JOB - 1:
            event.update(result="None", runtime=OFFSETS[-1])
        stream.append(event)
    return stream


def best_time(fold, repeat: int) -> float:
    """The least CPU time of ``repeat`` runs (CPU time: other work on the machine does not count)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        began = time.process_time()
        fold()
        times.append(time.process_time() - began)
    return min(times)


def rate(count: int, seconds: float) -> str:
    return "{:>12,.0f} events/s ({:.2f} s)".format(count / seconds, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=500000, help="events in the stream (default 500,000)")
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each fold; the best counts")
    shapes = parser.add_mutually_exclusive_group()
    shapes.add_argument("--stored", action="store_true",
                        help="jobs with ids as stored v1 documents instead of tracked replies")
    shapes.add_argument("--bson", action="store_true",
                        help="every event a v1 document as pymongo returns it (ObjectId, datetime)")
    parser.add_argument("--without-celery", action="store_true",
                        help="fold with pyclowder_jobs only (to compare two versions of it)")
    args = parser.parse_args()

    timeline = make_timeline(args.events, args.seed)
    ours = make_bson(timeline) if args.bson else make_ours(timeline, stored=args.stored)
    celery = [] if args.without_celery else make_celery(timeline)
    del timeline
    gc.collect()
    gc.freeze()  # the input streams stay out of every fold's garbage collections alike
    now = datetime.fromtimestamp(START, timezone.utc) + timedelta(days=1)
    count = len(ours)
    print("%d events, %d jobs, %d workers, jobs with ids as %s; Python %s on %s, %d cores; "
          "best CPU time of %d runs" % (
              count, count // EVENTS_PER_JOB, WORKERS,
              "pymongo's v1 documents" if args.bson else "stored v1 documents" if args.stored else "tracked replies",
              platform.python_version(), platform.machine(), os.cpu_count(), args.repeat))

    def fold_ours():
        jobs = group_events(ours, now=now)
        assert len(jobs) == count // EVENTS_PER_JOB and not jobs.rejected, jobs.rejected[:3]

    def fold_live():
        index = JobIndex()
        add = index.add
        for event in ours:
            add(event)
        assert len(index.jobs(now=now)) == count // EVENTS_PER_JOB

    def fold_celery():
        from celery.events.state import State

        state = State(max_tasks_in_memory=count // EVENTS_PER_JOB, max_workers_in_memory=WORKERS * 2)
        fold = state.event
        for event in celery:
            fold(event)
        assert state.task_count == count // EVENTS_PER_JOB

    ours_seconds = best_time(fold_ours, args.repeat)
    index_seconds = best_time(fold_live, args.repeat)
    celery_seconds = None if args.without_celery else best_time(fold_celery, args.repeat)

    gc.collect()
    tracemalloc.start()
    group_events(ours, now=now)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    print("group_events         %s" % rate(count, ours_seconds))
    print("JobIndex.add + jobs  %s" % rate(count, index_seconds))
    if celery_seconds is not None:
        print("Celery State.event   %s" % rate(count, celery_seconds))
        print("ratio group_events / Celery: %.1fx   JobIndex / Celery: %.1fx" % (
            celery_seconds / ours_seconds, celery_seconds / index_seconds))
    print("peak memory: group_events allocates at most %.0f MiB (tracemalloc); process peak RSS %.0f MiB"
          % (peak / 2 ** 20, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


if __name__ == "__main__":
    main()
