"""The fold: sorted status events in, job states out (``docs/fold.rst``, rules 1, 4, 5, 6 and 7).

A small state machine in the manner of Celery's ``events/state.py``: each job (``_Run``) moves
SUBMITTED -> STARTED/PROCESSING/RESUBMITTED/CANCEL_REQUESTED -> a terminal state, and
:data:`PRECEDENCE` says, as a table, which state may replace which.  Events without a job id are
placed by a second, per-(resource, extractor) machine (``_Key``).  ``Fold.finish`` then applies what
depends on the moment of asking: LOST, stale, unclaimed, elapsed times.

The fold reads each status event as a plain tuple of :class:`~pyclowder_jobs.server.records.StatusEvent`'s
fields, unpacked into names in that order (see ``grouping._Inputs.take`` for why it is not the named
record itself).
"""
import hashlib
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from .jobs import Job
from .records import Heartbeat
from .status import (CANCEL_REQUESTED, CANCELLED, FAILED, LOST, PROCESSING, RESUBMITTED, SKIPPED, STARTED,
                     SUBMITTED, SUCCEEDED, TERMINAL)

#: A :class:`~pyclowder_jobs.server.records.StatusEvent`'s fields, as a plain tuple in its order.
EventFields = Tuple[Any, ...]

#: How many of a status event's first fields make its place in the order (``StatusEvent``'s sort key).
SORT_FIELDS = 6
#: States in which a job waits for a worker to (re)start it.
WAITING = frozenset((SUBMITTED, RESUBMITTED))
#: A worker is gone when its latest heartbeat is older than this many intervals.
MISSED_HEARTBEATS = 3

#: Where a job stands when an event comes: not finished (or without a state yet), finished, or
#: finished by a DONE that may have been a mid-job text (``status.classify``'s "soft" DONE).
OPEN, FINISHED, SOFT_FINISHED = 0, 1, 2
#: What an event's state does to a job, by where the job stands:
#: TAKE: the job takes the event's state, its time and its text;
#: FILL: the job takes its time and text, and its state only if it has none yet (a SUBMITTED that
#: comes after other events: clock skew);
#: KEEP: late events never move a finished job back: state, times and text stay;
#: REOPEN: the soft DONE was a mid-job text: that event counts as PROCESSING, the job is no longer
#: finished, and it takes the event's state.
TAKE, FILL, KEEP, REOPEN = "take", "fill", "keep", "reopen"
#: Which state may replace which (``docs/fold.rst``, rules 4 and 6), in the manner of Celery's
#: precedence of states: terminal states win, and stay.  A new attempt, told by ``tracking.attempt``,
#: opens a finished job again before this table is read.
PRECEDENCE: Dict[str, Tuple[str, str, str]] = {
    #                  OPEN  FINISHED  SOFT_FINISHED
    SUBMITTED:        (FILL, KEEP, KEEP),
    STARTED:          (TAKE, KEEP, KEEP),
    PROCESSING:       (TAKE, KEEP, REOPEN),
    RESUBMITTED:      (TAKE, KEEP, REOPEN),
    CANCEL_REQUESTED: (TAKE, KEEP, REOPEN),
    SUCCEEDED:        (TAKE, KEEP, REOPEN),
    FAILED:           (TAKE, KEEP, REOPEN),
    SKIPPED:          (TAKE, KEEP, REOPEN),
    CANCELLED:        (TAKE, KEEP, REOPEN),
}
_PLAIN = (int, float, str)  # the types of progress figures that JSON shows as they are


class _Run:
    """The mutable state of one job while events are folded into it."""

    __slots__ = ("job_id", "synthetic", "ambiguous", "resource", "resource_name", "extractor", "placed_by_reply",
                 "status", "attempt", "resubmitted", "submitted", "started", "attempt_start",
                 "finished", "first", "last", "user", "workers", "worker", "progress", "message",
                 "soft_index", "events", "key", "id_replies", "redelivered", "submitted_late", "base", "rewrites",
                 "last_record")

    def __init__(self, job_id: str, synthetic: bool, ts: int):
        self.job_id = job_id
        self.synthetic = synthetic
        self.first = self.last = ts
        self.events: List[tuple] = []
        self.ambiguous = False
        self.resource: Optional[str] = None
        self.resource_name: Optional[str] = None
        self.extractor: Optional[str] = None
        self.placed_by_reply = False  # resource and extractor came from a reply, not SUBMITTED
        self.status: Optional[str] = None
        self.attempt = 1
        self.resubmitted = False  # a RESUBMITTED waits for the start of the next attempt
        self.submitted = self.started = self.attempt_start = self.finished = None
        self.user = self.message = None
        self.worker: Optional[str] = None  # the worker of the latest event that named one
        self.workers: Tuple[str, ...] = ()  # every worker named, in the order they came
        self.progress: Optional[tuple] = None  # (done, total, unit)
        self.soft_index = -1  # index in events of a DONE that may have been a mid-job text, or -1
        self.key: Optional[Tuple] = None  # the (resource, extractor) whose open list holds this job
        self.id_replies = 0  # events other than SUBMITTED that carried this job's id
        self.redelivered = False
        self.submitted_late = False  # a SUBMITTED came after other events (clock skew)
        self.base = 0  # how many of its events a store holds, before those in ``events``
        self.rewrites: List[int] = []  # positions of stored events that turned out to be PROCESSING
        self.last_record: Optional[EventFields] = None  # the latest event folded in (checked folds only)

    def apply(self, record: EventFields) -> None:
        """Fold one status event into this job."""
        (_, _, ts, id_key, _, _, _, resource, extractor, state, soft, text, user, worker, attempt, redelivered,
         progress, resource_name) = record
        if attempt is not None and attempt > self.attempt:  # a new attempt, told by the worker
            self.attempt = attempt
            self.resubmitted = False
            if self.status in TERMINAL:
                self.status = None
                self.soft_index = -1
                self.finished = None
        if worker is not None and worker != self.worker:
            self.worker = worker
            if worker not in self.workers:
                self.workers += (worker,)
        if redelivered:
            self.redelivered = True
        if progress is not None:
            self.progress = progress
        if resource_name is not None:
            self.resource_name = resource_name
        if self.status not in TERMINAL:
            action = PRECEDENCE[state][OPEN]
        else:
            action = PRECEDENCE[state][FINISHED if self.soft_index < 0 else SOFT_FINISHED]
        if action is not KEEP:
            if action is REOPEN:
                index = self.soft_index - self.base
                if index >= 0:
                    event = self.events[index]
                    self.events[index] = (event[0], event[1], PROCESSING, event[3], event[4])
                else:  # an event a store holds
                    self.rewrites.append(self.soft_index)
                self.soft_index = -1
                self.finished = None
                self.status = PROCESSING
            if action is FILL:  # the only FILL is a SUBMITTED
                if self.status is None:
                    self.status = SUBMITTED
                if self.submitted is None or ts < self.submitted:
                    self.submitted = ts
                if user is not None and self.user is None:
                    self.user = user
                if self.events or self.base:
                    self.submitted_late = True
            else:
                self.status = state
                if state == STARTED:
                    if self.resubmitted:
                        self.attempt += 1
                        self.resubmitted = False
                    if self.started is None:
                        self.started = ts
                    self.attempt_start = ts
                elif state == PROCESSING:
                    if self.started is None:
                        self.started = self.attempt_start = ts
                elif state == RESUBMITTED:
                    self.resubmitted = True
                elif state in TERMINAL:
                    if self.resubmitted:  # it ended without a start after the retry: one of the same second
                        self.attempt += 1
                        self.resubmitted = False
                    self.finished = ts
                    self.soft_index = self.base + len(self.events) if soft else -1
            self.message = text
        self.events.append((id_key or None, ts, state, text, self.attempt))
        if ts > self.last:
            self.last = ts
        elif ts < self.first:
            self.first = ts
        if resource is not None and not self.placed_by_reply:
            if state != SUBMITTED:  # dataset.file.added: SUBMITTED names the file, replies the dataset
                self.resource, self.extractor, self.placed_by_reply = resource, extractor, True
            elif self.resource is None:
                self.resource, self.extractor = resource, extractor


class _Key:
    """Where events without a job id go on one (resource, extractor) (``docs/fold.rst``, rule 4)."""

    __slots__ = ("open", "awaiting_done", "soft_done", "last_record")

    def __init__(self):
        self.open: List[_Run] = []  # oldest first; the last one is the most recently opened
        self.awaiting_done: Optional[_Run] = None  # failed or skipped: the next DONE is still its
        self.soft_done: Optional[_Run] = None  # closed by a DONE that later progress may reopen
        self.last_record: Optional[EventFields] = None  # the latest event that used it (checked folds only)


class OutOfOrder(Exception):
    """A checked fold was given an event that sorts before one it already folded into the same job or key."""


def synthetic_id(resource, extractor, first: str) -> str:
    """``legacy-`` + 16 hex digits of a hash of resource, extractor and the first event (``docs/fold.rst``, rule 5)."""
    text = "%s\x00%s\x00%s" % (resource, extractor, first)
    return "legacy-" + hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()[:16]


class Fold:
    """Folds status events, fed in sort order, into jobs.

    A store that folds incrementally (``checked``) gives the fold the state of the jobs and keys a
    batch of events touches (:meth:`adopt`), feeds the batch, and keeps what changed.  A checked fold
    raises :class:`OutOfOrder` when an event sorts before one already folded into its job or key (the
    store then folds those jobs again from all their events), and lists in ``placed`` the job each
    event went to.  ``taken`` says whether a job id is in use outside the fold's own runs.
    """

    def __init__(self, max_gap_ms: int, *, checked: bool = False,
                 taken: Optional[Callable[[str], bool]] = None):
        self.max_gap = max_gap_ms
        self.runs: Dict[str, _Run] = {}
        self.keys: Dict[Tuple, _Key] = {}
        self.checked = checked
        self.placed: List[Tuple[EventFields, _Run]] = []
        self._taken = taken

    def adopt(self, runs: Iterable[_Run], keys: Dict[Tuple, _Key]) -> None:
        """Take over jobs and keys folded earlier (see :func:`restore_run` and :func:`restore_key`)."""
        for run in runs:
            self.runs[run.job_id] = run
        self.keys.update(keys)

    def feed_all(self, records: Iterable[EventFields]) -> None:
        """Fold events, which must sort after every event folded so far, in their order."""
        runs = self.runs
        checked = self.checked
        for record in records:
            (_, _, ts, _, _, _, job_id, resource, extractor, state, _, _, _, _, _, _, _, _) = record
            if job_id is None:
                self._idless(record)
                continue
            run = runs.get(job_id)
            if run is None:
                run = runs[job_id] = _Run(job_id, False, ts)
            if checked:
                _check(run, record)
            if state == SUBMITTED:  # docs/fold.rst, rule 4: a new server, an old extractor
                if run.id_replies == 0 and run.key is None and resource is not None:
                    self._register(run, (resource, extractor), record)
            else:
                run.id_replies += 1
                if run.key is not None:
                    self._unregister(run, record)
            run.apply(record)
            if checked:
                self.placed.append((record, run))

    def feed(self, record: EventFields) -> None:
        """Fold one event that sorts after every event folded so far."""
        self.feed_all((record,))

    def _register(self, run: _Run, key: Tuple, record: EventFields) -> None:
        """An id-bearing SUBMITTED can take id-less replies (new server, old extractor)."""
        keystate = self.keys.get(key)
        if keystate is None:
            keystate = self.keys[key] = _Key()
        if self.checked:
            _check(keystate, record)
        keystate.open.append(run)
        run.key = key

    def _unregister(self, run: _Run, record: EventFields) -> None:
        keystate = self.keys[run.key]
        if self.checked:
            _check(keystate, record)
        if run in keystate.open:
            keystate.open.remove(run)
        run.key = None

    def _idless(self, record: EventFields) -> None:
        """Place an event without a job id (``docs/fold.rst``, rule 4)."""
        (_, _, ts, id_key, _, content, _, resource, extractor, state, _, _, _, _, _, _, _, _) = record
        key = (resource, extractor)
        keystate = self.keys.get(key)
        if keystate is None:
            keystate = self.keys[key] = _Key()
        if self.checked:
            _check(keystate, record)
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
            first = id_key or "%s|%s" % (ts, content)
            job_id = synthetic_id(key[0], key[1], first)
            while job_id in self.runs or (self._taken is not None and self._taken(job_id)):
                job_id += "+"  # a real job id may be spelled like a synthetic one
            run = self.runs[job_id] = _Run(job_id, True, ts)
        if self.checked:
            _check(run, record)
        run.apply(record)
        if self.checked:
            self.placed.append((record, run))

        if run.status in TERMINAL:
            if run.key is not None:  # it waits in an open list: this key's, or (a job with an id) its own key's
                if run.key != key and self.checked:
                    _check(self.keys[run.key], record)
                self.keys[run.key].open.remove(run)
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
        """Jobs as of ``now`` (ms), in the order of their first events: LOST, stale, unclaimed, durations.

        ``final`` says no event will be folded afterwards, so jobs may share the fold's lists.
        """
        latest = latest_heartbeats(heartbeats, now)
        alive = alive_until(latest)
        successors = superseded(self.runs.values())
        jobs = []
        append = jobs.append
        for run in self._runs_to_finish(final):
            status, lost, stale, waiting = run.status, False, False, False
            successor = None
            if status not in TERMINAL:
                successor = successors.get(run.job_id)
                status, lost, stale = verdict(run, successor, latest, now, stale_after)
                waiting = unclaimed(status, run.extractor, alive, now)
            append(_job(run, status, lost, stale, waiting, successor, now, final))
        return jobs

    def _runs_to_finish(self, final: bool) -> Iterator[_Run]:
        """The runs, oldest first; ``final`` hands each over out of the fold (which is then empty).

        Speed: handed over, a run's memory is freed once its job is made, so the garbage collector's
        collections while the jobs are made go through the jobs, not the jobs and the runs: on
        bench_fold.py's stream of 200,000 events, group_events ran at 176,000 against 147,000
        events/s (best of 12 runs).
        """
        if not final:
            yield from self.runs.values()
            return
        runs = list(self.runs.values())
        self.runs.clear()
        self.keys.clear()
        runs.reverse()
        pop = runs.pop
        while runs:
            yield pop()



def latest_heartbeats(heartbeats: Iterable[Heartbeat], now: int) -> Dict[str, Heartbeat]:
    """The latest usable heartbeat of each worker as of ``now`` (ms)."""
    latest: Dict[str, Heartbeat] = {}
    for beat in heartbeats:
        if beat.ts is None or beat.interval is None or beat.ts > now:
            continue
        known = latest.get(beat.worker)
        if known is None or (beat.ts, beat.seq) > (known.ts, known.seq):
            latest[beat.worker] = beat
    return latest


def verdict(run: Any, successor: Optional[str], latest: Dict[str, Heartbeat], now: int,
            stale_after: int) -> Tuple[str, bool, bool]:
    """(status, lost, stale) of an unfinished job as of ``now`` (``docs/fold.rst``, rule 6).

    ``run`` has the job's ``status``, ``job_id``, ``synthetic``, ``worker`` (of its latest event
    that named one) and ``last`` (the time of its latest event); ``successor`` is the redelivered
    run that supersedes it, if any; ``latest`` the latest heartbeat of each worker.
    """
    beat = latest.get(run.worker) if run.worker is not None else None
    lost = stale = False
    if successor is not None:
        lost = True
    elif beat is not None:
        lost = (now - beat.ts > MISSED_HEARTBEATS * beat.interval
                or (not run.synthetic and beat.ts >= run.last + beat.interval and run.job_id not in beat.jobs))
    elif now - run.last > stale_after:
        stale = True
    return (LOST if lost else run.status), lost, stale


def alive_until(latest: Dict[str, Heartbeat]) -> Dict[str, int]:
    """Each extractor a heartbeat named, to the moment (ms) its last worker stops counting as alive: that
    worker's latest heartbeat plus 3 of its intervals (``docs/fold.rst``, rule 6)."""
    found: Dict[str, int] = {}
    for beat in latest.values():
        until = beat.ts + MISSED_HEARTBEATS * beat.interval
        for name in beat.extractors:
            known = found.get(name)
            if known is None or known < until:
                found[name] = until
    return found


def unclaimed(status: Optional[str], extractor: Optional[str], alive: Dict[str, int], now: int) -> Optional[bool]:
    """Whether a job waits for a worker of its extractor while none is alive (``docs/fold.rst``, rule 6).

    ``status`` is the job's verdict as of ``now``; ``alive`` is :func:`alive_until`'s.  A job that does
    not wait (SUBMITTED, or RESUBMITTED for its next attempt) is not unclaimed; one whose extractor
    no heartbeat with timing ever named is None: unknown.
    """
    if status not in WAITING:
        return False
    until = alive.get(extractor)  # type: ignore[arg-type]
    return None if until is None else until < now


def superseded(runs: Iterable[Any]) -> Dict[str, str]:
    """Job id to the redelivered run that supersedes it: the latest earlier unfinished job on the
    redelivered run's resource and extractor (``docs/fold.rst``, rule 6).

    ``runs`` have ``job_id``, ``resource``, ``extractor``, ``first``, ``status`` and ``redelivered``.
    """
    runs = list(runs)
    keys = {(run.resource, run.extractor) for run in runs if run.redelivered}
    if not keys:
        return {}
    members: Dict[Tuple, List[Any]] = {key: [] for key in keys}
    for run in runs:
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


def durations(started: Optional[int], submitted: Optional[int], attempt_start: Optional[int],
              finished: Optional[int], last: int, lost: bool,
              now: int) -> Tuple[Optional[float], Optional[float], Optional[float]]:
    """(elapsed, queue wait, run time) in seconds (``docs/fold.rst``, rule 7): a job that has not
    finished runs until ``now``, a lost one until its last event."""
    end = finished if finished is not None else last if lost else now
    return (None if started is None else _seconds(end - started),
            None if started is None or submitted is None else _seconds(started - submitted),
            None if attempt_start is None else _seconds(end - attempt_start))


def _check(state: Any, record: EventFields) -> None:
    """Raise OutOfOrder unless ``record`` sorts after the last event folded into ``state`` (a run or key)."""
    last = state.last_record
    if last is not None and record[:SORT_FIELDS] <= last:
        raise OutOfOrder()
    state.last_record = record[:SORT_FIELDS]


def _age(run: _Run) -> Tuple[int, str]:
    return run.first, run.job_id


def _job(run: _Run, status: str, lost: bool, stale: bool, waiting: Optional[bool], successor: Optional[str],
         now: int, final: bool) -> Job:
    """The immutable record of a job; durations in seconds (``docs/fold.rst``, rule 7)."""
    events = run.events
    if run.submitted_late:
        events = [e for e in events if e[2] == SUBMITTED] + [e for e in events if e[2] != SUBMITTED]
    elif not final:
        events = events[:]
    progress = progress_fields(run.progress)
    elapsed, queue_wait, run_time = durations(run.started, run.submitted, run.attempt_start, run.finished,
                                              run.last, lost, now)
    # Positional: with its 22 fields as keywords, Job() took 2.7 against 0.46 microseconds here.
    return Job(run.job_id, run.synthetic, run.ambiguous, run.resource, run.resource_name, run.extractor, status,
               run.attempt, run.submitted, run.started, run.finished, run.last, elapsed, queue_wait, run_time,
               run.user, sorted(run.workers), progress, run.message, stale, waiting, successor, events)


def progress_fields(progress: Optional[tuple]) -> Optional[Dict[str, Any]]:
    """A job's latest progress as ``{"done", "total", "unit"}``, each figure as JSON can show it (else None)."""
    if progress is None:
        return None
    done, total, unit = progress
    return {"done": done if type(done) in _PLAIN else None,
            "total": total if type(total) in _PLAIN else None,
            "unit": unit if type(unit) in _PLAIN else None}


#: What a store keeps of a job's fold state between batches (:func:`dump_run`), in this order.
RUN_STATE = ("job_id", "synthetic", "ambiguous", "resource", "resource_name", "extractor", "placed_by_reply",
             "status", "attempt", "resubmitted", "submitted", "started", "attempt_start", "finished", "first",
             "last", "user", "workers", "worker", "progress", "message", "soft_index", "key", "id_replies",
             "redelivered", "submitted_late", "last_record")
_TUPLES = ("workers", "progress", "key", "last_record")


def dump_run(run: _Run) -> List[Any]:
    """A job's fold state as plain JSON-ready values in :data:`RUN_STATE`'s order (its events apart)."""
    return [getattr(run, name) for name in RUN_STATE]


def restore_run(values: List[Any], stored_events: int) -> _Run:
    """The job :func:`dump_run` gave ``values`` of, whose ``stored_events`` events a store holds."""
    run = _Run.__new__(_Run)
    for name, value in zip(RUN_STATE, values):
        if name in _TUPLES and value is not None:
            value = tuple(value)
        setattr(run, name, value)
    run.events = []
    run.base = stored_events
    run.rewrites = []
    return run


def dump_key(keystate: _Key) -> List[Any]:
    """A key's fold state as plain values: its open jobs' ids, the job awaiting a DONE, the job a soft
    DONE closed, and its latest event's sort key."""
    return [[run.job_id for run in keystate.open],
            None if keystate.awaiting_done is None else keystate.awaiting_done.job_id,
            None if keystate.soft_done is None else keystate.soft_done.job_id,
            keystate.last_record]


def key_jobs(values: List[Any]) -> List[str]:
    """The ids of the jobs a key's dumped state names (they must be restored with it)."""
    named = list(values[0])
    named.extend(job_id for job_id in values[1:3] if job_id is not None)
    return named


def restore_key(values: List[Any], runs: Dict[str, _Run]) -> _Key:
    """The key :func:`dump_key` gave ``values`` of, its jobs taken from ``runs`` (a job that is not
    there, pruned from a store, is left out)."""
    keystate = _Key()
    opened, awaiting, soft_done, last_record = values
    keystate.open = [runs[job_id] for job_id in opened if job_id in runs]
    keystate.awaiting_done = runs.get(awaiting) if awaiting is not None else None
    keystate.soft_done = runs.get(soft_done) if soft_done is not None else None
    keystate.last_record = None if last_record is None else tuple(last_record)
    return keystate


def _seconds(ms: int) -> float:
    """A duration in seconds, never negative."""
    return ms / 1000 if ms > 0 else 0.0
