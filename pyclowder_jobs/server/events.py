"""Every input shape normalised into one internal event record (DESIGN 3-5).

Accepted: Clowder v1 ``extractions`` documents (pymongo types or Mongo extended JSON), Clowder v2
``listener_jobs`` and ``listener_job_updates`` documents, raw status replies (with or without our
``tracking`` object) and heartbeats.  Anything else comes back as a rejection reason, never an
exception.

A status event becomes a plain tuple (field order below), the cheapest record to build and to sort
by the hundred thousand; its first six fields are its sort key (DESIGN 5.5 rule 2).
"""
from typing import Any, FrozenSet, List, NamedTuple, Optional, Tuple, Union

from ..protocol.identity import id_text
from ..protocol.ids import is_valid_job_id
from ..protocol.times import _MILLIS, _seconds, iso_ms as _iso_ms, ms_to_iso, to_ms
from .status import CACHE as STATUS_CACHE
from .status import STARTED, SUBMITTED, TERMINAL, classify

#: The anonymous user of Clowder v1: replies carry it, it is never the submitter.
ANONYMOUS_USER = "000000000000000000000000"

# A status record is a tuple of:
#   its sort key: sort time (a SUBMITTED's is the start of its second), 0 for SUBMITTED else 1,
#   TS (ms), IDKEY (the _id, or ""), SEQ (tracking.seq, or -1), CONTENT ("" with an _id,
#   tracking.worker with a seq, else the reply's fields joined);
#   then JOB_ID, RESOURCE, EXTRACTOR, STATE, SOFT (see status.classify), TEXT, EXTRA: None, or
#   (user, worker, attempt, redelivered) for the events that carry any of them, and PROGRESS: None
#   or (done, total, unit).  No kept record shares its first six fields with another (they hold
#   its identity), so sorting never compares the rest.  Records nest tuples one level deep at
#   most: the garbage collector soon stops tracking such a record (each level deeper costs it
#   another collection, and records that JobIndex keeps would pile up in the oldest generation).
TS, IDKEY, SEQ, CONTENT, JOB_ID, RESOURCE, EXTRACTOR, STATE, SOFT, TEXT, EXTRA, PROGRESS = range(2, 14)

Record = Tuple[Any, ...]


class Heartbeat(NamedTuple):
    """A worker's heartbeat; ``ts`` is None when it has no ``tracking`` (no usable timing)."""

    worker: str
    ts: Optional[int]
    interval: Optional[int]
    jobs: FrozenSet[str]
    seq: int


Normalised = Union[Record, List[Record], Heartbeat, str, None]

_EXTRACTOR_CACHE_SIZE = 1024
_extractors: dict = {}
_UNUSUAL = object()  # a fast reader's answer for an event it leaves to the general one


def identity(record: Record) -> Any:
    """What makes two records the same event: the ``_id`` (and v2 phase), else the sort key."""
    return record[IDKEY] if record[SEQ] < 0 and record[IDKEY] else record[TS:CONTENT + 1]


def normalise(event: Any) -> Normalised:
    """Turn one input into a record, a list of records, a Heartbeat, None (ignored) or a reason."""
    if not isinstance(event, dict):
        return "not a document (a dict), but a %s" % type(event).__name__
    if "extractor_id" in event:
        return status_reply(event)
    if "listener_id" in event or "resource_ref" in event:
        return _v2_job(event)
    if "extractor_info" in event or ("id" in event and "queue" in event):
        return _heartbeat(event)
    if "job_id" in event and "timestamp" in event:
        return _v2_job_update(event)
    return "neither an extraction event, a job document nor a heartbeat"


def _is_log_line(event: dict) -> bool:
    """A log line from the event tap: it has no status, and ``tracking.kind`` says ``log``."""
    tracking = event.get("tracking")
    return type(tracking) is dict and tracking.get("kind") == "log"


def job_id_text(value: Any) -> Optional[str]:
    """A usable job id (the rule of :func:`pyclowder_jobs.protocol.ids.is_valid_job_id`), else None."""
    if type(value) is not str:
        value = id_text(value)
        if value is None:
            return None
    return value if is_valid_job_id(value) else None


def extractor_name(name: str) -> str:
    """The extractor's own name: ``private.<key>.`` and ``extractors.`` prefixes removed."""
    found = _extractors.get(name)
    if found is None:
        found = name.strip()
        while True:
            if found.startswith("extractors."):
                found = found[len("extractors."):]
            elif found.startswith("private.") and found.count(".") >= 2:
                found = found.split(".", 2)[2]
            else:
                break
        if len(_extractors) >= _EXTRACTOR_CACHE_SIZE:
            _extractors.clear()
        _extractors[name] = found
    return found


def _record(ts: int, idkey: str, seq: int, content: str, job_id, resource, extractor, state, soft,
            text, extra) -> Record:
    """A record (without progress) with its sort key (``status_reply`` builds the same tuple inline)."""
    if state == SUBMITTED:  # replies have one-second precision: SUBMITTED goes first in its second
        return (ts - ts % 1000, 0, ts, idkey, seq, content, job_id, resource, extractor, state, soft,
                text, extra, None)
    return (ts, 1, ts, idkey, seq, content, job_id, resource, extractor, state, soft, text, extra, None)


def status_reply(event: dict) -> Union[Record, str, None]:
    """A v1 ``extractions`` document or a raw status reply (possibly with ``tracking``).

    Nearly every event has one of two shapes: a tracked reply as the event tap carries it, or a v1
    document in Mongo extended JSON.  Each has a reader that indexes the fields it expects (faster
    than ``dict.get`` by the dozen); an event it does not fully recognise (a field missing or of
    another type, a text, extractor or second not seen before) goes to ``_any_status_reply``, which
    reads every shape and gives the same record for these two.
    """
    try:
        found = _tracked_reply(event) if "tracking" in event else _extended_json_document(event)
    except KeyError:  # a field that the shape always has is missing, or a cache does not know a value
        found = _UNUSUAL
    return _any_status_reply(event) if found is _UNUSUAL else found


def _tracked_reply(event: dict) -> Union[Record, None, object]:
    """A raw reply with ``tracking`` as pyclowder-jobs sends it (not a SUBMITTED), else ``_UNUSUAL``.

    Raises KeyError for a missing field.  Texts, extractor names and seconds must be cached.
    """
    text = event["status"]
    resource = event["file_id"]
    extractor = event["extractor_id"]
    tracking = event["tracking"]
    job_id = event["job_id"]
    if (type(text) is not str or type(resource) is not str or type(extractor) is not str
            or not extractor or type(tracking) is not dict or "_id" in event
            or not (type(job_id) is str and len(job_id) <= 64 and job_id.isascii() and job_id.isalnum())):
        return _UNUSUAL
    state, soft = STATUS_CACHE[text]
    name = _extractors[extractor]
    if tracking["kind"] == "log":
        return None
    ts = tracking["ts"]
    seq = tracking["seq"]
    worker = tracking["worker"]
    attempt = tracking["attempt"]
    if (state == SUBMITTED or type(ts) is not str or len(ts) != 24 or ts[23] != "Z" or ts[19] != "."
            or type(seq) is not int or seq < 0 or type(worker) is not str
            or type(attempt) is not int or attempt < 1):
        return _UNUSUAL
    ts = _seconds[ts[:19]] + _MILLIS[ts[20:23]]
    progress = tracking.get("progress")
    if progress is not None:
        progress = ((progress.get("done"), progress.get("total"), progress.get("unit"))
                    if type(progress) is dict else None)
    return (ts, 1, ts, "", seq, worker, job_id, resource, name, state, soft, text,
            (None, worker, attempt, tracking["redelivered"] is True), progress)


def _extended_json_document(event: dict) -> Union[Record, object]:
    """A v1 ``extractions`` document in Mongo extended JSON, without ``tracking``, else ``_UNUSUAL``.

    Raises KeyError for a missing field.  Texts, extractor names and seconds must be cached.
    """
    text = event["status"]
    resource = event["file_id"]
    extractor = event["extractor_id"]
    idkey = event["_id"]
    ts = event["start"]
    if (type(text) is not str or type(resource) is not dict or type(extractor) is not str
            or not extractor or type(idkey) is not dict or type(ts) is not dict):
        return _UNUSUAL
    resource, idkey, ts = resource["$oid"], idkey["$oid"], ts["$date"]
    if (type(resource) is not str or type(idkey) is not str or not idkey or type(ts) is not str
            or len(ts) != 24 or ts[23] != "Z" or ts[19] != "."):
        return _UNUSUAL
    state, soft = STATUS_CACHE[text]
    name = _extractors[extractor]
    ts = _seconds[ts[:19]] + _MILLIS[ts[20:23]]
    job_id = event.get("job_id")
    if job_id is not None:
        if type(job_id) is dict:
            job_id = job_id["$oid"]
        if not (type(job_id) is str and len(job_id) <= 64 and job_id.isascii() and job_id.isalnum()):
            return _UNUSUAL
    if state == SUBMITTED:
        user = id_text(event.get("user_id"))
        return (ts - ts % 1000, 0, ts, idkey, -1, "", job_id, resource, name, state, soft, text,
                (user, None, None, False) if user is not None and user != ANONYMOUS_USER else None, None)
    return (ts, 1, ts, idkey, -1, "", job_id, resource, name, state, soft, text, None, None)


def _any_status_reply(event: dict) -> Union[Record, str, None]:
    """``status_reply`` for every shape: ids as text, ``{"$oid"}`` or objects, any time format."""
    text = event.get("status")
    if type(text) is not str:
        if _is_log_line(event):
            return None
        return "status is missing or not text"
    found = STATUS_CACHE.get(text)
    state, soft = found if found is not None else classify(text)
    resource = event.get("file_id")
    if type(resource) is dict:
        resource = resource.get("$oid")
    if type(resource) is not str:
        resource = id_text(resource)
        if resource is None:
            return "no file_id (the resource id)"
    extractor = event.get("extractor_id")
    if type(extractor) is not str or not extractor:
        return "extractor_id is missing or not text"
    name = _extractors.get(extractor)
    if name is None:
        name = extractor_name(extractor)
    tracking = event.get("tracking")
    seq = -1
    worker = attempt = extra = ts = progress = None
    if tracking is not None:
        if type(tracking) is not dict:
            return "tracking is not an object"
        if tracking.get("kind") == "log":
            return None
        # tracking read inline, not in a helper: tracked replies are the common case of the event tap
        ts = tracking.get("ts")
        if ts is not None:
            ts = _iso_ms(ts) if type(ts) is str else to_ms(ts)
        seq = tracking.get("seq")
        if type(seq) is not int:
            seq = -1
        worker = tracking.get("worker")
        if type(worker) is not str:
            worker = None
        attempt = tracking.get("attempt")
        if type(attempt) is not int or attempt < 1:
            attempt = None
        progress = tracking.get("progress")
        if progress is not None:  # a tuple: a record of plain values is one the GC leaves alone
            progress = ((progress.get("done"), progress.get("total"), progress.get("unit"))
                        if type(progress) is dict else None)
        extra = (None, worker, attempt, tracking.get("redelivered") is True)
    if ts is None:
        ts = event.get("start")
        if type(ts) is dict:
            inner = ts.get("$date")
            ts = _iso_ms(inner) if type(inner) is str else to_ms(ts)
        else:
            ts = _iso_ms(ts) if type(ts) is str else to_ms(ts)
        if ts is None:
            return "no readable time in start (or tracking.ts)"
    job_id = event.get("job_id")
    if job_id is not None and not (type(job_id) is str and len(job_id) <= 64 and job_id.isascii()
                                   and job_id.isalnum()):
        job_id = job_id_text(job_id)
    idkey = event.get("_id")
    if idkey is not None:
        if type(idkey) is dict:
            idkey = idkey.get("$oid")
        if type(idkey) is not str:
            idkey = id_text(idkey)
    if idkey:
        content = ""
    elif worker is not None and seq >= 0:  # a worker never sends two events with one seq
        idkey, content = "", worker
    else:
        idkey = ""
        content = "\x00".join((job_id or "", resource, extractor, text, worker or "", str(attempt)))
    if state == SUBMITTED:
        user = id_text(event.get("user_id"))
        if user is not None and user != ANONYMOUS_USER:
            extra = (user,) + extra[1:] if extra else (user, None, None, False)
        return (ts - ts % 1000, 0, ts, idkey, seq, content, job_id, resource, name, state, soft, text,
                extra, progress)
    return (ts, 1, ts, idkey, seq, content, job_id, resource, name, state, soft, text, extra, progress)


def _v2_job(event: dict) -> Union[List[Record], str]:
    """A Clowder v2 ``listener_jobs`` document: one event per time it records."""
    job_id = job_id_text(event.get("_id"))
    if job_id is None:
        return "listener job without a usable _id"
    extractor = event.get("listener_id")
    extractor = extractor_name(extractor) if type(extractor) is str and extractor.strip() else None
    ref = event.get("resource_ref")
    resource = id_text(ref.get("resource_id")) if type(ref) is dict else None
    creator = event.get("creator")
    user = creator.get("email") if type(creator) is dict else None
    if type(user) is not str:
        user = None
    word = event.get("status")
    word = word if type(word) is str else ""
    state = classify(word)[0] if word else None
    message = event.get("latest_message")
    message = message if type(message) is str and message else word
    records = []
    created = to_ms(event.get("created"))
    if created is not None:
        records.append(_record(created, job_id, 0, "", job_id, resource, extractor, SUBMITTED, False,
                               "CREATED", (user, None, None, False) if user else None))
    started = to_ms(event.get("started"))
    if started is not None:
        records.append(_record(started, job_id, 1, "", job_id, resource, extractor, STARTED, False,
                               "STARTED", None))
    if state is not None and state not in (SUBMITTED, STARTED):
        when = to_ms(event.get("finished")) if state in TERMINAL else None
        when = when if when is not None else to_ms(event.get("updated"))
        if when is not None:
            records.append(_record(when, job_id, 2, "", job_id, resource, extractor, state, False,
                                   message, None))
    if not records:
        return "listener job without a readable created, started, finished or updated time"
    return records


def _v2_job_update(event: dict) -> Union[Record, str]:
    """A Clowder v2 ``listener_job_updates`` document: a status text for a job id."""
    job_id = job_id_text(event.get("job_id"))
    if job_id is None:
        return "job update without a usable job_id"
    text = event.get("status")
    if type(text) is not str:
        return "status is missing or not text"
    ts = to_ms(event.get("timestamp"))
    if ts is None:
        return "no readable time in timestamp"
    state, soft = classify(text)
    idkey = id_text(event.get("_id")) or ""
    content = "" if idkey else job_id + "\x00" + text
    return _record(ts, idkey, -1, content, job_id, None, None, state, soft, text, None)


def _heartbeat(event: dict) -> Union[Heartbeat, str]:
    worker = event.get("id")
    if type(worker) is not str or not worker:
        return "heartbeat without a worker id"
    tracking = event.get("tracking")
    if type(tracking) is not dict:
        return Heartbeat(worker, None, None, frozenset(), -1)
    interval = tracking.get("interval")
    interval = round(interval * 1000) if type(interval) in (int, float) and 0 < interval < 1e9 else None
    jobs = tracking.get("jobs")
    listed = frozenset(
        job["job_id"] for job in jobs if type(job) is dict and type(job.get("job_id")) is str
    ) if type(jobs) is list else frozenset()
    seq = tracking.get("seq")
    return Heartbeat(worker, to_ms(tracking.get("ts")), interval, listed, seq if type(seq) is int else -1)
