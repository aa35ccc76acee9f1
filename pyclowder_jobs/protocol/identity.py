"""What makes two events the same, so that a copy delivered twice is counted once.

Two readings of one rule (``docs/fold.rst``, "Duplicates"): an event is known by the ``_id`` of
the document that stored it, else by the worker that sent it and that worker's ``tracking.seq``
(a worker never sends two events with one seq), else by its content.  :func:`document_key` keys
raw documents as a store keeps them; :func:`event_key` keys the fold's status events, whose
content is what the fold reads of them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Hashable

from pyclowder_jobs.protocol.tracking import heartbeat_worker, tracking_of


def document_key(event: Any) -> str:
    """``w:<worker>:<seq>`` for tap events and heartbeats, ``id:<_id>`` for stored documents, else
    ``h:`` and a hash of the document's canonical JSON."""
    if type(event) is dict:
        tracking = tracking_of(event)
        if tracking is not None and type(tracking.get("seq")) is int:
            worker = tracking.get("worker") if "extractor_id" in event else heartbeat_worker(event)
            if type(worker) is str and worker:
                return "w:%s:%d" % (worker, tracking["seq"])
        if "_id" in event:
            oid = id_text(event["_id"])
            if oid:
                return "id:" + oid
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), default=str)
    return "h:" + hashlib.sha1(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def event_key(id_key: str, seq: int, ts: int, content: str) -> Hashable:
    """A status event's key: its document's ``_id`` when it has one and no ``seq``, else its time,
    ``_id``, ``seq`` and content (the worker, for a tracked reply) together."""
    return id_key if seq < 0 and id_key else (ts, id_key, seq, content)


_NOT_IDS = (list, tuple, set, frozenset, dict, bool, float, bytes)


def id_text(value: Any) -> "str | None":
    """An id as text: a string, ``{"$oid": ...}``, or ``str()`` of a ``bson.ObjectId`` (duck typed)."""
    kind = type(value)
    if kind is str:
        return value or None
    if kind is dict:
        value = value.get("$oid")
        return value if type(value) is str and value else None
    if value is None or isinstance(value, _NOT_IDS):
        return None
    try:
        return str(value) or None
    except Exception:  # an id whose str() fails is no id
        return None
