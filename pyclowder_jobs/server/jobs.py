"""What the fold hands out: ``Job`` records, the list that carries rejections, and ``tree``."""
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Tuple, Union

from ..protocol.times import ms_to_iso

#: One event of a job: (id, time in ms, state, text, attempt).
JobEvent = Tuple[Optional[str], int, str, str, int]

#: The keys of ``Job.to_dict()`` (``docs/fold.rst``, rule 8), in this order.
JOB_KEYS = (
    "job_id", "synthetic", "ambiguous", "resource_id", "resource_name", "extractor", "status", "attempts",
    "submitted", "started", "finished", "last_update", "elapsed", "queue_wait", "run_time", "user",
    "workers", "progress", "message", "stale", "unclaimed", "superseded_by", "events",
)


class Rejected(NamedTuple):
    """An input the fold could not use: where it was, why, and a short ``repr`` of it."""

    position: Union[int, str]
    reason: str
    event: str


class JobList(List["Job"]):
    """The jobs, plus what was left out: ``rejected`` events and the number of ``ignored`` log lines."""

    def __init__(self, jobs: Iterable["Job"] = (), rejected: Iterable[Rejected] = (), ignored: int = 0):
        super().__init__(jobs)
        self.rejected: List[Rejected] = list(rejected)
        self.ignored = ignored


def _iso(ms: Optional[int]) -> Optional[str]:
    return None if ms is None else ms_to_iso(ms)


class Job(NamedTuple):
    """One job, immutable: identity, state, times (kept in ms, shown as ISO text) and events.

    Attributes are those of :meth:`to_dict`, except that times are also available in
    milliseconds since the epoch (``submitted_ms``, ...) and events as tuples (``event_records``).
    """

    job_id: str
    synthetic: bool
    ambiguous: bool
    resource_id: Optional[str]
    #: The name of the request's file, as the latest tracked reply that named it said (else None).
    resource_name: Optional[str]
    extractor: Optional[str]
    status: str
    attempts: int
    submitted_ms: Optional[int]
    started_ms: Optional[int]
    finished_ms: Optional[int]
    last_update_ms: int
    elapsed: Optional[float]
    queue_wait: Optional[float]
    run_time: Optional[float]
    user: Optional[str]
    workers: List[str]
    progress: Optional[Dict[str, Any]]
    message: Optional[str]
    stale: bool
    #: Waiting for a worker while no worker of its extractor is alive (``docs/fold.rst``, rule 6); None: unknown.
    unclaimed: Optional[bool]
    superseded_by: Optional[str]
    event_records: List[JobEvent]

    @property
    def submitted(self) -> Optional[str]:
        return _iso(self.submitted_ms)

    @property
    def started(self) -> Optional[str]:
        return _iso(self.started_ms)

    @property
    def finished(self) -> Optional[str]:
        return _iso(self.finished_ms)

    @property
    def last_update(self) -> str:
        return ms_to_iso(self.last_update_ms)

    @property
    def first_ms(self) -> int:
        """The time of the job's earliest event."""
        return min(ts for _, ts, _, _, _ in self.event_records)

    @property
    def events(self) -> List[Dict[str, Any]]:
        return [{"id": event_id, "ts": ms_to_iso(ts), "status": state, "text": text, "attempt": attempt}
                for event_id, ts, state, text, attempt in self.event_records]

    def to_dict(self) -> Dict[str, Any]:
        """The job as JSON-ready data with exactly the keys of :data:`JOB_KEYS` (``docs/fold.rst``, rule 8).

        Spelled out rather than read through the properties: ``tree()`` makes one for every job.
        """
        (job_id, synthetic, ambiguous, resource_id, resource_name, extractor, status, attempts, submitted, started,
         finished, last_update, elapsed, queue_wait, run_time, user, workers, progress, message, stale, unclaimed,
         superseded_by, event_records) = self
        return {
            "job_id": job_id, "synthetic": synthetic, "ambiguous": ambiguous, "resource_id": resource_id,
            "resource_name": resource_name, "extractor": extractor, "status": status, "attempts": attempts,
            "submitted": None if submitted is None else ms_to_iso(submitted),
            "started": None if started is None else ms_to_iso(started),
            "finished": None if finished is None else ms_to_iso(finished), "last_update": ms_to_iso(last_update),
            "elapsed": elapsed, "queue_wait": queue_wait, "run_time": run_time, "user": user, "workers": workers,
            "progress": progress, "message": message, "stale": stale, "unclaimed": unclaimed,
            "superseded_by": superseded_by,
            "events": [{"id": event_id, "ts": ms_to_iso(ts), "status": state, "text": text, "attempt": attempt}
                       for event_id, ts, state, text, attempt in event_records],
        }


def tree(jobs: Iterable[Job]) -> Dict[Optional[str], Dict[Optional[str], Dict[str, Any]]]:
    """Jobs as Clowder's Extractions tab shows them: resource, then extractor, then jobs.

    Each extractor entry has the ``status`` of its latest job, the ``first`` and ``latest`` event
    times, and ``jobs`` (dicts, oldest first).
    """
    grouped: Dict[Optional[str], Dict[Optional[str], List[Tuple[int, str, Job]]]] = {}
    for job in jobs:
        grouped.setdefault(job.resource_id, {}).setdefault(job.extractor, []).append(
            (job.first_ms, job.job_id, job))
    result: Dict[Optional[str], Dict[Optional[str], Dict[str, Any]]] = {}
    for resource, by_extractor in grouped.items():
        branch = result[resource] = {}
        for extractor, members in by_extractor.items():
            members.sort(key=_first)
            latest = max((job for _, _, job in members), key=_latest)
            branch[extractor] = {
                "status": latest.status,
                "first": ms_to_iso(members[0][0]),
                "latest": latest.last_update,
                "jobs": [job.to_dict() for _, _, job in members],
            }
    return result


def _first(member: Tuple[int, str, Job]) -> Tuple[int, str]:
    return member[0], member[1]


def _latest(job: Job) -> Tuple[int, str]:
    return job.last_update_ms, job.job_id
