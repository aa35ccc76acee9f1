"""What goes on the wire: status replies and heartbeats, with the ``tracking`` object.

Every field pyClowder sends keeps its name, order and format, except that ``job_id`` is never
null and ``start`` is UTC with a correct ``+00:00`` offset (whole seconds, as both Clowder servers
parse it). Everything this library adds lives in the one ``tracking`` object.
"""

from __future__ import annotations

import json
import time
from json.encoder import encode_basestring_ascii
from typing import Any, Dict, Iterable, Optional, Tuple

#: Version of the ``tracking`` object.
TRACKING_VERSION = 1

#: Values of ``tracking.kind``.
STATUS = "status"
PROGRESS = "progress"
LOG = "log"

#: The fields of a tracking object that are the same in every event of a worker.
_WORKER_FIELDS = ("v", "worker", "host", "pid")

#: A status reply as ``json.dumps`` writes it, its fields in :func:`status_reply`'s order, and
#: the end of its tracking object after ``kind``: with progress numbers, and without.
_REPLY_JSON = ('{"file_id": %s, "extractor_id": %s, "job_id": %s, "status": %s, "start": %s, '
               '"message_type": %s, "message": %s, "tracking": %s%d, "ts": %s%s%s%s')
_PROGRESS_JSON = ', "progress": %s}}'
_NO_PROGRESS_JSON = "}}"


#: The last whole second formatted, and its text: events come many to a second, so the two
#: functions below format a second only when it is not this one.
_last_second: Tuple[int, str] = (-1, "")


def _utc_second(second: int) -> str:
    """``2026-11-22T11:04:26`` for a whole second, remembered as the last one formatted."""
    global _last_second
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    _last_second = (second, text)
    return text


def utc_seconds(timestamp: float) -> str:
    """``2026-11-22T11:04:26+00:00``: the ``start`` field of a status reply."""
    second = int(timestamp)
    cached, text = _last_second
    return (text if cached == second else _utc_second(second)) + "+00:00"


def utc_millis(timestamp: float) -> str:
    """``2026-11-22T11:04:26.123Z``: every time inside ``tracking``."""
    second, millis = divmod(int(timestamp * 1000), 1000)
    cached, text = _last_second
    return "%s.%03dZ" % (text if cached == second else _utc_second(second), millis)


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


def reply_tracking_template(worker: str, host: str, pid: int, attempt: int, redelivered: bool) -> Dict[str, Any]:
    """The part of a job's ``tracking`` object that stays the same from event to event."""
    return {
        "v": TRACKING_VERSION,
        "worker": worker,
        "host": host,
        "pid": pid,
        "seq": None,
        "ts": None,
        "attempt": attempt,
        "redelivered": redelivered,
        "kind": None,
    }


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


class TrackingTemplate:
    """The constant part of a job's ``tracking`` objects, as a dict and as JSON encoded once.

    Encoding the status replies is most of what tracking costs per message. All of a tracking
    object but ``seq``, ``ts``, ``kind`` and ``progress`` is the same in every event of a worker's
    jobs of one attempt, and a reply's fields are known: so :meth:`encode_reply` writes the JSON
    from text encoded here once and from each value encoded as ``json.dumps`` would, without
    ``json.dumps``'s work of walking a dict. The tests check, byte for byte, that the text is
    the same.
    """

    def __init__(self, worker: str, host: str, pid: int, attempt: int, redelivered: bool) -> None:
        self.fields = reply_tracking_template(worker, host, pid, attempt, redelivered)
        worker_part = json.dumps({key: self.fields[key] for key in _WORKER_FIELDS})
        self._before_seq = worker_part[:-1] + ', "seq": '
        self._before_kind = ', "attempt": %s, "redelivered": %s, "kind": ' % (json.dumps(attempt),
                                                                              json.dumps(redelivered))

    def encode_reply(self, reply: Dict[str, Any]) -> str:
        """``json.dumps(reply)`` for a reply made by :func:`status_reply`, its ``tracking`` by
        :func:`reply_tracking` from this template.

        Strings are encoded with ``encode_basestring_ascii``, as ``json.dumps`` encodes them. A reply
        with a value that is not a string where one usually is (a resource id that is a number,
        a message that is not text) raises ``TypeError`` there, and is left to ``json.dumps``.
        """
        tracking = reply["tracking"]
        progress = tracking.get("progress")
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
