"""The worker: one tracking connector as Clowder sees it, and the jobs it is running.

The worker's id is the ``id`` of its heartbeats and the ``tracking.worker`` of its status
replies, so both ends can tell which run sent which update.
"""

from __future__ import annotations

import itertools
import math
import os
import reprlib
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from pyclowder_jobs.protocol.times import utc_millis
from pyclowder_jobs.protocol.tracking import TrackingTemplate

#: Most tracking templates a worker keeps (one per attempt number seen, and redelivered or not).
MAX_TEMPLATES = 64
#: The most characters of a job's text field in a heartbeat: a longer resource id from a request is cut
#: (ending in ``...``), so that it is not copied whole into every heartbeat while its job runs.
MAX_HEARTBEAT_TEXT = 256

_short = reprlib.Repr()
_short.maxstring = _short.maxother = MAX_HEARTBEAT_TEXT
_short.maxlevel, _short.maxdict, _short.maxlist = 2, 4, 4


@dataclass
class Job:
    """One message being processed: its id, attempt, timing and the name of its resource."""

    job_id: str
    resource_id: Any
    attempt: int = 1
    redelivered: bool = False
    started: float = field(default_factory=time.time)
    last_event: float = 0.0
    #: The request's name for its resource, already capped (``protocol.tracking.capped_resource_name``), or None.
    resource_name: Optional[str] = None

    def summary(self) -> Dict[str, Any]:
        """The job as listed in a heartbeat."""
        summary = {"job_id": self.job_id, "resource_id": capped(self.resource_id)}
        if self.resource_name is not None:
            summary["resource_name"] = capped(self.resource_name)
        summary["started"] = utc_millis(self.started)
        summary["last_event"] = utc_millis(self.last_event or self.started)
        return summary


def capped(value: Any) -> Any:
    """``value`` as a heartbeat lists it, so that one odd request cannot spoil its worker's heartbeats:
    None, a boolean or a number that JSON and SQLite keep as it is; anything else as text of at most
    :data:`MAX_HEARTBEAT_TEXT` characters, lone surrogates written as escapes."""
    kind = type(value)
    if value is None or kind is bool or (kind is int and -2 ** 63 <= value < 2 ** 63) or (
            kind is float and math.isfinite(value)):
        return value
    if kind is not str:
        value = _short.repr(value)
    if len(value) > MAX_HEARTBEAT_TEXT:
        value = value[:MAX_HEARTBEAT_TEXT - 3] + "..."
    if not value.isascii():
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


class Worker:
    """Identity, event counter and running jobs of one tracking connector.

    Job threads, the connector thread and the heartbeat thread share it. It needs no lock: each
    change is one step under the interpreter lock (``next`` on a counter, a dict's set and pop,
    ``list`` of a dict's values).
    """

    def __init__(self) -> None:
        self.id = str(uuid.uuid4())
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.processed = 0
        self._seq = itertools.count(1)
        self._finished = itertools.count(1)
        self._jobs: Dict[int, Job] = {}
        self._templates: Dict[Tuple[int, bool], TrackingTemplate] = {}

    def next_seq(self) -> int:
        """The next number of this worker's event counter (status, progress and heartbeat)."""
        return next(self._seq)

    def tracking_template(self, attempt: int, redelivered: bool,
                          resource_name: Optional[str] = None) -> TrackingTemplate:
        """The template of the ``tracking`` objects of a job of this worker.

        The part shared by the jobs of one attempt is made once (it is never changed), since
        encoding it costs more than all the rest of a short job's tracking; a job whose request
        names its resource gets a copy with the name added. Hostile retry counts cannot make the
        cache grow without bound: it starts again when it is full.
        """
        key = (attempt, redelivered)
        template = self._templates.get(key)
        if template is None:
            if len(self._templates) >= MAX_TEMPLATES:
                self._templates.clear()
            template = self._templates[key] = TrackingTemplate(self.id, self.host, self.pid, attempt, redelivered)
        return template.named(resource_name)

    def job_started(self, job: Job) -> None:
        """List ``job`` in heartbeats until :meth:`job_ended`."""
        self._jobs[id(job)] = job

    def job_abandoned(self, job: Job) -> None:
        """Stop listing ``job`` without counting it as processed: its message went back to the queue."""
        self._jobs.pop(id(job), None)

    def job_ended(self, job: Job) -> None:
        """Stop listing ``job`` and count it as processed (once, however often it is called)."""
        if self._jobs.pop(id(job), None) is not None:
            self.processed = next(self._finished)

    def running(self) -> List[Dict[str, Any]]:
        """The jobs running now, oldest first, as listed in a heartbeat."""
        jobs = sorted(list(self._jobs.values()), key=lambda job: job.started)
        return [job.summary() for job in jobs]
