"""What goes on the wire: status replies and heartbeats, with the ``tracking`` object.

Every field pyClowder sends keeps its name, order and format, except that ``job_id`` is never
null and ``start`` is UTC with a correct ``+00:00`` offset (whole seconds, as both Clowder servers
parse it). Everything this library adds lives in the one ``tracking`` object.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Iterable, Optional, Tuple

#: Version of the ``tracking`` object.
TRACKING_VERSION = 1

#: Values of ``tracking.kind``.
STATUS = "status"
PROGRESS = "progress"
LOG = "log"


_last_second: Tuple[int, str] = (-1, "")


def _utc_second(second: int) -> str:
    """``2026-11-22T11:04:26`` for a whole second, formatted once per second however many events."""
    global _last_second
    cached, text = _last_second
    if cached != second:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _last_second = (second, text)
    return text


def utc_seconds(timestamp: float) -> str:
    """``2026-11-22T11:04:26+00:00``: the ``start`` field of a status reply."""
    return _utc_second(int(timestamp)) + "+00:00"


def utc_millis(timestamp: float) -> str:
    """``2026-11-22T11:04:26.123Z``: every time inside ``tracking``."""
    second, millis = divmod(int(timestamp * 1000), 1000)
    return "%s.%03dZ" % (_utc_second(second), millis)


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
