"""Group Clowder's stored extraction events into jobs (``docs/fold.rst``); standard library only.

``group_events`` folds a batch, ``JobIndex`` a live stream; ``tree`` arranges jobs like Clowder's
Extractions tab; ``parse_status`` reads a status text of any era.  ``normalise`` reads one input
into the record the fold uses: a :class:`StatusEvent`, a list of them, or a :class:`Heartbeat`.
"""
from .grouping import DEFAULT_MAX_GAP, DEFAULT_STALE_AFTER, JobIndex, group_events
from .jobs import JOB_KEYS, Job, JobList, Rejected, tree
from .readers import normalise
from .records import ANONYMOUS_USER, Heartbeat, StatusEvent
from .status import (CANCEL_REQUESTED, CANCELLED, FAILED, LOST, PROCESSING, RESUBMITTED, SKIPPED,
                     STARTED, STATES, SUBMITTED, SUCCEEDED, TERMINAL, parse_status)

__all__ = [
    "group_events", "JobIndex", "Job", "JobList", "Rejected", "tree", "parse_status", "normalise",
    "StatusEvent", "Heartbeat", "JOB_KEYS", "DEFAULT_MAX_GAP", "DEFAULT_STALE_AFTER", "ANONYMOUS_USER",
    "SUBMITTED", "STARTED", "PROCESSING", "SUCCEEDED", "FAILED", "SKIPPED", "RESUBMITTED",
    "CANCEL_REQUESTED", "CANCELLED", "LOST", "STATES", "TERMINAL",
]
