"""Builders for the server-side tests: event documents in the shapes Clowder stores and sends."""
import itertools
from datetime import datetime, timedelta, timezone

T0 = datetime(2019, 3, 14, 15, 0, tzinfo=timezone.utc)
NOW = T0 + timedelta(days=2)
FILE = "b6fcd3e0c7b8a5d2dde54158"
DATASET = "c7fcd3e0c7b8a5d2dde54159"
EXTRACTOR = "ncsa.wordcount"
USER = "7ad73603ab6d3ee946363bb9"
ANONYMOUS = "000000000000000000000000"
JOB = "801de0fbb5ad101ac706c121"
JOB2 = "b40f64cb5de4e066bb80db0e"

_serial = itertools.count(1)


class ObjectId:
    """Stand-in for ``bson.ObjectId`` (pymongo is not installed): ``str()`` gives its 24 hex digits."""

    def __init__(self, oid: str):
        self._oid = oid

    def __str__(self) -> str:
        return self._oid

    def __repr__(self) -> str:
        return "ObjectId(%r)" % self._oid


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def iso(seconds: float) -> str:
    moment = at(seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (moment.microsecond // 1000)


def new_oid(seconds: float) -> str:
    """An ObjectId-shaped id that grows with time, as real ones do."""
    return "%08x%016x" % (int(at(seconds).timestamp()), next(_serial))


def v1(status, seconds, *, job=None, resource=FILE, extractor=EXTRACTOR, user=None, oid=None,
       pymongo=False):
    """A Clowder v1 ``extractions`` document: Mongo extended JSON, or pymongo's types."""
    oid = oid or new_oid(seconds)
    if pymongo:
        doc = {"_id": ObjectId(oid), "file_id": ObjectId(resource), "extractor_id": extractor,
               "status": status, "start": at(seconds).replace(tzinfo=None)}
        if job is not None:
            doc["job_id"] = ObjectId(job)
        if user is not None:
            doc["user_id"] = ObjectId(user)
        return doc
    doc = {"_id": {"$oid": oid}, "_typeHint": "models.Extraction", "file_id": {"$oid": resource},
           "extractor_id": extractor, "status": status, "start": {"$date": iso(seconds)}}
    if job is not None:
        doc["job_id"] = {"$oid": job}
    if user is not None:
        doc["user_id"] = {"$oid": user}
    return doc


def reply(status, seconds, *, job=JOB, resource=FILE, extractor=EXTRACTOR, worker="w-1", seq=None,
          attempt=1, redelivered=False, kind="status", progress=None, tracking=True, resource_name=None):
    """A raw status reply as the tracked extractor sends it (``tracking`` optional)."""
    message_type, _, message = status.partition(": ")
    body = {"file_id": resource, "extractor_id": extractor, "job_id": job, "status": status,
            "start": at(int(seconds)).isoformat(), "message_type": message_type, "message": message}
    if tracking:
        body["tracking"] = {"v": 1, "worker": worker, "host": "node1", "pid": 4242,
                            "seq": next(_serial) if seq is None else seq, "ts": iso(seconds),
                            "attempt": attempt, "redelivered": redelivered, "kind": kind}
        if progress is not None:
            body["tracking"]["progress"] = progress
        if resource_name is not None:
            body["tracking"]["resource_name"] = resource_name
    return body


def heartbeat(worker, seconds, *, jobs=(), interval=10, tracking=True, extractor=EXTRACTOR, queue=None):
    """A heartbeat of a worker of ``extractor`` (on the queue of its name unless ``queue`` names another);
    ``jobs`` are the job ids the worker says it is running."""
    beat = {"id": worker, "queue": queue or extractor, "extractor_info": {"name": extractor}}
    if tracking:
        beat["tracking"] = {"v": 1, "host": "node1", "pid": 4242, "interval": interval,
                            "ts": iso(seconds), "seq": next(_serial), "processed": 0,
                            "jobs": [{"job_id": job, "resource_id": FILE, "started": iso(0),
                                      "last_event": iso(0)} for job in jobs]}
    return beat


def event_ids(job):
    return [event["id"] for event in job.events]


def statuses(job):
    return [event["status"] for event in job.events]
