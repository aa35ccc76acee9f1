"""The worker: one tracking connector as Clowder sees it, and the jobs it is running.

The worker's id is the ``id`` of its heartbeats and the ``tracking.worker`` of its status
replies, so both ends can tell which run sent which update.
"""

from __future__ import annotations

import itertools
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from pyclowder_jobs.protocol.times import utc_millis
from pyclowder_jobs.protocol.tracking import TrackingTemplate

#: Most tracking templates a worker keeps (one per attempt number seen, and redelivered or not).
MAX_TEMPLATES = 64


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
        summary = {"job_id": self.job_id, "resource_id": self.resource_id}
        if self.resource_name is not None:
            summary["resource_name"] = self.resource_name
        summary["started"] = utc_millis(self.started)
        summary["last_event"] = utc_millis(self.last_event or self.started)
        return summary


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

    def job_ended(self, job: Job) -> None:
        """Stop listing ``job`` and count it as processed (once, however often it is called)."""
        if self._jobs.pop(id(job), None) is not None:
            self.processed = next(self._finished)

    def running(self) -> List[Dict[str, Any]]:
        """The jobs running now, oldest first, as listed in a heartbeat."""
        jobs = sorted(list(self._jobs.values()), key=lambda job: job.started)
        return [job.summary() for job in jobs]
