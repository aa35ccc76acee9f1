"""One reader per input shape, each giving the fold's records (``docs/fold.rst``, "Accepted inputs").

The shapes: a status reply with the ``tracking`` object (what the event tap carries), a status
without ``tracking`` (a Clowder v1 ``extractions`` document, in Mongo extended JSON or as pymongo
returns it, or a raw reply of an extractor without pyclowder-jobs), a Clowder v2 ``listener_jobs``
document, a Clowder v2 ``listener_job_updates`` document, and a heartbeat.  :func:`normalise` tells
them apart.  Anything a reader cannot use comes back as a rejection reason (a string), never an
exception; a log line comes back as None.
"""
import functools
from typing import Any, List, Optional, Union

from ..protocol.identity import id_text
from ..protocol.ids import is_valid_job_id
from ..protocol.times import iso_ms, to_ms
from ..protocol.tracking import is_log_line
from .records import ANONYMOUS_USER, Heartbeat, StatusEvent
from .status import LIFECYCLE, RESUBMITTED, STARTED, SUBMITTED, TERMINAL, classify, retry_number

#: What :func:`normalise` gives: a status event, several (a v2 job document), a heartbeat, None for
#: a log line, or the reason an input was rejected.
Normalised = Union[StatusEvent, List[StatusEvent], Heartbeat, str, None]

_NO_STATUS = "status is missing or not text"
_NO_RESOURCE = "no file_id (the resource id)"
_NO_EXTRACTOR = "extractor_id is missing or not text"
_NO_TIME = "no readable time in start (or tracking.ts)"
_new_record = tuple.__new__  # see tracked_reply


def normalise(event: Any) -> Normalised:
    """Read one input with the reader of its shape: a status event, a list of them, a Heartbeat,
    None (a log line, ignored) or the reason it cannot be used."""
    if type(event) is not dict:
        return "not a document (a dict), but a %s" % type(event).__name__
    if "extractor_id" in event:
        if event.get("tracking") is not None:
            return tracked_reply(event)
        return untracked_status(event)
    if "listener_id" in event or "resource_ref" in event:
        return listener_job(event)
    if "extractor_info" in event or ("id" in event and "queue" in event):
        return heartbeat(event)
    if "job_id" in event and "timestamp" in event:
        return listener_job_update(event)
    return "neither an extraction event, a job document nor a heartbeat"


def tracked_reply(event: dict) -> Union[StatusEvent, str, None]:
    """A status reply with ``tracking`` (``docs/wire.rst``): timed by ``tracking.ts``, known by its
    worker and ``tracking.seq``, with the attempt, redelivery, progress and file name it tells."""
    text = event.get("status")
    if type(text) is not str:
        return None if is_log_line(event) else _NO_STATUS
    resource = event.get("file_id")
    if type(resource) is not str:
        resource = _id_of(resource)
        if resource is None:
            return _NO_RESOURCE
    extractor = event.get("extractor_id")
    if type(extractor) is not str or not extractor:
        return _NO_EXTRACTOR
    tracking = event.get("tracking")
    if type(tracking) is not dict:
        return "tracking is not an object"
    if is_log_line(event):
        return None
    ts = tracking.get("ts")
    if ts is not None:
        ts = iso_ms(ts) if type(ts) is str else to_ms(ts)
    if ts is None:
        ts = to_ms(event.get("start"))
        if ts is None:
            return _NO_TIME
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
    if progress is not None:
        progress = ((progress.get("done"), progress.get("total"), progress.get("unit"))
                    if type(progress) is dict else None)
    name = tracking.get("resource_name")
    if type(name) is not str or not name:
        name = None
    job_id = event.get("job_id")
    if job_id is not None and not is_valid_job_id(job_id):
        job_id = job_id_text(job_id)
    id_key = event.get("_id")  # a tracked reply stored as a document
    if id_key is not None:
        id_key = _id_of(id_key)
    state, soft = classify(text)
    rank = 1
    if id_key:
        content = ""
    elif worker is not None and seq >= 0:  # a worker never sends two events with one seq
        id_key, content = "", worker
    else:
        id_key, content = "", _content(job_id, resource, extractor, text, worker, attempt)
        rank = LIFECYCLE[state]
        if attempt is None and state == RESUBMITTED:
            attempt = retry_number(text)
    # Speed: tuple.__new__ builds the record from its fields in order, without the Python-level
    # StatusEvent.__new__ call: 184 against 360 ns a record, of some 2,000 ns for this reader.
    if state == SUBMITTED:
        return _new_record(StatusEvent, (
            ts - ts % 1000, 0, ts, id_key, seq, content, job_id, resource, extractor_name(extractor), state, soft,
            text, _submitter(event), worker, attempt, tracking.get("redelivered") is True, progress, name))
    return _new_record(StatusEvent, (
        ts, rank, ts, id_key, seq, content, job_id, resource, extractor_name(extractor), state, soft, text, None,
        worker, attempt, tracking.get("redelivered") is True, progress, name))


def untracked_status(event: dict) -> Union[StatusEvent, str]:
    """A status without ``tracking``: a Clowder v1 ``extractions`` document (Mongo extended JSON or
    pymongo's types: ``ObjectId``, naive UTC ``datetime``), known by its ``_id``, or a raw reply of
    an extractor without pyclowder-jobs (the same fields without ``_id``), known by its content.

    Speed: extended JSON's ``{"$oid": ...}`` and ``{"$date": ...}`` are unwrapped here rather than
    by ``id_text``, ``to_ms`` and ``job_id_text``: 1,060 against 1,220 ns a document without job id,
    1,290 against 1,530 ns with one.
    """
    text = event.get("status")
    if type(text) is not str:
        return _NO_STATUS
    resource = event.get("file_id")
    if type(resource) is not str:
        if type(resource) is dict:
            resource = resource.get("$oid")
        if type(resource) is not str:
            resource = id_text(resource)
            if resource is None:
                return _NO_RESOURCE
    extractor = event.get("extractor_id")
    if type(extractor) is not str or not extractor:
        return _NO_EXTRACTOR
    ts = event.get("start")
    if type(ts) is dict:
        date = ts.get("$date")
        ts = iso_ms(date) if type(date) is str else to_ms(ts)
    else:
        ts = iso_ms(ts) if type(ts) is str else to_ms(ts)
    if ts is None:
        return _NO_TIME
    job_id = event.get("job_id")
    if job_id is not None:
        if type(job_id) is dict:
            job_id = job_id.get("$oid")
            if type(job_id) is not str:
                job_id = None
        if job_id is not None and not is_valid_job_id(job_id):
            job_id = job_id_text(job_id)
    id_key = event.get("_id")
    if id_key is not None:
        if type(id_key) is dict:
            id_key = id_key.get("$oid")
        if type(id_key) is not str:
            id_key = id_text(id_key)
    state, soft = classify(text)
    rank = 1
    attempt = None
    if id_key:
        content = ""
    else:  # plain pyClowder's reply, stamped to the second: see status.LIFECYCLE
        id_key, content = "", _content(job_id, resource, extractor, text, None, None)
        rank = LIFECYCLE[state]
    if state == RESUBMITTED:
        attempt = retry_number(text)
    # Speed: as in tracked_reply, the record is built without StatusEvent.__new__ (184 against 360 ns).
    if state == SUBMITTED:
        return _new_record(StatusEvent, (
            ts - ts % 1000, 0, ts, id_key, -1, content, job_id, resource, extractor_name(extractor), state, soft,
            text, _submitter(event), None, None, False, None, None))
    return _new_record(StatusEvent, (
        ts, rank, ts, id_key, -1, content, job_id, resource, extractor_name(extractor), state, soft, text, None, None,
        attempt, False, None, None))


def listener_job(event: dict) -> Union[List[StatusEvent], str]:
    """A Clowder v2 ``listener_jobs`` document: one event per time it records (created, started,
    and finished or updated), known by the job id and that phase."""
    job_id = job_id_text(event.get("_id"))
    if job_id is None:
        return "listener job without a usable _id"
    extractor = event.get("listener_id")
    extractor = extractor_name(extractor) if type(extractor) is str and extractor.strip() else None
    ref = event.get("resource_ref")
    resource = id_text(ref.get("resource_id")) if type(ref) is dict else None
    creator = event.get("creator")
    user = creator.get("email") if type(creator) is dict else None
    if type(user) is not str or not user:
        user = None
    word = event.get("status")
    word = word if type(word) is str else ""
    state = classify(word)[0] if word else None
    message = event.get("latest_message")
    message = message if type(message) is str and message else word
    records = []
    created = to_ms(event.get("created"))
    if created is not None:
        records.append(_phase(created, job_id, 0, resource, extractor, SUBMITTED, "CREATED", user))
    started = to_ms(event.get("started"))
    if started is not None:
        records.append(_phase(started, job_id, 1, resource, extractor, STARTED, "STARTED", None))
    if state is not None and state not in (SUBMITTED, STARTED):
        when = to_ms(event.get("finished")) if state in TERMINAL else None
        when = when if when is not None else to_ms(event.get("updated"))
        if when is not None:
            records.append(_phase(when, job_id, 2, resource, extractor, state, message, None))
    if not records:
        return "listener job without a readable created, started, finished or updated time"
    return records


def _phase(ts: int, job_id: str, phase: int, resource: Optional[str], extractor: Optional[str], state: str,
           text: str, user: Optional[str]) -> StatusEvent:
    """One event of a v2 job document: its id is the job's, its ``seq`` the phase (0, 1 or 2)."""
    sort_ts, rank = (ts - ts % 1000, 0) if state == SUBMITTED else (ts, 1)
    return StatusEvent(sort_ts, rank, ts, job_id, phase, "", job_id, resource, extractor, state, False, text,
                       user, None, None, False, None, None)


def listener_job_update(event: dict) -> Union[StatusEvent, str]:
    """A Clowder v2 ``listener_job_updates`` document: a status text for a job id, known by its ``_id``."""
    job_id = job_id_text(event.get("job_id"))
    if job_id is None:
        return "job update without a usable job_id"
    text = event.get("status")
    if type(text) is not str:
        return _NO_STATUS
    ts = to_ms(event.get("timestamp"))
    if ts is None:
        return "no readable time in timestamp"
    state, soft = classify(text)
    id_key = id_text(event.get("_id")) or ""
    content = "" if id_key else job_id + "\x00" + text
    sort_ts, rank = (ts - ts % 1000, 0) if state == SUBMITTED else (ts, 1 if id_key else LIFECYCLE[state])
    return StatusEvent(sort_ts, rank, ts, id_key, -1, content, job_id, None, None, state, soft, text, None,
                       None, None, False, None, None)


def heartbeat(event: dict) -> Union[Heartbeat, str]:
    """A worker's heartbeat (``docs/wire.rst``); without ``tracking`` it has no usable timing."""
    worker = event.get("id")
    if type(worker) is not str or not worker:
        return "heartbeat without a worker id"
    names = frozenset(extractor_name(name) for name in (event.get("queue"), _info_name(event.get("extractor_info")))
                      if type(name) is str and name.strip())
    tracking = event.get("tracking")
    if type(tracking) is not dict:
        return Heartbeat(worker, None, None, frozenset(), -1, names)
    interval = tracking.get("interval")
    interval = round(interval * 1000) if type(interval) in (int, float) and 0 < interval < 1e9 else None
    jobs = tracking.get("jobs")
    listed = frozenset(
        job["job_id"] for job in jobs if type(job) is dict and type(job.get("job_id")) is str
    ) if type(jobs) is list else frozenset()
    seq = tracking.get("seq")
    return Heartbeat(worker, to_ms(tracking.get("ts")), interval, listed, seq if type(seq) is int else -1, names)


def _info_name(info: Any) -> Any:
    """``extractor_info.name`` of a heartbeat, or None."""
    return info.get("name") if type(info) is dict else None


def job_id_text(value: Any) -> Optional[str]:
    """A usable job id (the rule of :func:`pyclowder_jobs.protocol.ids.is_valid_job_id`) as text, else None."""
    if type(value) is not str:
        value = id_text(value)
        if value is None:
            return None
    return value if is_valid_job_id(value) else None


@functools.lru_cache(maxsize=1024)
def extractor_name(name: str) -> str:
    """The extractor's own name: ``private.<key>.`` and ``extractors.`` prefixes removed.

    Speed: memoised (bounded), as every event names an extractor and there are few of them: 49
    against 487 ns for ``private.<key>.ncsa.wordcount``.
    """
    found = name.strip()
    while True:
        if found.startswith("extractors."):
            found = found[len("extractors."):]
        elif found.startswith("private.") and found.count(".") >= 2:
            found = found.split(".", 2)[2]
        else:
            return found


def _id_of(value: Any) -> Optional[str]:
    """An ``_id`` or ``file_id`` as text: ``{"$oid": ...}``'s, an ``ObjectId``'s, or None."""
    if type(value) is dict:
        value = value.get("$oid")
    return value if type(value) is str else id_text(value)


def _content(job_id: Optional[str], resource: str, extractor: str, text: str, worker: Optional[str],
             attempt: Optional[int]) -> str:
    """What a status without ``_id`` or ``seq`` is known by: the fields it was sent with."""
    return "\x00".join((job_id or "", resource, extractor, text, worker or "", str(attempt)))


def _submitter(event: dict) -> Optional[str]:
    """The user of a SUBMITTED, unless it is Clowder v1's anonymous user."""
    user = id_text(event.get("user_id"))
    return None if user == ANONYMOUS_USER else user
