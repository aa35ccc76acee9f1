"""Events and job dicts for the web tests: status replies as tracked extractors send them."""
import itertools
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Optional

from pyclowder_jobs.protocol import times, tracking as wire

T0 = datetime(2026, 3, 14, 15, 0, tzinfo=timezone.utc)
FILE = "b6fcd3e0c7b8a5d2dde54158"
DATASET = "c7fcd3e0c7b8a5d2dde54159"
EXTRACTOR = "ncsa.wordcount"
USER = "7ad73603ab6d3ee946363bb9"
JOB = "801de0fbb5ad101ac706c121"
JOB2 = "b40f64cb5de4e066bb80db0e"
HOSTILE = '<script>alert("x")</script>&amp;"\'><img src=x onerror=alert(1)>\x00\x07\ud800'

_seq = itertools.count(1)


def seconds(offset: float) -> float:
    """Seconds since the epoch, ``offset`` seconds after T0."""
    return (T0 + timedelta(seconds=offset)).timestamp()


def submitted(offset: float, *, job: str = JOB, resource: str = FILE, extractor: str = EXTRACTOR,
              user: Optional[str] = USER) -> Dict[str, Any]:
    """Clowder's SUBMITTED event as a raw document (the submitter in ``user_id``)."""
    event = {"file_id": resource, "extractor_id": extractor, "job_id": job, "status": "SUBMITTED",
             "start": times.utc_seconds(seconds(offset))}
    if user is not None:
        event["user_id"] = user
    return event


def reply(status: str, message: str, offset: float, *, job: str = JOB, resource: str = FILE,
          extractor: str = EXTRACTOR, worker: str = "worker-a", attempt: int = 1,
          progress: Optional[Dict[str, Any]] = None, ok: Optional[bool] = None,
          resource_name: Optional[str] = None, host: str = "node1", pid: int = 4242) -> Dict[str, Any]:
    """A tracked status reply; with ``progress`` it is a progress event; ``resource_name`` is the
    request's file name as the tracking object carries it."""
    kind = wire.PROGRESS if progress is not None else wire.STATUS
    template = wire.reply_tracking_template(worker, host, pid, attempt, False)
    tracking = wire.reply_tracking(template, next(_seq), seconds(offset), kind, progress)
    if ok is not None:
        tracking["ok"] = ok
    if resource_name is not None:
        tracking["resource_name"] = resource_name
    return wire.status_reply(resource, extractor, job, status, message, seconds(offset), tracking)


def progress(offset: float, done: float, total: Optional[float], *, worker: str = "worker-a",
             job: str = JOB, ok: Optional[bool] = None, unit: Optional[str] = "files",
             resource: str = FILE, extractor: str = EXTRACTOR) -> Dict[str, Any]:
    """A progress event of ``worker`` on ``job``."""
    return reply("StatusMessage.processing", wire.progress_text(done, total, unit), offset, job=job,
                 worker=worker, progress={"done": done, "total": total, "unit": unit}, ok=ok,
                 resource=resource, extractor=extractor)


def log(offset: float, message: str, *, level: str = "INFO", job: str = JOB, worker: str = "worker-a",
        attempt: int = 1, logger: str = "wordcount", resource: str = FILE, extractor: str = EXTRACTOR,
        host: str = "node1", pid: int = 4242) -> Dict[str, Any]:
    """A job's log line as the event tap carries it."""
    template = wire.reply_tracking_template(worker, host, pid, attempt, False)
    tracking = wire.reply_tracking(template, next(_seq), seconds(offset), wire.LOG)
    return wire.log_event(resource, extractor, job, level, logger, message, tracking)


def sample_events() -> list:
    """Two extractor jobs: one running with two workers reporting progress, one failed."""
    return [
        submitted(0),
        reply("StatusMessage.start", "Started processing.", 2),
        progress(3, 3, 10),
        progress(4, 2, 10, worker="worker-b"),
        progress(6, 7, 10),
        progress(7, 5, 10, worker="worker-b", ok=False),
        submitted(10, job=JOB2, resource=DATASET),
        reply("StatusMessage.start", "Started processing.", 11, job=JOB2, resource=DATASET),
        reply("StatusMessage.error", "boom", 20, job=JOB2, resource=DATASET),
    ]


def job_dict(job_id: str = "job-1", *, status: str = "PROCESSING", resource: Any = FILE,
             extractor: Any = EXTRACTOR, **changes: Any) -> Dict[str, Any]:
    """A ``Job.to_dict()``-shaped dict with every key, for the pure page functions."""
    job = {
        "job_id": job_id, "synthetic": False, "ambiguous": False, "resource_id": resource,
        "extractor": extractor, "status": status, "attempts": 1,
        "submitted": "2026-03-14T15:00:00.000Z", "started": "2026-03-14T15:00:02.000Z",
        "finished": None, "last_update": "2026-03-14T15:00:07.000Z", "elapsed": 5.0, "queue_wait": 2.0,
        "run_time": 5.0, "user": USER, "workers": ["worker-a"], "progress": {"done": 3, "total": 10,
                                                                            "unit": "files"},
        "message": "StatusMessage.processing: 3/10 files (30%)", "stale": False, "unclaimed": False,
        "superseded_by": None,
        "events": [
            {"id": None, "ts": "2026-03-14T15:00:00.000Z", "status": "SUBMITTED", "text": "SUBMITTED",
             "attempt": 1},
            {"id": None, "ts": "2026-03-14T15:00:02.000Z", "status": "STARTED",
             "text": "StatusMessage.start: Started processing.", "attempt": 1},
        ],
    }
    job.update(changes)
    return job
