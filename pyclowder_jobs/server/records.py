"""The records the readers hand to the fold: ``StatusEvent`` and ``Heartbeat`` (``docs/fold.rst``, "Accepted inputs").

Every input shape a reader accepts (:mod:`pyclowder_jobs.server.readers`) becomes one of these, so
the fold reads a single kind of status record whatever era or encoding the event came in.
"""
from typing import Any, FrozenSet, Hashable, NamedTuple, Optional, Tuple

from ..protocol.identity import event_key

#: The anonymous user of Clowder v1: replies carry it, it is never the submitter.
ANONYMOUS_USER = "000000000000000000000000"

#: ``tracking.progress`` as read: (done, total, unit), each as it came.
Progress = Tuple[Any, Any, Any]


class StatusEvent(NamedTuple):
    """One status of one job, as the fold reads it; times are int milliseconds since the epoch, UTC.

    The first six fields are the sort key the fold orders events by (``docs/fold.rst``, rule 2), and
    they hold the event's identity (:meth:`key`): two kept events never share them, so sorting never
    compares the fields after them.
    """

    #: When the event sorts: ``ts``, except that a SUBMITTED sorts at the start of its second (status
    #: replies are stamped to the second, so the SUBMITTED that went before them may look later).
    sort_ts: int
    #: 0 for a SUBMITTED, 1 for any other state: a SUBMITTED goes first in its second.
    rank: int
    #: When it happened: ``tracking.ts`` when the event has it, else the document's time.
    ts: int
    #: The ``_id`` of the document that stored it, or "".
    id_key: str
    #: ``tracking.seq`` (a worker's event counter), or -1.
    seq: int
    #: "" when ``id_key`` names the event; the worker when ``seq`` does; else the reply's fields
    #: joined, so that copies of one reply are known by their content.
    content: str
    #: The job id it carries, or None (a legacy event, placed by the fold's rules).
    job_id: Optional[str]
    #: The resource (file or dataset) id, or None (a Clowder v2 job update).
    resource: Optional[str]
    #: The extractor's name without queue prefixes, or None (a Clowder v2 job update).
    extractor: Optional[str]
    #: The job state the status text stands for (:func:`pyclowder_jobs.server.status.classify`).
    state: str
    #: True for a DONE that may be a mid-job text ("Done downloading"), not the end of the job.
    soft: bool
    #: The status text as stored.
    text: str
    #: The submitter of a SUBMITTED (never the anonymous user), else None.
    user: Optional[str]
    #: ``tracking.worker``, the worker process that sent it, or None.
    worker: Optional[str]
    #: ``tracking.attempt``, the attempt at the job this event belongs to (1, 2, ...), or None.
    attempt: Optional[int]
    #: ``tracking.redelivered``: the broker delivered the request again (its first worker is gone).
    redelivered: bool
    #: ``tracking.progress`` as (done, total, unit), or None.
    progress: Optional[Progress]
    #: ``tracking.resource_name``, the name of the request's file, or None.
    resource_name: Optional[str]

    def key(self) -> Hashable:
        """What makes two status events the same (:func:`pyclowder_jobs.protocol.identity.event_key`)."""
        return event_key(self.id_key, self.seq, self.ts, self.content)


class Heartbeat(NamedTuple):
    """A worker's heartbeat: the worker, when it was sent, how often they come and the jobs it runs."""

    #: The worker's id (the heartbeat's ``id``).
    worker: str
    #: ``tracking.ts`` in milliseconds, or None when the heartbeat has no ``tracking`` (no usable timing).
    ts: Optional[int]
    #: ``tracking.interval`` in milliseconds, or None.
    interval: Optional[int]
    #: The job ids of ``tracking.jobs``: the jobs the worker is running.
    jobs: FrozenSet[str]
    #: ``tracking.seq``, or -1: orders two heartbeats of one worker sent in the same millisecond.
    seq: int
    #: The extractor names the worker serves: its ``queue`` and ``extractor_info.name``, without queue
    #: prefixes (usually one name); what tells whether an extractor has a live worker.
    extractors: FrozenSet[str] = frozenset()
