"""Status texts of every era (``docs/fold.rst``, rule 3) mapped to one set of job states.

Clowder v1 stores whatever an extractor sent, so the same state has had many spellings since 2016:
free text from pyclowder 1.x, ``StatusMessage.<member>: text`` from 2.x and 3.x, ``STARTED: text``
from 2.3.0, the server's own ``SUBMITTED`` and ``Cancel ...`` strings, and ``DONE``, which Clowder
v1 stores for any status containing "done". :func:`parse_status` never raises.
"""
import functools
import re
from typing import Any, Optional, Tuple

SUBMITTED = "SUBMITTED"
STARTED = "STARTED"
PROCESSING = "PROCESSING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
SKIPPED = "SKIPPED"
RESUBMITTED = "RESUBMITTED"
CANCEL_REQUESTED = "CANCEL_REQUESTED"
CANCELLED = "CANCELLED"
#: Not a status text: the fold's verdict on an unfinished job whose worker is gone (``docs/fold.rst``, rule 6).
LOST = "LOST"

STATES = (SUBMITTED, STARTED, PROCESSING, SUCCEEDED, FAILED, SKIPPED, RESUBMITTED,
          CANCEL_REQUESTED, CANCELLED, LOST)
#: States that end a job; a later event never moves a job out of them (except a new attempt).
TERMINAL = frozenset((SUCCEEDED, FAILED, SKIPPED, CANCELLED))

# The word before the colon: pyclowder's enum member names (2.x/3.x, "StatusMessage." stripped),
# pyclowder 2.3.0's words, Clowder v2's job states, and a few common synonyms.
_PREFIX_WORDS = {
    "START": STARTED, "STARTED": STARTED,
    "PROCESSING": PROCESSING,
    "DONE": SUCCEEDED, "SUCCEEDED": SUCCEEDED, "SUCCESS": SUCCEEDED,
    "SKIP": SKIPPED, "SKIPPED": SKIPPED,
    "ERROR": FAILED, "FAILED": FAILED, "FAILURE": FAILED,
    "RETRY": RESUBMITTED, "RESUBMITTED": RESUBMITTED,
    "SUBMITTED": SUBMITTED, "CREATED": SUBMITTED,
    "CANCELLED": CANCELLED, "CANCELED": CANCELLED,
    "CANCEL_REQUESTED": CANCEL_REQUESTED,
}
# Whole texts (upper case) written by the Clowder v1 server.  "Cancel Failed" means the job goes on.
_WHOLE_TEXTS = {
    "SUBMITTED": SUBMITTED,
    "CANCEL REQUESTED": CANCEL_REQUESTED,
    "CANCEL SUCCESS": CANCELLED,
    "CANCEL FAILED": PROCESSING,
}
_ENUM_PREFIX = "STATUSMESSAGE."


#: Where each state comes in a job's life (``docs/fold.rst``, rule 2): events of one millisecond that
#: carry neither an ``_id`` nor a ``tracking.seq`` (plain pyClowder's replies are stamped to the
#: second) are put in this order, so that a skip or an error comes before the DONE after it.
LIFECYCLE = {SUBMITTED: 0, STARTED: 1, PROCESSING: 2, CANCEL_REQUESTED: 2, RESUBMITTED: 3, FAILED: 4,
             SKIPPED: 4, CANCELLED: 4, SUCCEEDED: 5}
_RETRY_NUMBER = re.compile(r"\(#([0-9]{1,6})\)")


def retry_number(text: str) -> Optional[int]:
    """The attempt a retry's text says ended: ``n`` of ``(#n)``, which pyClowder 2.3.1 and later put in
    the text of a retry (``StatusMessage.retry: (#1) ...``), else None."""
    found = _RETRY_NUMBER.search(text)
    return int(found.group(1)) if found is not None and int(found.group(1)) > 0 else None


def parse_status(text: Any) -> str:
    """Return the job state a stored status text stands for; unknown texts (and non-texts) are PROCESSING."""
    return classify(text)[0] if type(text) is str else PROCESSING


@functools.lru_cache(maxsize=4096)
def classify(text: str) -> Tuple[str, bool]:
    """Return ``(state, soft)`` for a status text; ``soft`` marks a success that may be a mid-job "done" text.

    Clowder v1 stores any status containing "done" as ``DONE`` (``Done downloading`` too), so a
    bare ``DONE`` or a free text with "done" in it only probably ends the job (``docs/fold.rst``,
    rule 4); an explicit ``StatusMessage.done:`` or ``SUCCEEDED:`` does end it.

    Speed: memoised (bounded), as the fold classifies every event's text and most texts repeat: 66
    against 651 ns for ``StatusMessage.processing: ...``.
    """
    return _classify(text)


def _classify(text: str) -> Tuple[str, bool]:
    upper = text.strip().upper()
    state = _WHOLE_TEXTS.get(upper)
    if state is None and upper != "DONE":
        state = _PREFIX_WORDS.get(upper)  # a bare state word: "ERROR", "SUCCEEDED", ...
    if state is not None:
        return state, False
    head, colon, rest = upper.partition(":")
    head = head.strip()
    if head.startswith(_ENUM_PREFIX):
        head = head[len(_ENUM_PREFIX):].strip()
        if not colon:
            head = head.split(" ", 1)[0] if head else head
    if colon or upper.startswith(_ENUM_PREFIX):
        state = _PREFIX_WORDS.get(head)
        if state is not None:
            if state == PROCESSING and rest.strip().startswith("RESUBMITTING MESSAGE"):
                return RESUBMITTED, False  # pyclowder 2.0.2-2.2.x announced retries this way
            return state, False
    return _free_text(upper)


def _free_text(upper: str) -> Tuple[str, bool]:
    """pyclowder 1.x and non-Python extractors: no prefix, only wording to go by."""
    if "DONE" in upper:
        return SUCCEEDED, True
    if upper.startswith("STARTED") or upper.startswith("START PROCESSING"):
        return STARTED, False
    if upper.startswith("ERROR") or upper.startswith("FAILED"):
        return FAILED, False
    if upper.startswith("RESUBMITTING"):
        return RESUBMITTED, False
    if upper.startswith("SKIPPED") or upper.startswith("SKIPPING"):
        return SKIPPED, False
    return PROCESSING, False
