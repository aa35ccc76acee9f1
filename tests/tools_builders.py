"""Builders for the tools' tests: tap events as a tracked extractor publishes them, and fixtures."""
import itertools
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

T0 = datetime(2026, 3, 14, 15, 0, tzinfo=timezone.utc)
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "fold"
EXTRACTOR = "ncsa.wordcount"

_seqs = {}


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def iso(seconds):
    moment = at(seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (moment.microsecond // 1000)


def _next_seq(worker):
    counter = _seqs.setdefault(worker, itertools.count(1))
    return next(counter)


def tap_status(job, message_type, seconds, *, resource="file-1", worker="worker-a", extractor=EXTRACTOR,
               attempt=1, progress=None, seq=None, redelivered=False, message="text"):
    """A status or progress event from the tap (``message_type`` such as ``StatusMessage.start``)."""
    tracking = {"v": 1, "worker": worker, "host": "node-" + worker[-1], "pid": 100,
                "seq": _next_seq(worker) if seq is None else seq, "ts": iso(seconds), "attempt": attempt,
                "redelivered": redelivered, "kind": "progress" if progress else "status"}
    if progress:
        tracking["progress"] = progress
    return {"file_id": resource, "extractor_id": extractor, "job_id": job,
            "status": "%s: %s" % (message_type, message), "start": at(int(seconds)).isoformat(),
            "message_type": message_type, "message": message, "tracking": tracking}


def tap_log(job, seconds, *, worker="worker-a", message="working"):
    return {"file_id": "file-1", "extractor_id": EXTRACTOR, "job_id": job, "level": "INFO", "logger": "behave",
            "message": message, "tracking": {"v": 1, "worker": worker, "host": "node-a", "pid": 100,
                                              "seq": _next_seq(worker), "ts": iso(seconds), "attempt": 1,
                                              "redelivered": False, "kind": "log"}}


def tap_heartbeat(worker, seconds, *, jobs=(), interval=10):
    return {"id": worker, "queue": EXTRACTOR, "extractor_info": {"name": EXTRACTOR},
            "tracking": {"v": 1, "host": "node-" + worker[-1], "pid": 100, "interval": interval, "ts": iso(seconds),
                         "seq": _next_seq(worker), "processed": 0,
                         "jobs": [{"job_id": job, "resource_id": "file-1", "started": iso(0),
                                   "last_event": iso(0)} for job in jobs]}}


def finished_job(job, start, run, *, worker="worker-a", resource="file-1", final="StatusMessage.done",
                 extractor=EXTRACTOR):
    """Start and final events of a job that ran ``run`` seconds from ``start``."""
    return [tap_status(job, "StatusMessage.start", start, worker=worker, resource=resource, extractor=extractor),
            tap_status(job, final, start + run, worker=worker, resource=resource, extractor=extractor)]


def fixture_events():
    """Every event of the recorded fold fixtures (legacy, mixed and modern Clowder v1 documents)."""
    events = []
    for path in sorted(FIXTURES.glob("*.events.json")):
        events.extend(json.loads(path.read_text()))
    return events


def newest_first(jobs):
    """Job dicts in the store's order: newest last update first, then job id."""
    return sorted(jobs, key=lambda job: (job["last_update"], job["job_id"]), reverse=True)


def stored_jobs(store, now):
    """Every job of a store with its whole list of events, newest first."""
    return [store.job(job["job_id"], events=True, now=now) for job in store.jobs(now=now)]


def folded_jobs(events, now):
    """What group_events makes of ``events``, as a store shows each job, newest first."""
    from pyclowder_jobs.server import group_events
    return newest_first([dict(job.to_dict(), event_count=len(job.events)) for job in group_events(events, now=now)])
