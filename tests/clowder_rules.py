"""What Clowder v1 and v2 accept from an extractor (DESIGN.md section 3), as checks for the tests."""

import re
from datetime import datetime

OBJECT_ID = re.compile(r"[0-9a-f]{24}")
STATUS_PREFIXES = ("StatusMessage.start", "StatusMessage.processing", "StatusMessage.done",
                   "StatusMessage.skip", "StatusMessage.error", "StatusMessage.retry")
# Java's yyyy-MM-dd'T'HH:mm:ssX: whole seconds and an ISO 8601 offset.
JAVA_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}(:?\d{2})?)")


def v1_reply_problems(reply):
    """Why Clowder v1's EventFilter would drop this status reply (an empty list if it would not)."""
    problems = []
    for field in ("file_id", "extractor_id", "status", "start"):
        if not isinstance(reply.get(field), str) or not reply[field]:
            problems.append("%s is missing or not a string" % field)
    for field in ("job_id", "user_id"):
        if field in reply and not (isinstance(reply[field], str) and OBJECT_ID.fullmatch(reply[field])):
            problems.append("%s=%r is present but not a 24-hex ObjectId" % (field, reply[field]))
    if isinstance(reply.get("start"), str) and not JAVA_PATTERN.fullmatch(reply["start"]):
        problems.append("start=%r does not parse with yyyy-MM-dd'T'HH:mm:ssX" % reply["start"])
    return problems


def v2_reply_problems(reply):
    """Why Clowder v2's message_listener would drop this status reply (an empty list if it would not)."""
    problems = []
    job_id = reply.get("job_id")
    if not (isinstance(job_id, str) and OBJECT_ID.fullmatch(job_id)):
        problems.append("job_id=%r is not an ObjectId" % (job_id,))
    try:
        datetime.strptime(reply.get("start", ""), "%Y-%m-%dT%H:%M:%S%z")
    except (TypeError, ValueError):
        problems.append("start=%r does not parse with %%Y-%%m-%%dT%%H:%%M:%%S%%z" % reply.get("start"))
    status = reply.get("status", "")
    if not (isinstance(status, str) and status.startswith(STATUS_PREFIXES) and ": " in status):
        problems.append("status=%r has no StatusMessage.x: prefix" % (status,))
    return problems


def v1_heartbeat_problems(heartbeat):
    """Why Clowder v1 would not read this heartbeat (an empty list if it would)."""
    problems = []
    if not isinstance(heartbeat.get("id"), str):
        problems.append("id is missing")
    if not isinstance(heartbeat.get("queue"), str):
        problems.append("queue is missing")
    if not isinstance(heartbeat.get("extractor_info"), dict) or "name" not in heartbeat["extractor_info"]:
        problems.append("extractor_info is missing or has no name")
    return problems
