"""Every input shape normalised into one internal event record (DESIGN 3-5).

Accepted: Clowder v1 ``extractions`` documents (pymongo types or Mongo extended JSON), Clowder v2
``listener_jobs`` and ``listener_job_updates`` documents, raw status replies (with or without our
``tracking`` object) and heartbeats.  Anything else comes back as a rejection reason, never an
exception.

A status event becomes a plain tuple (see ``Record``'s field order below) because half a million of
them must be built and sorted per second; the first six fields are its sort key (DESIGN 5.5 rule 2).
"""
import re
from datetime import datetime, timedelta, timezone
from typing import Any, FrozenSet, List, NamedTuple, Optional, Tuple, Union

from .status import STARTED, SUBMITTED, TERMINAL, classify

#: The anonymous user of Clowder v1: replies carry it, it is never the submitter.
ANONYMOUS_USER = "000000000000000000000000"

# Field positions in a status record.
K0, RANK, TS, IDKEY, SEQ, CONTENT = 0, 1, 2, 3, 4, 5
JOB_ID, RESOURCE, EXTRACTOR, STATE, SOFT, TEXT, USER, WORKER, ATTEMPT, REDELIVERED, PROGRESS = range(6, 17)

Record = Tuple[Any, ...]


class Heartbeat(NamedTuple):
    """A worker's heartbeat; ``ts`` is None when it has no ``tracking`` (no usable timing)."""

    worker: str
    ts: Optional[int]
    interval: Optional[int]
    jobs: FrozenSet[str]
    seq: int


Normalised = Union[Record, List[Record], Heartbeat, str, None]

_EPOCH_AWARE = datetime(1970, 1, 1, tzinfo=timezone.utc)
_EPOCH_NAIVE = datetime(1970, 1, 1)
_JOB_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_NOT_IDS = (list, tuple, set, frozenset, dict, bool, float, bytes)
_EXTRACTOR_CACHE_SIZE = 1024
_extractors: dict = {}


def normalise(event: Any) -> Normalised:
    """Turn one input into a record, a list of records, a Heartbeat, None (ignored) or a reason."""
    if not isinstance(event, dict):
        return "not a document (a dict), but a %s" % type(event).__name__
    if "extractor_id" in event:
        return _status_reply(event)
    if "listener_id" in event or "resource_ref" in event:
        return _v2_job(event)
    if "extractor_info" in event or ("id" in event and "queue" in event):
        return _heartbeat(event)
    if "job_id" in event and "timestamp" in event:
        return _v2_job_update(event)
    return "neither an extraction event, a job document nor a heartbeat"


def to_ms(value: Any) -> Optional[int]:
    """Milliseconds since the epoch (UTC) of a datetime, ISO text, ``{"$date": ...}`` or seconds."""
    kind = type(value)
    if kind is str:
        return _iso_ms(value)
    if kind is dict:
        value = value.get("$date")
        kind = type(value)
        if kind is str:
            return _iso_ms(value)
        if kind is dict:
            value = value.get("$numberLong")
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
        return value if kind is int else None
    if isinstance(value, datetime):
        return _delta_ms(value - (_EPOCH_NAIVE if value.tzinfo is None else _EPOCH_AWARE))
    if kind is int or kind is float:
        try:
            return round(value * 1000)
        except (OverflowError, ValueError):
            return None
    return None


def ms_to_iso(ms: int) -> str:
    """``2019-03-14T15:00:00.412Z``: ISO 8601, UTC, milliseconds."""
    seconds, millis = divmod(ms, 1000)
    return (_EPOCH_NAIVE + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % millis


def id_text(value: Any) -> Optional[str]:
    """An id as text: a string, ``{"$oid": ...}``, or ``str()`` of a ``bson.ObjectId`` (duck typed)."""
    kind = type(value)
    if kind is str:
        return value or None
    if kind is dict:
        value = value.get("$oid")
        return value if type(value) is str and value else None
    if value is None or isinstance(value, _NOT_IDS):
        return None
    return str(value) or None


def job_id_text(value: Any) -> Optional[str]:
    """A usable job id (DESIGN 5.1 rule 1: at most 64 of ``[A-Za-z0-9._:-]``), else None."""
    value = id_text(value)
    if value is not None and _JOB_ID.fullmatch(value):
        return value
    return None


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


def _delta_ms(delta: timedelta) -> int:
    return delta.days * 86400000 + delta.seconds * 1000 + (delta.microseconds + 500) // 1000


def _iso_ms(text: str) -> Optional[int]:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        if not text.endswith(("Z", "z")):
            return None
        try:  # Python before 3.11 does not read "Z"
            moment = datetime.fromisoformat(text[:-1] + "+00:00")
        except ValueError:
            return None
    return _delta_ms(moment - (_EPOCH_NAIVE if moment.tzinfo is None else _EPOCH_AWARE))


def _record(ts: int, idkey: str, seq: int, content: tuple, job_id, resource, extractor, state, soft,
            text, user, worker, attempt, redelivered, progress) -> Record:
    if state == SUBMITTED:  # replies have one-second precision: SUBMITTED goes first in its second
        return (ts - ts % 1000, 0, ts, idkey, seq, content, job_id, resource, extractor, state, soft,
                text, user, worker, attempt, redelivered, progress)
    return (ts, 1, ts, idkey, seq, content, job_id, resource, extractor, state, soft, text, user,
            worker, attempt, redelivered, progress)


def _number(value: Any) -> Any:
    return value if type(value) in (int, float, str) else None


def _status_reply(event: dict) -> Union[Record, str, None]:
    """A v1 ``extractions`` document or a raw status reply (possibly with ``tracking``)."""
    tracking = event.get("tracking")
    worker = attempt = progress = ts = None
    seq, redelivered = -1, False
    if type(tracking) is dict:
        kind = tracking.get("kind")
        if kind == "log":
            return None
        ts = to_ms(tracking.get("ts"))
        seq = tracking.get("seq")
        if type(seq) is not int:
            seq = -1
        worker = tracking.get("worker")
        if type(worker) is not str:
            worker = None
        attempt = tracking.get("attempt")
        if type(attempt) is not int or attempt < 1:
            attempt = None
        redelivered = tracking.get("redelivered") is True
        found = tracking.get("progress")
        if type(found) is dict:
            progress = (_number(found.get("done")), _number(found.get("total")), _number(found.get("unit")))
    text = event.get("status")
    if type(text) is not str:
        return "status is missing or not text"
    resource = id_text(event.get("file_id"))
    if resource is None:
        return "no file_id (the resource id)"
    extractor = event.get("extractor_id")
    if type(extractor) is not str or not extractor.strip():
        return "extractor_id is missing or not text"
    if ts is None:
        ts = to_ms(event.get("start"))
        if ts is None:
            return "no readable time in start (or tracking.ts)"
    state, soft = classify(text)
    job_id = event.get("job_id")
    if job_id is not None:
        job_id = job_id_text(job_id)
    user = None
    if state == SUBMITTED:
        user = id_text(event.get("user_id"))
        if user == ANONYMOUS_USER:
            user = None
    idkey = event.get("_id")
    idkey = "" if idkey is None else (id_text(idkey) or "")
    content = () if idkey else (job_id or "", resource, extractor, text, worker or "",
                                str(attempt), repr(progress))
    return _record(ts, idkey, seq, content, job_id, resource, extractor_name(extractor), state, soft,
                   text, user, worker, attempt, redelivered, progress)


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
        records.append(_record(created, job_id, 0, (), job_id, resource, extractor, SUBMITTED, False,
                               "CREATED", user, None, None, False, None))
    started = to_ms(event.get("started"))
    if started is not None:
        records.append(_record(started, job_id, 1, (), job_id, resource, extractor, STARTED, False,
                               "STARTED", None, None, None, False, None))
    if state is not None and state not in (SUBMITTED, STARTED):
        when = to_ms(event.get("finished")) if state in TERMINAL else None
        when = when if when is not None else to_ms(event.get("updated"))
        if when is not None:
            records.append(_record(when, job_id, 2, (), job_id, resource, extractor, state, False,
                                   message, None, None, None, False, None))
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
    content = () if idkey else (job_id, text)
    return _record(ts, idkey, -1, content, job_id, None, None, state, soft, text, None, None, None,
                   False, None)


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
