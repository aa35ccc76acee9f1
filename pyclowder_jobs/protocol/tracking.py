"""The ``tracking`` object: its fields and kinds, how the extractor side writes it, how readers read it.

Every field pyClowder sends keeps its name, order and format, except that ``job_id`` is never
null and ``start`` is UTC with a correct ``+00:00`` offset (whole seconds, as both Clowder servers
parse it).  Everything this library adds lives in the one ``tracking`` object, so that no future
Clowder field can collide with it.  ``docs/wire.rst`` describes the format.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any, Dict, Iterable, NamedTuple, Optional, Tuple

from pyclowder_jobs.protocol.times import to_ms, utc_millis, utc_seconds

#: Version of the ``tracking`` object.
TRACKING_VERSION = 1

#: Values of ``tracking.kind`` in status replies and the event tap's copies.
STATUS = "status"
PROGRESS = "progress"
LOG = "log"
KINDS = (STATUS, PROGRESS, LOG)
#: The event tap's routing-key kind of a heartbeat (``<extractor>.heartbeat``).
HEARTBEAT = "heartbeat"

#: A status reply's fields, in order: pyClowder's, then ``tracking``.
REPLY_FIELDS = ("file_id", "extractor_id", "job_id", "status", "start", "message_type", "message", "tracking")
#: A log line's fields on the event tap, in order.
LOG_FIELDS = ("file_id", "extractor_id", "job_id", "level", "logger", "message", "tracking")
#: The ``tracking`` object of a status, progress or log event, in order (``resource_name`` only when the
#: request names its resource, ``progress`` only on progress).
REPLY_TRACKING_FIELDS = ("v", "worker", "host", "pid", "seq", "ts", "attempt", "redelivered", "resource_name", "kind",
                         "progress")
#: The ``tracking`` object of a heartbeat, in order.
HEARTBEAT_TRACKING_FIELDS = ("v", "host", "pid", "interval", "ts", "seq", "processed", "jobs")
#: Each running job in a heartbeat's ``tracking.jobs`` (``resource_name`` only when the request names its resource).
HEARTBEAT_JOB_FIELDS = ("job_id", "resource_id", "resource_name", "started", "last_event")
#: The fields of ``tracking.progress``.
PROGRESS_FIELDS = ("done", "total", "unit")
#: Most characters of a ``resource_name``, in a reply's ``tracking`` and in a heartbeat's jobs.
MAX_RESOURCE_NAME_LENGTH = 200


# -- writing -------------------------------------------------------------------------------------

def progress_text(done: float, total: Optional[float] = None, unit: Optional[str] = None) -> str:
    """How a progress message reads in Clowder: ``3/10 files (30%)``, ``3 files`` or ``3/10``."""
    text = _number(done) if total is None else "%s/%s" % (_number(done), _number(total))
    if unit:
        text += " " + unit
    if total:
        text += " (%d%%)" % int(100 * done / total)
    return text


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else "%g" % value


def capped_resource_name(value: Any) -> Optional[str]:
    """``value`` as a ``resource_name``: a string that is not empty, cut to :data:`MAX_RESOURCE_NAME_LENGTH`
    characters; None for anything else."""
    if type(value) is not str or not value:
        return None
    return value[:MAX_RESOURCE_NAME_LENGTH]


def status_reply(resource_id: Any, extractor: str, job_id: str, status: Any, message: str,
                 timestamp: float, tracking: Dict[str, Any]) -> Dict[str, Any]:
    """A status reply: pyClowder's fields in pyClowder's order, then ``tracking``."""
    return {
        "file_id": resource_id,
        "extractor_id": extractor,
        "job_id": job_id,
        "status": "%s: %s" % (status, message),
        "start": utc_seconds(timestamp),
        "message_type": "%s" % status,
        "message": message,
        "tracking": tracking,
    }


def log_event(resource_id: Any, extractor: str, job_id: str, level: str, logger: str, message: str,
              tracking: Dict[str, Any]) -> Dict[str, Any]:
    """A log line of a job, as the event tap carries it."""
    return {
        "file_id": resource_id,
        "extractor_id": extractor,
        "job_id": job_id,
        "level": level,
        "logger": logger,
        "message": message,
        "tracking": tracking,
    }


def reply_tracking_template(worker: str, host: str, pid: int, attempt: int, redelivered: bool,
                            resource_name: Optional[str] = None) -> Dict[str, Any]:
    """The part of a job's ``tracking`` object that stays the same from event to event.

    ``resource_name`` (see :func:`capped_resource_name`) is left out when it is None.
    """
    template = {
        "v": TRACKING_VERSION,
        "worker": worker,
        "host": host,
        "pid": pid,
        "seq": None,
        "ts": None,
        "attempt": attempt,
        "redelivered": redelivered,
    }
    if resource_name is not None:
        template["resource_name"] = resource_name
    template["kind"] = None
    return template


def reply_tracking(template: Dict[str, Any], seq: int, timestamp: float, kind: str = STATUS,
                   progress: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The ``tracking`` object of one status, progress or log event of a job."""
    tracking = template.copy()
    tracking["seq"] = seq
    tracking["ts"] = utc_millis(timestamp)
    tracking["kind"] = kind
    if progress is not None:
        tracking["progress"] = progress
    return tracking


#: A status reply as ``json.dumps`` writes it, its fields in :data:`REPLY_FIELDS`' order, and
#: the end of its tracking object after ``kind``: with progress numbers, and without.
_REPLY_JSON = ('{"file_id": %s, "extractor_id": %s, "job_id": %s, "status": %s, "start": %s, '
               '"message_type": %s, "message": %s, "tracking": %s%d, "ts": %s%s%s%s')
_PROGRESS_JSON = ', "progress": %s}}'
_NO_PROGRESS_JSON = "}}"
_WORKER_FIELDS = REPLY_TRACKING_FIELDS[:4]
#: A tracking object's fields without ``progress``: of a job whose request names its resource, and not.
_NAMED_FIELDS = REPLY_TRACKING_FIELDS[:-1]
_UNNAMED_FIELDS = tuple(key for key in _NAMED_FIELDS if key != "resource_name")


class TrackingTemplate:
    """The constant part of a job's ``tracking`` objects, as a dict and as JSON encoded once.

    Speed: encoding the status replies is most of what tracking costs per message.  All of a
    tracking object but ``seq``, ``ts``, ``kind`` and ``progress`` is the same in every event of a
    job, most of it in every event of a worker's jobs of one attempt, and a reply's fields are
    known: so :meth:`encode_reply` writes the JSON from text encoded here once and from each value
    encoded as ``json.dumps`` would (measured by benchmarks/bench_extractor.py).  Tests check,
    byte for byte, that the text is the same.
    """

    def __init__(self, worker: str, host: str, pid: int, attempt: int, redelivered: bool,
                 resource_name: Optional[str] = None) -> None:
        self.fields = reply_tracking_template(worker, host, pid, attempt, redelivered, resource_name)
        worker_part = json.dumps({key: self.fields[key] for key in _WORKER_FIELDS})
        self._before_seq = worker_part[:-1] + ', "seq": '
        self._after_ts = ', "attempt": %s, "redelivered": %s' % (json.dumps(attempt), json.dumps(redelivered))
        self._set_name(resource_name)

    def named(self, resource_name: Optional[str]) -> "TrackingTemplate":
        """This template for a job whose request names its resource ``resource_name`` (a string made by
        :func:`capped_resource_name`); this template itself when it is None."""
        if resource_name is None:
            return self
        named = object.__new__(TrackingTemplate)
        fields = self.fields.copy()
        del fields["kind"]  # to put it back after the name, as the protocol orders them
        fields["resource_name"] = resource_name
        fields["kind"] = None
        named.fields = fields
        named._before_seq, named._after_ts = self._before_seq, self._after_ts
        named._set_name(resource_name)
        return named

    def _set_name(self, resource_name: Optional[str]) -> None:
        if resource_name is None:
            self._before_kind = self._after_ts + ', "kind": '
            self._keys = _UNNAMED_FIELDS
        else:
            self._before_kind = '%s, "resource_name": %s, "kind": ' % (self._after_ts,
                                                                       encode_basestring_ascii(resource_name))
            self._keys = _NAMED_FIELDS
        self._progress_keys = self._keys + ("progress",)

    def encode_reply(self, reply: Dict[str, Any]) -> str:
        """``json.dumps(reply)`` for a reply made by :func:`status_reply`, its ``tracking`` by
        :func:`reply_tracking` from this template.

        A reply whose fields or tracking fields are not exactly those of the protocol, in its
        order, or with a value that is not a string where one usually is (a resource id that is
        a number), is left to ``json.dumps``: the text is always what ``json.dumps`` writes.
        """
        if tuple(reply) != REPLY_FIELDS:
            return json.dumps(reply)
        tracking = reply["tracking"]
        if type(tracking) is not dict:
            return json.dumps(reply)
        progress = tracking.get("progress")
        if (tuple(tracking) != (self._keys if progress is None else self._progress_keys)
                or type(tracking["seq"]) is not int):
            return json.dumps(reply)
        try:
            return _REPLY_JSON % (
                encode_basestring_ascii(reply["file_id"]), encode_basestring_ascii(reply["extractor_id"]),
                encode_basestring_ascii(reply["job_id"]), encode_basestring_ascii(reply["status"]),
                encode_basestring_ascii(reply["start"]), encode_basestring_ascii(reply["message_type"]),
                encode_basestring_ascii(reply["message"]), self._before_seq, tracking["seq"],
                encode_basestring_ascii(tracking["ts"]), self._before_kind, encode_basestring_ascii(tracking["kind"]),
                _NO_PROGRESS_JSON if progress is None else _PROGRESS_JSON % json.dumps(progress))
        except TypeError:
            return json.dumps(reply)


def heartbeat_tracking(host: str, pid: int, interval: float, timestamp: float, seq: int,
                       processed: int, jobs: Iterable[Dict[str, Any]]) -> Dict[str, Any]:
    """The ``tracking`` object of a heartbeat: this worker now, and the jobs it is running."""
    return {
        "v": TRACKING_VERSION,
        "host": host,
        "pid": pid,
        "interval": interval,
        "ts": utc_millis(timestamp),
        "seq": seq,
        "processed": processed,
        "jobs": list(jobs),
    }


# -- reading -------------------------------------------------------------------------------------

class Tracking(NamedTuple):
    """What a reader takes from an event's ``tracking`` object; a field it does not hold is None
    (``seq`` is -1, ``redelivered`` False)."""

    worker: Optional[str]
    seq: int
    ts: Optional[int]
    attempt: Optional[int]
    redelivered: bool
    kind: Optional[str]
    progress: Optional[Tuple[Any, Any, Any]]


def tracking_of(event: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The event's ``tracking`` object, or None when it has none or it is not an object."""
    tracking = event.get("tracking")
    return tracking if type(tracking) is dict else None


def kind_of(event: Dict[str, Any]) -> Optional[str]:
    """``tracking.kind`` of an event (``status``, ``progress`` or ``log``), or None."""
    tracking = event.get("tracking")
    if type(tracking) is not dict:
        return None
    kind = tracking.get("kind")
    return kind if type(kind) is str else None


def is_log_line(event: Any) -> bool:
    """A job's log line from the event tap: ``tracking.kind`` says ``log``; never a status."""
    # Speed: kind_of's test written out here, as the fold asks this of every tracked event (115
    # against 157 ns).
    tracking = event.get("tracking") if type(event) is dict else None
    return type(tracking) is dict and tracking.get("kind") == LOG


def read_tracking(tracking: Dict[str, Any]) -> Tracking:
    """The fields of a reply's ``tracking`` object, each checked for its type; a wrong one is None."""
    worker = tracking.get("worker")
    seq = tracking.get("seq")
    ts = tracking.get("ts")
    attempt = tracking.get("attempt")
    kind = tracking.get("kind")
    progress = tracking.get("progress")
    return Tracking(
        worker if type(worker) is str and worker else None,
        seq if type(seq) is int and seq >= 0 else -1,
        None if ts is None else to_ms(ts),
        attempt if type(attempt) is int and attempt >= 1 else None,
        tracking.get("redelivered") is True,
        kind if type(kind) is str else None,
        (progress.get("done"), progress.get("total"), progress.get("unit")) if type(progress) is dict else None)


def heartbeat_worker(event: Dict[str, Any]) -> Optional[str]:
    """The worker id of a heartbeat (its ``id``), or None."""
    worker = event.get("id")
    return worker if type(worker) is str and worker else None
