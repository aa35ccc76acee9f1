"""The job id rule: which incoming ids are kept, and how new ones are made (``docs/wire.rst``).

An id that arrives with the request is used verbatim when it is a short, plain string. Otherwise
a new id is made: by default 24 hex digits shaped like a MongoDB ObjectId (4 bytes of seconds
since the epoch, then 8 random bytes), which both Clowder servers accept and which sorts by time.
"""

from __future__ import annotations

import os
import re
import reprlib
import struct
import time
import uuid
from typing import Any, Mapping, Optional, Tuple

#: Longest incoming id that is kept.
MAX_ID_LENGTH = 64

#: Request keys that carry a job id, in the order they are read (Clowder v1, then v2).
ID_KEYS = ("jobid", "job_id")

#: Id styles for :func:`new_job_id`.
OBJECTID = "objectid"
UUID4 = "uuid4"
ID_STYLES = (OBJECTID, UUID4)

_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,%d}" % MAX_ID_LENGTH)


def is_valid_job_id(value: Any) -> bool:
    """True for a string of 1 to 64 characters from ``[A-Za-z0-9._:-]`` (``docs/wire.rst``)."""
    if type(value) is not str:
        return False
    # Speed: most ids are ObjectIds (24 hex digits), which two string methods accept faster than
    # the regular expression; the fold checks every event's id (benchmarks/bench_fold.py).
    if len(value) <= MAX_ID_LENGTH and value.isascii() and value.isalnum():
        return True
    return _VALID_ID.fullmatch(value) is not None


def objectid() -> str:
    """A new 24-hex id: 4 bytes of seconds since the epoch, then 8 random bytes."""
    return (struct.pack(">I", int(time.time()) & 0xFFFFFFFF) + os.urandom(8)).hex()


def new_job_id(style: str = OBJECTID) -> str:
    """A new job id in the given style (``"objectid"`` or ``"uuid4"``)."""
    if style == UUID4:
        return str(uuid.uuid4())
    return objectid()


def incoming_job_id(body: Mapping[str, Any]) -> Tuple[Optional[str], Optional[Tuple[str, Any]]]:
    """The first valid id of ``jobid`` and ``job_id`` in a request body, and the first unusable one.

    Returns ``(id or None, (key, value) or None)``: the id to keep, and the first key that was
    present with a value that cannot be kept, to be reported. A JSON null counts as absent, as
    pyClowder sends it for an unknown id.
    """
    found = None
    rejected = None
    for key in ID_KEYS:
        value = body.get(key)
        if value is None:
            continue
        if is_valid_job_id(value):
            if found is None:
                found = value
        elif rejected is None:
            rejected = (key, value)
    return found, rejected


_short_repr = reprlib.Repr()
_short_repr.maxstring = _short_repr.maxother = MAX_ID_LENGTH


def shorten(value: Any, limit: int = MAX_ID_LENGTH) -> str:
    """A repr of ``value`` of at most ``limit`` characters, for warnings about hostile input."""
    text = _short_repr.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
