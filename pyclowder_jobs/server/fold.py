"""The fold: sorted event records in, job states out (DESIGN 5.5 rules 1, 4, 5, 6 and 7).

A small state machine in the manner of Celery's ``events/state.py``.  Each job (``_Run``) moves
SUBMITTED -> STARTED/PROCESSING/RESUBMITTED/CANCEL_REQUESTED -> a terminal state; terminal states
win and stay, except for a new attempt and for a "soft" DONE (see ``status.classify``) that later
progress shows to have been a mid-job text.  Events without a job id are placed by a second,
per-(resource, extractor) machine (``_Key``).  ``Fold.finish`` then applies what depends on the
moment of asking: LOST, stale, elapsed times.
"""
import hashlib
from typing import Dict, Iterable, List, Optional, Tuple

from .events import (CONTENT, EXTRA, EXTRACTOR, IDKEY, JOB_ID, PROGRESS, RESOURCE, SOFT, STATE, TEXT,
                     TS, Heartbeat, Record)
from .jobs import Job
from .status import (FAILED, LOST, PROCESSING, RESUBMITTED, SKIPPED, STARTED, SUBMITTED, SUCCEEDED,
                     TERMINAL)

#: States in which a job waits for a worker to (re)start it.
WAITING = frozenset((SUBMITTED, RESUBMITTED))
#: A worker is gone when its latest heartbeat is older than this many intervals.
MISSED_HEARTBEATS = 3
_PLAIN = (int, float, str)  # the types of progress figures that JSON shows as they are
_new_job = tuple.__new__  # builds a Job from its fields in order, without Job()'s keyword handling


class _Run:
    """The mutable state of one job while events are folded into it."""

    __slots__ = ("job_id", "synthetic", "ambiguous", "resource", "extractor", "placed_by_reply",
                 "status", "attempt", "resubmitted", "submitted", "started", "attempt_start",
                 "finished", "first", "last", "user", "workers", "worker", "progress", "message",
                 "soft_index", "events", "key", "id_replies", "redelivered", "submitted_late")

    def __init__(self, job_id: str, synthetic: bool, ts: int):
        self.job_id = job_id
        self.synthetic = synthetic
        self.first = self.last = ts
        self.events: List[tuple] = []
        self.ambiguous = False
        self.resource: Optional[str] = None
        self.extractor: Optional[str] = None
        self.placed_by_reply = False  # resource and extractor came from a reply, not SUBMITTED
        self.status: Optional[str] = None
        self.attempt = 1
        self.resubmitted = False  # a RESUBMITTED waits for the start of the next attempt
        self.submitted = self.started = self.attempt_start = self.finished = None
        self.user = self.message = None
        self.worker: Optional[str] = None  # the worker of the latest event that named one
        self.workers: Optional[set] = None
        self.progress: Optional[tuple] = None  # (done, total, unit)
        self.soft_index = -1  # index in events of a DONE that may have been a mid-job text, or -1
        self.key: Optional[Tuple] = None  # the (resource, extractor) whose open list holds this job
        self.id_replies = 0  # events other than SUBMITTED that carried this job's id
        self.redelivered = False
        self.submitted_late = False  # a SUBMITTED came after other events (clock skew)

    def apply(self, record: Record) -> None:
        """Fold one event into this job."""
        ts = record[TS]
        state = record[STATE]
        extra = record[EXTRA]
        if extra is not None:
            user, worker, attempt, redelivered = extra
            if attempt is not None and attempt > self.attempt:  # a new attempt, told by the worker
                self.attempt = attempt
                self.resubmitted = False
                if self.status in TERMINAL:
                    self.status = None
                    self.soft_index = -1
                    self.finished = None
            if worker is not None and worker != self.worker:  # the latest worker is in workers already
                self.worker = worker
                if self.workers is None:
                    self.workers = {worker}
                else:
                    self.workers.add(worker)
            if redelivered:
                self.redelivered = True
        else:
            user = None
        progress = record[PROGRESS]
        if progress is not None:
            self.progress = progress
        moves = True
        if self.status in TERMINAL:
            if self.soft_index < 0 or state == STARTED or state == SUBMITTED:
                moves = False  # late events never move a finished job back
            else:  # the earlier DONE was a mid-job text: it counts as progress
                event = self.events[self.soft_index]
                self.events[self.soft_index] = (event[0], event[1], PROCESSING, event[3], event[4])
                self.soft_index = -1
                self.finished = None
                self.status = PROCESSING
        if moves:
            if state == SUBMITTED:
                if self.status is None:
                    self.status = SUBMITTED
                if self.submitted is None or ts < self.submitted:
                    self.submitted = ts
                if user is not None and self.user is None:
                    self.user = user
                if self.events:
                    self.submitted_late = True
            elif state == STARTED:
                if self.resubmitted:
                    self.attempt += 1
                    self.resubmitted = False
                self.status = STARTED
                if self.started is None:
                    self.started = ts
                self.attempt_start = ts
            elif state == PROCESSING:
                self.status = PROCESSING
                if self.started is None:
                    self.started = self.attempt_start = ts
            elif state == RESUBMITTED:
                self.status = RESUBMITTED
                self.resubmitted = True
            elif state in TERMINAL:
                self.status = state
                self.finished = ts
                self.soft_index = len(self.events) if record[SOFT] else -1
            else:
                self.status = state
            self.message = record[TEXT]
        self.events.append((record[IDKEY] or None, ts, state, record[TEXT], self.attempt))
        if ts > self.last:
            self.last = ts
        elif ts < self.first:
            self.first = ts
        resource = record[RESOURCE]
        if resource is not None and not self.placed_by_reply:
            if state != SUBMITTED:  # dataset.file.added: SUBMITTED names the file, replies the dataset
                self.resource, self.extractor, self.placed_by_reply = resource, record[EXTRACTOR], True
            elif self.resource is None:
                self.resource, self.extractor = resource, record[EXTRACTOR]


class _Key:
    """Where events without a job id go on one (resource, extractor) (DESIGN 5.5 rule 4)."""

    __slots__ = ("open", "awaiting_done", "soft_done")

    def __init__(self):
        self.open: List[_Run] = []  # oldest first; the last one is the most recently opened
        self.awaiting_done: Optional[_Run] = None  # failed or skipped: the next DONE is still its
        self.soft_done: Optional[_Run] = None  # closed by a DONE that later progress may reopen


def synthetic_id(resource, extractor, first: str) -> str:
    """``legacy-`` + 16 hex digits of a hash of resource, extractor and the first event."""
    text = "%s\x00%s\x00%s" % (resource, extractor, first)
    return "legacy-" + hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()[:16]


class Fold:
    """Folds records, fed in sort order, into jobs."""

    def __init__(self, max_gap_ms: int):
        self.max_gap = max_gap_ms
        self.runs: Dict[str, _Run] = {}
        self.keys: Dict[Tuple, _Key] = {}

    def feed_all(self, records: Iterable[Record]) -> None:
        """Fold records, which must sort after every record folded so far, in their order."""
        runs = self.runs
        for record in records:
            job_id = record[JOB_ID]
            if job_id is None:
                self._idless(record)
                continue
            run = runs.get(job_id)
            if run is None:
                run = runs[job_id] = _Run(job_id, False, record[TS])
            if record[STATE] == SUBMITTED:
                if run.id_replies == 0 and run.key is None and record[RESOURCE] is not None:
                    self._register(run, (record[RESOURCE], record[EXTRACTOR]))
            else:
                run.id_replies += 1
                if run.key is not None:
                    self._unregister(run)
            run.apply(record)

    def feed(self, record: Record) -> None:
        """Fold one record that sorts after every record folded so far."""
        self.feed_all((record,))

    def _register(self, run: _Run, key: Tuple) -> None:
        """An id-bearing SUBMITTED can take id-less replies (new server, old extractor)."""
        keystate = self.keys.get(key)
        if keystate is None:
            keystate = self.keys[key] = _Key()
        keystate.open.append(run)
        run.key = key

    def _unregister(self, run: _Run) -> None:
        opened = self.keys[run.key].open
        if run in opened:
            opened.remove(run)
        run.key = None

    def _idless(self, record: Record) -> None:
        ts, state = record[TS], record[STATE]
        key = (record[RESOURCE], record[EXTRACTOR])
        keystate = self.keys.get(key)
        if keystate is None:
            keystate = self.keys[key] = _Key()
        opened = keystate.open
        horizon = ts - self.max_gap
        for run in opened:
            if run.last < horizon:  # a gap longer than max_gap closes the way into a job
                for gone in [run for run in opened if run.last < horizon]:
                    opened.remove(gone)
                    gone.key = None
                break
        awaiting, soft_done = keystate.awaiting_done, keystate.soft_done
        if awaiting is not None and awaiting.last < horizon:
            awaiting = keystate.awaiting_done = None
        if soft_done is not None and soft_done.last < horizon:
            soft_done = keystate.soft_done = None
        top = opened[-1] if opened else None

        if state == SUBMITTED or state == STARTED:
            keystate.awaiting_done = keystate.soft_done = None
            run = top if state == STARTED and top is not None and top.status in WAITING else None
        elif state == SUCCEEDED:
            run = awaiting or top or soft_done
        else:
            run = top or soft_done

        if run is None:
            first = record[IDKEY] or "%s|%s" % (ts, record[CONTENT])
            job_id = synthetic_id(key[0], key[1], first)
            while job_id in self.runs:  # a real job id may be spelled like a synthetic one
                job_id += "+"
            run = self.runs[job_id] = _Run(job_id, True, ts)
        run.apply(record)

        if run.status in TERMINAL:
            if run.key is not None:  # then it is in this key's open list
                opened.remove(run)
                run.key = None
            if run is awaiting and state == SUCCEEDED:
                keystate.awaiting_done = None
            elif run.status in (FAILED, SKIPPED):
                keystate.awaiting_done = run
            keystate.soft_done = run if run.soft_index >= 0 else None
        else:
            if keystate.soft_done is run:
                keystate.soft_done = None
            if run.key is None:
                opened.append(run)
                run.key = key
        if len(opened) > 1 and run in opened:
            for other in opened:
                other.ambiguous = True

    def finish(self, heartbeats: Iterable[Heartbeat], now: int, stale_after: int,
               final: bool = False) -> List[Job]:
        """Jobs as of ``now`` (ms), in the order of their first events: LOST, stale, durations.

        ``final`` says no event will be folded afterwards, so jobs may share the fold's lists.
        """
        latest: Dict[str, Heartbeat] = {}
        for beat in heartbeats:
            if beat.ts is None or beat.interval is None or beat.ts > now:
                continue
            known = latest.get(beat.worker)
            if known is None or (beat.ts, beat.seq) > (known.ts, known.seq):
                latest[beat.worker] = beat
        successors = self._successors()
        jobs = []
        append = jobs.append
        for run in self.runs.values():
            status = run.status
            stale = lost = False
            successor = None
            if status not in TERMINAL:
                successor = successors.get(run.job_id)
                beat = latest.get(run.worker) if run.worker is not None else None
                if successor is not None:
                    lost = True
                elif beat is not None:
                    lost = (now - beat.ts > MISSED_HEARTBEATS * beat.interval
                            or (not run.synthetic and beat.ts >= run.last + beat.interval
                                and run.job_id not in beat.jobs))
                elif now - run.last > stale_after:
                    stale = True
                if lost:
                    status = LOST
            append(_job(run, status, lost, stale, successor, now, final))
        return jobs

    def _successors(self) -> Dict[str, str]:
        """A redelivered run supersedes the latest earlier unfinished job on its resource and extractor."""
        keys = {(run.resource, run.extractor) for run in self.runs.values() if run.redelivered}
        if not keys:
            return {}
        members: Dict[Tuple, List[_Run]] = {key: [] for key in keys}
        for run in self.runs.values():
            group = members.get((run.resource, run.extractor))
            if group is not None:
                group.append(run)
        successors: Dict[str, str] = {}
        for group in members.values():
            group.sort(key=_age)
            for index, run in enumerate(group):
                if not run.redelivered:
                    continue
                for earlier in reversed(group[:index]):
                    if (earlier.first < run.first and earlier.status not in TERMINAL
                            and earlier.job_id not in successors):
                        successors[earlier.job_id] = run.job_id
                        break
        return successors


def _age(run: _Run) -> Tuple[int, str]:
    return run.first, run.job_id


def _job(run: _Run, status: str, lost: bool, stale: bool, successor: Optional[str], now: int,
         final: bool) -> Job:
    """The immutable record of a job; durations in seconds (DESIGN 5.5 rule 7)."""
    started, finished, submitted = run.started, run.finished, run.submitted
    end = finished if finished is not None else run.last if lost else now
    events = run.events
    if run.submitted_late:
        events = [e for e in events if e[2] == SUBMITTED] + [e for e in events if e[2] != SUBMITTED]
    elif not final:
        events = events[:]
    progress = run.progress
    if progress is not None:  # figures as JSON can show them (the extractor sends numbers and a unit)
        done, total, unit = progress
        progress = {"done": done if type(done) in _PLAIN else None,
                    "total": total if type(total) in _PLAIN else None,
                    "unit": unit if type(unit) in _PLAIN else None}
    attempt_start = run.attempt_start
    return _new_job(Job, (run.job_id, run.synthetic, run.ambiguous, run.resource, run.extractor, status,
               run.attempt, submitted, started, finished, run.last,
               None if started is None else _seconds(end - started),
               None if started is None or submitted is None else _seconds(started - submitted),
               None if attempt_start is None else _seconds(end - attempt_start),
               run.user, sorted(run.workers) if run.workers else [], progress, run.message, stale,
               successor, events))


def _seconds(ms: int) -> float:
    """A duration in seconds, never negative."""
    return ms / 1000 if ms > 0 else 0.0
