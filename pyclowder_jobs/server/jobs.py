"""What the fold hands out: ``Job`` records, the list that carries rejections, and ``tree``."""
from typing import Any, Dict, Iterable, List, NamedTuple, Optional, Tuple, Union

from .events import ms_to_iso

#: One event of a job: (id, time in ms, state, text, attempt).
JobEvent = Tuple[Optional[str], int, str, str, int]

#: The keys of ``Job.to_dict()`` (DESIGN 5.5 rule 8), in this order.
JOB_KEYS = (
    "job_id", "synthetic", "ambiguous", "resource_id", "extractor", "status", "attempts",
    "submitted", "started", "finished", "last_update", "elapsed", "queue_wait", "run_time", "user",
    "workers", "progress", "message", "stale", "superseded_by", "events",
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


class Job:
    """One job: its identity, state, times (kept in milliseconds, shown as ISO text) and events."""

    __slots__ = ("job_id", "synthetic", "ambiguous", "resource_id", "extractor", "status", "attempts",
                 "submitted_ms", "started_ms", "finished_ms", "last_update_ms", "elapsed", "queue_wait",
                 "run_time", "user", "workers", "progress", "message", "stale", "superseded_by",
                 "event_records")

    def __init__(self, job_id: str, synthetic: bool, ambiguous: bool, resource_id: Optional[str],
                 extractor: Optional[str], status: str, attempts: int, submitted_ms: Optional[int],
                 started_ms: Optional[int], finished_ms: Optional[int], last_update_ms: int,
                 elapsed: Optional[float], queue_wait: Optional[float], run_time: Optional[float],
                 user: Optional[str], workers: List[str], progress: Optional[Dict[str, Any]],
                 message: Optional[str], stale: bool, superseded_by: Optional[str],
                 event_records: List[JobEvent]):
        self.job_id = job_id
        self.synthetic = synthetic
        self.ambiguous = ambiguous
        self.resource_id = resource_id
        self.extractor = extractor
        self.status = status
        self.attempts = attempts
        self.submitted_ms = submitted_ms
        self.started_ms = started_ms
        self.finished_ms = finished_ms
        self.last_update_ms = last_update_ms
        self.elapsed = elapsed
        self.queue_wait = queue_wait
        self.run_time = run_time
        self.user = user
        self.workers = workers
        self.progress = progress
        self.message = message
        self.stale = stale
        self.superseded_by = superseded_by
        self.event_records = event_records

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
    def events(self) -> List[Dict[str, Any]]:
        return [{"id": event_id, "ts": ms_to_iso(ts), "status": state, "text": text, "attempt": attempt}
                for event_id, ts, state, text, attempt in self.event_records]

    def to_dict(self) -> Dict[str, Any]:
        """The job as JSON-ready data with exactly the keys of DESIGN 5.5 rule 8."""
        return {key: getattr(self, key) for key in JOB_KEYS}

    def __repr__(self) -> str:
        return "<Job %s %s/%s %s, %d events>" % (self.job_id, self.resource_id, self.extractor,
                                                 self.status, len(self.event_records))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


def tree(jobs: Iterable[Job]) -> Dict[Optional[str], Dict[Optional[str], Dict[str, Any]]]:
    """Jobs as Clowder's Extractions tab shows them: resource, then extractor, then jobs.

    Each extractor entry has the ``status`` of its latest job, the ``first`` and ``latest`` event
    times, and ``jobs`` (dicts, oldest first).
    """
    grouped: Dict[Optional[str], Dict[Optional[str], List[Job]]] = {}
    for job in jobs:
        grouped.setdefault(job.resource_id, {}).setdefault(job.extractor, []).append(job)
    result: Dict[Optional[str], Dict[Optional[str], Dict[str, Any]]] = {}
    for resource, by_extractor in grouped.items():
        branch = result[resource] = {}
        for extractor, members in by_extractor.items():
            members.sort(key=lambda job: (_first_ms(job), job.job_id))
            latest = max(members, key=lambda job: (job.last_update_ms, job.job_id))
            branch[extractor] = {
                "status": latest.status,
                "first": ms_to_iso(min(_first_ms(job) for job in members)),
                "latest": latest.last_update,
                "jobs": [job.to_dict() for job in members],
            }
    return result


def _first_ms(job: Job) -> int:
    return min(ts for _, ts, _, _, _ in job.event_records)
