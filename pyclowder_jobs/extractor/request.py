"""Reading a request from Clowder: decoding, the job id, the attempt, the resource and its name.

A body is decoded as pyClowder decodes it (UTF-8, else ISO-8859-1). A body that is not a JSON
object cannot be processed and is refused with a reason; everything else about the request is
left to pyClowder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from pyclowder_jobs.protocol.ids import MAX_ID_LENGTH, incoming_job_id, new_job_id, shorten
from pyclowder_jobs.protocol.tracking import capped_resource_name


class BadRequest(ValueError):
    """A request body that is not a JSON object."""


@dataclass
class Request:
    """A decoded request, with the job it starts and what to warn about."""

    body: Dict[str, Any]
    raw: Any
    job_id: str
    attempt: int
    resource_id: Any
    warnings: List[str]
    resource_name: Optional[str] = None


def decode(raw: bytes) -> Tuple[Dict[str, Any], bool]:
    """The JSON object in a message body, and whether the body was UTF-8.

    Raises :class:`BadRequest` with the reason when the body is not a JSON object.
    """
    utf8 = True
    if isinstance(raw, (bytes, bytearray)):
        try:
            text = raw.decode("utf8")
        except UnicodeDecodeError:
            text = raw.decode("iso-8859-1")
            utf8 = False
    else:
        text = raw
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise BadRequest("the body is not JSON (%s)" % exc) from None
    except RecursionError:
        raise BadRequest("the body is JSON nested too deeply to read") from None
    if not isinstance(body, dict):
        raise BadRequest("the body is a JSON %s, not an object" % type(body).__name__)
    return body, utf8


def read(raw: bytes, id_style: str) -> Request:
    """Decode ``raw`` and find or make its job id, written into the body when it is new.

    ``Request.raw`` is the body to keep for a retry or the error queue: the original bytes when
    the request had a usable id, else the body re-encoded with the new ``jobid``.
    """
    body, utf8 = decode(raw)
    warnings = []
    if not utf8:
        warnings.append("the body is not UTF-8: read as ISO-8859-1, as pyClowder does")
    job_id, rejected = incoming_job_id(body)
    if rejected is not None:
        key, value = rejected
        warnings.append("ignoring %s=%s: a job id is a string of 1 to %d characters from "
                        "A-Z a-z 0-9 . _ : -" % (key, shorten(value), MAX_ID_LENGTH))
    if job_id is None:
        job_id = new_job_id(id_style)
        body["jobid"] = job_id
        raw = json.dumps(body)
    return Request(body, raw, job_id, attempt_of(body), resource_of(body), warnings, resource_name_of(body))


def attempt_of(body: Dict[str, Any]) -> int:
    """``retry_count + 1``, or 1 when the count is missing or not a whole number from 0 up."""
    retry_count = body.get("retry_count", 0)
    if isinstance(retry_count, int) and not isinstance(retry_count, bool) and retry_count >= 0:
        return retry_count + 1
    return 1


def resource_of(body: Dict[str, Any]) -> Optional[Any]:
    """The id of the file or dataset the request is about, as far as the body tells."""
    for key in ("id", "datasetId", "resourceId"):
        value = body.get(key)
        if value:
            return value
    return None


def resource_name_of(body: Dict[str, Any]) -> Optional[str]:
    """The name people know the request's resource by, capped: a dataset request's ``datasetName``,
    any other request's ``filename``; None when the request has none.

    A dataset request (Clowder v2's ``resource_type``, or a v1 routing key with ``.dataset.``) may
    carry the name of the file that triggered it: that name is not the dataset's, so it is not used.
    """
    routing_key = body.get("routing_key")
    if body.get("resource_type") == "dataset" or (type(routing_key) is str and ".dataset." in routing_key):
        return capped_resource_name(body.get("datasetName"))
    return capped_resource_name(body.get("filename"))
