"""The store: raw events kept once each, and one summary row per job, folded as events arrive.

Standard library ``sqlite3`` in WAL mode, so readers (``jobs``, ``show``, the web page) never wait
for the recorder.  Each :meth:`Store.add_events` call is one transaction.  With
``synchronous=NORMAL`` a commit is not synced to disk by itself, only at the next checkpoint: a
committed batch survives the crash of the process that wrote it, but a power cut or a crash of
the operating system may roll back the last batches (never corrupt the file).

Tables (``docs/tools.rst``, "The store"):

* ``events``: every raw document as it came, once (its ``key``: :func:`document_key`), with the
  job the fold placed it in;
* ``jobs``: one row per job: its summary (status, times, attempts, workers, progress, message,
  counts) in indexed columns, and the fold's state of the job, so that the next event is folded
  into it without reading its earlier events;
* ``timeline``: each job's events as the fold reads them (time, state, text, attempt), in order,
  for paging through a job of any length;
* ``fold_keys``: the fold's state of each (resource, extractor), where events without a job id
  are placed (``docs/fold.rst``, rule 4);
* ``heartbeats``: each worker's latest heartbeat; ``rejected``: what could not be stored or folded.

How the jobs table stays equal to :func:`pyclowder_jobs.server.group_events` over all stored raw
events: a batch's status events are sorted and folded into the stored state of the jobs and keys
they touch (:class:`pyclowder_jobs.server.fold.Fold`, ``checked``), which costs the same for the
first event of a job as for its hundred-thousandth.  When an event sorts before one already folded
into its job or key (it came late), those jobs and keys are folded again from their stored events,
together with every job and key they can influence (:meth:`Store._component`).

What depends on the moment of asking (LOST when heartbeats stop, ``stale``, the elapsed time of a
running job) is worked out when rows are read, from the row and the latest heartbeats.

What cannot be stored or folded never stops a batch: each document is checked at the door
(:mod:`pyclowder_jobs.tools.quarantine`) before the transaction, and one the fold refuses, or that
holds a value SQLite or JSON cannot keep, goes to the ``rejected`` table with its reason and the
text as received.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from typing import Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple, Union

from pyclowder_jobs.protocol.identity import document_key, event_key
from pyclowder_jobs.protocol.times import When, ms_to_iso, timedelta_ms, when_ms
from pyclowder_jobs.protocol.tracking import is_log_line
from pyclowder_jobs.server import DEFAULT_MAX_GAP, DEFAULT_STALE_AFTER, TERMINAL
from pyclowder_jobs.server.fold import (MISSED_HEARTBEATS, RUN_STATE, WAITING, Fold, OutOfOrder, alive_until,
                                        dump_key, dump_run, durations, key_jobs, latest_heartbeats, progress_fields,
                                        restore_key, restore_run, superseded, unclaimed, verdict)
from pyclowder_jobs.server.readers import heartbeat as read_heartbeat
from pyclowder_jobs.server.readers import job_id_text, normalise
from pyclowder_jobs.server.records import Heartbeat, StatusEvent
from pyclowder_jobs.server.status import FAILED, LOST, STATES
from pyclowder_jobs.tools.quarantine import parse_whole, problem, storable_text

#: Kinds of stored events: only ``status`` (and v2 ``document``) rows feed the fold.
STATUS, DOCUMENT, LOG, HEARTBEAT, REJECTED = "status", "document", "log", "heartbeat", "rejected"
#: The layout of the tables; a store of an older layout is upgraded when it is opened.
SCHEMA_VERSION = 2
#: The page size of a new database: with 16 kB pages the recorder's writer needs 5 to 7 % less CPU
#: than with SQLite's 4 kB.
PAGE_SIZE = 16384
#: How large the write-ahead log grows before a commit copies it into the database: fewer,
#: larger checkpoints while recording.
CHECKPOINT_BYTES = 40 * 2 ** 20
#: The ``source`` of rejected documents written through the store's own methods.
DEFAULT_SOURCE = "store"
#: The ``status`` filter of :meth:`Store.jobs` that lists the waiting jobs flagged unclaimed
#: (``docs/fold.rst``, rule 6).
UNCLAIMED = "UNCLAIMED"
#: Upper bounds (seconds) of the run-time and queue-wait histograms of :meth:`Store.metrics`: from a tenth of a
#: second to eight hours, about three per decade.
DURATION_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0)
#: How many values go into one ``IN (...)`` (SQLite allows 32,766; smaller lists plan better).
_CHUNK = 500
#: Faults of the database itself, not of a document: writing the batch again one by one cannot help.
_DATABASE_FAULTS = (sqlite3.OperationalError, sqlite3.InternalError)

#: The JSON text of a job's state: compact, and no check for cycles (a state has none).
_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode

Key = Tuple[str, str]

_RUN, _WAIT = "finished - attempt_start", "started - submitted"


def _bucket(span: str, end: str, start: str) -> str:
    """SQL for the index of the first bucket of :data:`DURATION_BUCKETS` a duration (ms) fits in: one past
    the last for a longer one, two past it when the duration is unknown."""
    cases = " ".join("WHEN %s <= %d THEN %d" % (span, round(bound * 1000), index)
                     for index, bound in enumerate(DURATION_BUCKETS))
    return "CASE WHEN %s IS NULL OR %s IS NULL THEN %d %s ELSE %d END" % (
        end, start, len(DURATION_BUCKETS) + 1, cases, len(DURATION_BUCKETS))


#: Whether a job is unfinished and both its buckets in one number (``open`` times 256, plus run time's times 16,
#: plus queue wait's), and each duration never negative (0 when unknown): what :meth:`Store.metrics` groups
#: and sums.
_BUCKETS_SQL = "open * 256 + (%s) * 16 + (%s)" % (_bucket(_RUN, "finished", "attempt_start"),
                                                 _bucket(_WAIT, "started", "submitted"))
_RUN_SQL = "CASE WHEN %s > 0 THEN %s ELSE 0 END" % (_RUN, _RUN)
_WAIT_SQL = "CASE WHEN %s > 0 THEN %s ELSE 0 END" % (_WAIT, _WAIT)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    job_id TEXT,
    job TEXT,
    resource TEXT,
    extractor TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_job ON events (job) WHERE job IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_key ON events (resource, extractor) WHERE resource IS NOT NULL;
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    synthetic INTEGER NOT NULL,
    ambiguous INTEGER NOT NULL,
    resource_id TEXT,
    resource_name TEXT,
    extractor TEXT,
    status TEXT NOT NULL,
    open INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    submitted INTEGER,
    started INTEGER,
    attempt_start INTEGER,
    finished INTEGER,
    first INTEGER NOT NULL,
    last_update INTEGER NOT NULL,
    user TEXT,
    workers TEXT NOT NULL,
    worker TEXT,
    progress TEXT,
    message TEXT,
    superseded_by TEXT,
    redelivered INTEGER NOT NULL,
    events INTEGER NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_last_update ON jobs (last_update, job_id);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, last_update);
CREATE INDEX IF NOT EXISTS jobs_extractor ON jobs (extractor, last_update);
CREATE INDEX IF NOT EXISTS jobs_user ON jobs (user, last_update) WHERE user IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_resource ON jobs (resource_id, extractor, last_update);
CREATE INDEX IF NOT EXISTS jobs_open ON jobs (last_update) WHERE open = 1;
CREATE INDEX IF NOT EXISTS jobs_durations ON jobs (extractor, status, %s, %s, %s);
CREATE INDEX IF NOT EXISTS jobs_unfinished ON jobs (extractor, status, worker, last_update, synthetic, superseded_by,
                                                    job_id) WHERE open = 1;
CREATE TABLE IF NOT EXISTS timeline (
    job TEXT NOT NULL,
    pos INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    state TEXT NOT NULL,
    text TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    event_id TEXT,
    PRIMARY KEY (job, pos)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS jobs_redelivered ON jobs (resource_id, extractor) WHERE redelivered = 1;
CREATE TABLE IF NOT EXISTS fold_keys (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS heartbeats (
    worker TEXT PRIMARY KEY,
    ts INTEGER,
    seq INTEGER,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    reason TEXT NOT NULL,
    raw TEXT NOT NULL,
    received INTEGER NOT NULL
);
""" % (_BUCKETS_SQL, _RUN_SQL, _WAIT_SQL)

#: The columns of a job row, in the table's order.
_JOB_COLUMNS = ("job_id", "synthetic", "ambiguous", "resource_id", "resource_name", "extractor", "status", "open",
                "attempts", "submitted", "started", "attempt_start", "finished", "first", "last_update", "user",
                "workers", "worker", "progress", "message", "superseded_by", "redelivered", "events", "state")
_SUMMARY = ", ".join(_JOB_COLUMNS[:-1])
_INSERT_JOB = "INSERT OR REPLACE INTO jobs VALUES (%s)" % ", ".join("?" * len(_JOB_COLUMNS))


class StoreError(Exception):
    """A store that cannot be used; the message names the problem and the fix."""


class _Row:
    """A job row read back, with the attribute names :func:`~pyclowder_jobs.server.fold.verdict` reads."""

    __slots__ = _JOB_COLUMNS[:-1] + ("last", "resource")

    def __init__(self, values: Sequence[Any]) -> None:
        for name, value in zip(_JOB_COLUMNS, values):
            setattr(self, name, value)
        self.last = self.last_update
        self.resource = self.resource_id


class _Beats(Dict[str, Heartbeat]):
    """The latest heartbeat of each worker, and when each extractor's last worker stops counting as alive."""

    def __init__(self, latest: Dict[str, Heartbeat], alive: Dict[str, int]) -> None:
        super().__init__(latest)
        self.alive = alive


class Store:
    """Raw events and folded jobs in one SQLite file; one instance may be shared by threads.

    ``max_gap`` and ``stale_after`` are the fold's (:func:`pyclowder_jobs.server.group_events`).
    """

    def __init__(self, path: Union[str, os.PathLike], *, create: bool = True, max_gap=DEFAULT_MAX_GAP,
                 stale_after=DEFAULT_STALE_AFTER) -> None:
        self.path = os.fspath(path)
        self.max_gap = timedelta_ms(max_gap)
        self.stale_after = timedelta_ms(stale_after)
        if not create and not os.path.exists(self.path):
            raise StoreError("no database at %s: run `pyclowder-jobs record --db %s` or `import` first"
                             % (self.path, self.path))
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA page_size=%d" % PAGE_SIZE)  # takes effect only in a new file
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA cache_size=-65536")  # 64 MB: the indexes of a large store stay in memory
            page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
            self._db.execute("PRAGMA wal_autocheckpoint=%d" % (CHECKPOINT_BYTES // page_size))
            older = self._older_layout()
            if not older:
                self._db.executescript(_SCHEMA)
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as exc:
            raise StoreError("cannot open the database %s (%s): check the path, or give another --db"
                             % (self.path, exc)) from exc
        self._lock = threading.RLock()  # one connection, used by one call at a time
        if older:
            self._upgrade()

    # -- writing ---------------------------------------------------------------------------------

    def add_events(self, events: Iterable[Any], *, now: When = None, source: str = DEFAULT_SOURCE) -> int:
        """Append raw events (duplicates skipped) and fold them into the jobs, in one transaction.

        Returns how many events were new; those that cannot be stored or folded are rejected
        (see :meth:`rejected`), from ``source``.  ``now`` is accepted for symmetry with the reads
        and has no effect on what is stored.
        """
        rows: List[tuple] = []
        refused: List[tuple] = []
        for event in events:
            row, refusal = admit(event, None, problem(event))
            if row is not None:
                rows.append(row)
            else:
                refused.append(refusal)
        return self.add_prepared(rows, refused=refused, source=source)

    def add_raw(self, bodies: Iterable[Union[str, bytes]], *, now: When = None,
                source: str = DEFAULT_SOURCE) -> Tuple[int, int]:
        """Like :meth:`add_events` for JSON texts, kept as they came: (new events, texts rejected)."""
        rows, refused = prepare(bodies)
        return self.add_prepared(rows, refused=refused, source=source), len(refused)

    def add_prepared(self, rows: Sequence[tuple], *, now: When = None, refused: Sequence[tuple] = (),
                     source: str = DEFAULT_SOURCE) -> int:
        """Like :meth:`add_events` for what :func:`prepare` made (perhaps in another process)."""
        if not rows and not refused:
            return 0
        at = when_ms(None)
        with self._lock:
            try:
                added = self._write(list(rows)) if rows else 0
            except _DATABASE_FAULTS as exc:
                raise _fault(self.path, exc) from exc
            except Exception:  # pylint: disable=broad-except  # a document the checks let through
                added, refused = self._write_one_by_one(rows, list(refused))
            if refused:
                self._quarantine(refused, source, at)
        return added

    def quarantine(self, documents: Iterable[Tuple[Union[str, bytes], str]], *, source: str,
                   now: When = None) -> int:
        """Keep (raw text or bytes, reason) pairs that cannot be stored or folded in the rejected
        table; returns how many were new (a document rejected again is kept once)."""
        refused = [rejection(raw, reason) for raw, reason in documents]
        with self._lock:
            return self._quarantine(refused, source, when_ms(now)) if refused else 0

    def prune(self, older_than: When, *, keep_failed: bool = False, vacuum: bool = False) -> Dict[str, int]:
        """Delete finished jobs whose last event is older than ``older_than``, with their events.

        Running jobs are never pruned; ``keep_failed`` keeps FAILED jobs too.  The jobs that stay
        are folded again where a pruned job shared their resource and extractor, so that the jobs
        table stays equal to the fold of what remains.  SQLite reuses the freed pages for new
        events; ``vacuum`` also gives them back to the file system (it rewrites the whole file).
        Returns ``{"jobs": ..., "events": ...}`` deleted.
        """
        cut = when_ms(older_than)
        sql = "SELECT job_id, synthetic, resource_id, extractor FROM jobs WHERE open = 0 AND last_update < ?"
        if keep_failed:
            sql += " AND status <> '%s'" % FAILED
        deleted = {"jobs": 0, "events": 0}
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                pruned = db.execute(sql, (cut,)).fetchall()
                ids = [job_id for job_id, _, _, _ in pruned]
                keys = {(resource, extractor) for _, synthetic, resource, extractor in pruned if resource is not None}
                before = db.total_changes
                for chunk in _chunks(ids):
                    db.execute("DELETE FROM events WHERE job IN (%s)" % _marks(chunk), chunk)
                deleted["events"] = db.total_changes - before
                for chunk in _chunks(ids):
                    marks = _marks(chunk)
                    db.execute("DELETE FROM timeline WHERE job IN (%s)" % marks, chunk)
                    db.execute("DELETE FROM jobs WHERE job_id IN (%s)" % marks, chunk)
                deleted["jobs"] = len(ids)
                remaining = {key for key in keys if db.execute(
                    "SELECT 1 FROM events WHERE resource = ? AND extractor IS ? LIMIT 1", key).fetchone()}
                db.executemany("DELETE FROM fold_keys WHERE key = ?", [(_encode(key),) for key in keys - remaining])
                if remaining:
                    self._refold(set(), remaining)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            if vacuum:  # in WAL mode the file shrinks at the checkpoint after the VACUUM
                db.execute("VACUUM")
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted

    # -- reading ---------------------------------------------------------------------------------

    def jobs(self, *, status: Optional[str] = None, extractor: Optional[str] = None,
             user: Optional[str] = None, resource: Optional[str] = None, since: When = None,
             limit: Optional[int] = None, offset: int = 0, now: When = None) -> List[Dict[str, Any]]:
        """Job summaries (:meth:`job`'s dicts without events), newest first (by ``last_update``), as of ``now``.

        ``status`` is a state, ``LOST``, or :data:`UNCLAIMED` (the waiting jobs flagged unclaimed).
        """
        where, args = [], []
        for column, value in (("extractor", extractor), ("user", user), ("resource_id", resource)):
            if value is not None:
                where.append("%s = ?" % column)
                args.append(value)
        if since is not None:
            where.append("last_update >= ?")
            args.append(when_ms(since))
        at = when_ms(now)
        if status is not None and status in TERMINAL:  # a finished job's status never changes
            where.append("status = ?")
            args.append(status)
            status = None
        elif status is not None:  # an unfinished job's status (and flag) may change with time: checked below
            where.append("open = 1")
            if status != LOST and status in STATES:
                where.append("status = ?")
                args.append(status)
        sql = "SELECT %s FROM jobs" % _SUMMARY
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY last_update DESC, job_id DESC"
        if status is None:
            if limit is not None:
                sql += " LIMIT %d" % int(limit)
            if offset:
                sql += "%s OFFSET %d" % ("" if limit is not None else " LIMIT -1", int(offset))
        with self._lock:
            cursor = self._db.execute(sql, args)
            latest = self._latest_heartbeats(at)
            if status is None:
                return [self._view(_Row(values), latest, at) for values in cursor.fetchall()]
            found: List[Dict[str, Any]] = []
            skip = int(offset)
            for values in cursor:
                view = self._view(_Row(values), latest, at)
                if not (view["unclaimed"] if status == UNCLAIMED else view["status"] == status):
                    continue
                if skip:
                    skip -= 1
                    continue
                found.append(view)
                if limit is not None and len(found) >= limit:
                    break
            return found

    def count(self) -> int:
        """How many jobs the store holds."""
        with self._lock:
            return self._db.execute("SELECT count(*) FROM jobs").fetchone()[0]

    def job(self, job_id: str, *, events: bool = False, now: When = None) -> Optional[Dict[str, Any]]:
        """One job as of ``now``: ``Job.to_dict()``'s keys but ``events``, and ``event_count``; or None.

        ``events=True`` adds ``events``, the whole list (:meth:`job_history` pages through it).
        """
        at = when_ms(now)
        with self._lock:
            values = self._db.execute("SELECT %s FROM jobs WHERE job_id = ?" % _SUMMARY, (job_id,)).fetchone()
            if values is None:
                return None
            found = self._view(_Row(values), self._latest_heartbeats(at), at)
        if events:
            found["events"] = self.job_history(job_id)
        return found

    def job_history(self, job_id: str, *, offset: int = 0, limit: Optional[int] = None,
                    newest: bool = False) -> List[Dict[str, Any]]:
        """A job's events as the fold reads them (``id``, ``ts``, ``status``, ``text``, ``attempt``), in
        order: ``limit`` of them from ``offset``, or with ``newest`` the last ones (``offset`` counted
        from the end)."""
        with self._lock:
            late = self._db.execute("SELECT json_extract(state, '$[%d]') FROM jobs WHERE job_id = ?"
                                    % RUN_STATE.index("submitted_late"), (job_id,)).fetchone()
            order = "pos"
            if late is not None and late[0]:  # a SUBMITTED that came after other events goes first
                order = "state <> 'SUBMITTED', pos"
            if newest:
                order = ", ".join(part + " DESC" for part in order.split(", "))
            rows = self._db.execute(
                "SELECT event_id, ts, state, text, attempt FROM timeline WHERE job = ? ORDER BY %s LIMIT ? OFFSET ?"
                % order, (job_id, -1 if limit is None else int(limit), int(offset))).fetchall()
        if newest:
            rows.reverse()
        return [{"id": event_id, "ts": ms_to_iso(ts), "status": state, "text": text, "attempt": attempt}
                for event_id, ts, state, text, attempt in rows]

    def tree(self, *, resource: Optional[str] = None, extractor: Optional[str] = None,
             now: When = None) -> Dict[Optional[str], Dict[Optional[str], Dict[str, Any]]]:
        """Jobs as Clowder's Extractions tab shows them (:func:`pyclowder_jobs.server.tree`'s shape,
        the jobs without their events): resource, then extractor, then its jobs, oldest first."""
        at = when_ms(now)
        where, args = [], []
        for column, value in (("resource_id", resource), ("extractor", extractor)):
            if value is not None:
                where.append("%s = ?" % column)
                args.append(value)
        sql = "SELECT %s FROM jobs%s ORDER BY resource_id, extractor, first, job_id" % (
            _SUMMARY, " WHERE " + " AND ".join(where) if where else "")
        result: Dict[Optional[str], Dict[Optional[str], Dict[str, Any]]] = {}
        with self._lock:
            latest = self._latest_heartbeats(at)
            for values in self._db.execute(sql, args):
                row = _Row(values)
                branch = result.setdefault(row.resource_id, {})
                entry = branch.get(row.extractor)
                if entry is None:
                    entry = branch[row.extractor] = {"status": None, "first": ms_to_iso(row.first), "latest": None,
                                                     "jobs": [], "_latest": None}
                view = self._view(row, latest, at)
                entry["jobs"].append(view)
                if entry["_latest"] is None or (row.last_update, row.job_id) > entry["_latest"]:
                    entry["_latest"] = (row.last_update, row.job_id)
                    entry["status"], entry["latest"] = view["status"], view["last_update"]
        for branch in result.values():
            for entry in branch.values():
                del entry["_latest"]
        return result

    def stats(self, *, extractor: Optional[str] = None, since: When = None) -> Dict[str, List[Dict[str, Any]]]:
        """``stats``' figures per extractor and per worker (:func:`pyclowder_jobs.tools.report.stats`)."""
        from pyclowder_jobs.tools.report import stats as figures  # pylint: disable=import-outside-toplevel
        return figures(self.jobs(extractor=extractor, since=since), self.heartbeats(),
                       self.counts().get(REJECTED, 0))

    def metrics(self, *, now: When = None) -> Dict[str, Any]:
        """Monitoring figures as of ``now``, as plain numbers (``docs/monitoring.rst``), read in one snapshot.

        * ``finished``: ``{(extractor, status): jobs}`` of the jobs that ended (LOST ones included);
        * ``run_time``, ``queue_wait``: ``{extractor: (counts, seconds)}``: how many jobs fall in each
          of :data:`DURATION_BUCKETS` (not cumulative), then above the last one, and the sum of their
          durations in seconds; run time over finished jobs (their last attempt), queue wait over
          started jobs that were submitted;
        * ``running``, ``lost``, ``waiting``, ``unclaimed``: ``{extractor: jobs}`` of the unfinished
          jobs, judged as :meth:`jobs` judges them;
        * ``workers_up``: ``{extractor: workers}`` alive now (a worker counts under each name its
          heartbeats give); ``extractors``: every extractor a job or a heartbeat names;
        * ``rejected``: how many documents were rejected.

        A job without an extractor counts under ``"?"``, as in :meth:`stats`.  Every job is counted by
        the database; only unfinished ones are judged here.  Speed: the buckets and durations are
        kept in the ``jobs_durations`` index, and what an unfinished job is judged by in the
        ``jobs_unfinished`` one, so both reads walk an index in order, without a sort or a look at the
        table: on bench_store.py's store of 1,000,000 jobs (20,000 unfinished) the grouped count took
        144 to 156 ms (best of 5) where the same figures worked out from the table's columns took
        2,300 to 3,200 ms, and reading the unfinished jobs 28 instead of 130 to 200 ms; importing
        50,000 jobs took as long with the two indexes as without them (11.3 and 11.8 against 11.9
        and 12.4 s of CPU).
        """
        at = when_ms(now)
        spans = len(DURATION_BUCKETS) + 1
        unknown = spans  # the bucket index of a duration that is not known
        figures: Dict[str, Any] = {name: {} for name in ("finished", "run_time", "queue_wait", "running", "lost",
                                                          "waiting", "unclaimed", "workers_up")}
        with self._lock:
            db = self._db
            db.execute("BEGIN")
            try:
                groups = db.execute("SELECT extractor, status, %s, count(*), sum(%s), sum(%s) FROM jobs "
                                    "GROUP BY 1, 2, 3" % (_BUCKETS_SQL, _RUN_SQL, _WAIT_SQL)).fetchall()
                unfinished = db.execute("SELECT job_id, synthetic, extractor, status, worker, last_update, "
                                        "superseded_by FROM jobs INDEXED BY jobs_unfinished WHERE open = 1").fetchall()
                latest = self._latest_heartbeats(at)
                figures["rejected"] = db.execute("SELECT count(*) FROM rejected").fetchone()[0]
            finally:
                db.execute("COMMIT")
        finished, run_time, queue_wait = figures["finished"], figures["run_time"], figures["queue_wait"]
        for extractor, status, key, count, run_ms, wait_ms in groups:
            name = extractor or "?"
            is_open, both = divmod(key, 256)
            run, wait = divmod(both, 16)
            if not is_open:
                finished[(name, status)] = finished.get((name, status), 0) + count
                if run != unknown:
                    _add_to_bucket(run_time, name, spans, run, count, run_ms)
            if wait != unknown:
                _add_to_bucket(queue_wait, name, spans, wait, count, wait_ms)
        for values in unfinished:
            row = _Unfinished._make(values)
            status, _, _ = verdict(row, row.superseded_by, latest, at, self.stale_after)
            name = row.extractor or "?"
            if status == LOST:
                finished[(name, LOST)] = finished.get((name, LOST), 0) + 1
                kind = "lost"
            elif status in WAITING:
                kind = "waiting"
                if unclaimed(status, row.extractor, latest.alive, at):
                    figures["unclaimed"][name] = figures["unclaimed"].get(name, 0) + 1
            else:
                kind = "running"
            figures[kind][name] = figures[kind].get(name, 0) + 1
        for beat in latest.values():
            if at - beat.ts <= MISSED_HEARTBEATS * beat.interval:
                for name in beat.extractors:
                    figures["workers_up"][name] = figures["workers_up"].get(name, 0) + 1
        named = {name for name, _ in finished}
        for kind in ("queue_wait", "running", "waiting"):
            named.update(figures[kind])
        named.update(name for beat in latest.values() for name in beat.extractors)
        figures["extractors"] = sorted(named)
        return figures

    def job_workers(self, job_id: str) -> Dict[str, Dict[str, Any]]:
        """Each worker that sent a job's events (``tracking.worker``): its ``host``, ``pid``, the ``attempts``
        it ran, how many ``events`` it sent, and the ``first`` and ``last`` of their ``tracking.ts``."""
        tracking = "json_extract(body, '$.tracking.%s')"
        sql = ("SELECT %s AS worker, max(%s), max(%s), group_concat(DISTINCT CASE WHEN "
               "json_type(body, '$.tracking.attempt') = 'integer' THEN %s END), count(*), min(%s), max(%s) "
               "FROM events WHERE job = ? AND kind IN ('status', 'document', 'log') "
               "AND json_type(body, '$.tracking.worker') = 'text' GROUP BY worker ORDER BY worker"
               % (tracking % "worker", tracking % "host", tracking % "pid", tracking % "attempt", tracking % "ts",
                  tracking % "ts"))
        with self._lock:
            rows = self._db.execute(sql, (job_id,)).fetchall()
        return {worker: {"host": "" if host is None else str(host), "pid": "" if pid is None else str(pid),
                         "attempts": sorted(int(number) for number in (attempts or "").split(",") if number),
                         "events": count, "first": "" if first is None else str(first),
                         "last": "" if last is None else str(last)}
                for worker, host, pid, attempts, count, first, last in rows}

    def raw_events(self, job_id: str) -> List[Dict[str, Any]]:
        """The raw documents of a job (statuses, progress, logs), in arrival order: those the fold placed
        in it and those that carry its id."""
        with self._lock:
            rows = self._db.execute("SELECT body FROM events WHERE job = ? ORDER BY seq", (job_id,)).fetchall()
        return [json.loads(body) for body, in rows]

    def job_events(self, job_id: str, *, after: int = 0, kinds: Optional[Iterable[str]] = None,
                   limit: Optional[int] = None, newest: bool = False) -> List[Tuple[int, str, Dict[str, Any]]]:
        """``(seq, kind, raw document)`` of a job's stored events in arrival order: those after ``seq``
        ``after``, of the given ``kinds`` (``status``, ``document``, ``log``: all by default), and at most
        ``limit`` of them: the first ones, or with ``newest`` the last ones."""
        sql = "SELECT seq, kind, body FROM events WHERE job = ? AND seq > ?"
        args: List[Any] = [job_id, int(after)]
        if kinds is not None:
            kinds = list(kinds)
            sql += " AND kind IN (%s)" % _marks(kinds)
            args.extend(kinds)
        sql += " ORDER BY seq%s" % (" DESC" if newest else "")
        if limit is not None:
            sql += " LIMIT %d" % int(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        if newest:
            rows.reverse()
        return [(seq, kind, json.loads(body)) for seq, kind, body in rows]

    def last_seq(self) -> int:
        """The number of the latest stored event (0 in an empty store): a reader polls for new ones."""
        with self._lock:
            return self._db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]

    def heartbeats(self) -> List[Dict[str, Any]]:
        """The latest heartbeat of each worker."""
        with self._lock:
            rows = self._db.execute("SELECT body FROM heartbeats ORDER BY worker").fetchall()
        return [json.loads(body) for body, in rows]

    def counts(self) -> Dict[str, int]:
        """How many stored events of each kind, how many jobs, and how many documents were rejected."""
        with self._lock:
            found = dict(self._db.execute("SELECT kind, count(*) FROM events GROUP BY kind").fetchall())
            found["jobs"] = self._db.execute("SELECT count(*) FROM jobs").fetchone()[0]
            rejected = found.get(REJECTED, 0) + self._db.execute("SELECT count(*) FROM rejected").fetchone()[0]
        if rejected:
            found[REJECTED] = rejected
        return found

    def rejected(self, limit: int = 50, offset: int = 0) -> List[Dict[str, Any]]:
        """Rejected documents, newest first: ``id``, ``received``, ``source``, ``reason`` and ``raw`` (the text
        as received; bytes that were not UTF-8 as ``\\xff`` escapes)."""
        with self._lock:
            rows = self._db.execute("SELECT seq, received, source, reason, raw FROM rejected "
                                    "ORDER BY seq DESC LIMIT ? OFFSET ?", (int(limit), int(offset))).fetchall()
        return [{"id": seq, "received": ms_to_iso(received), "source": source, "reason": reason, "raw": raw}
                for seq, received, source, reason, raw in rows]

    def all_events(self, chunk: int = 10000) -> Iterator[Dict[str, Any]]:
        """Every stored raw event, in arrival order (read ``chunk`` at a time)."""
        last = 0
        while True:
            with self._lock:
                rows = self._db.execute("SELECT seq, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                                        (last, chunk)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            for _, body in rows:
                yield json.loads(body)

    def schema_version(self) -> int:
        """The layout of the store's tables (:data:`SCHEMA_VERSION` once opened)."""
        with self._lock:
            found = self._db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
        return int(found[0])

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- the write path --------------------------------------------------------------------------

    def _write(self, rows: List[tuple]) -> int:
        """Insert the new rows and fold their status events into the jobs, in one transaction."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            rows = self._new_rows(rows)
            if rows:
                self._keep_heartbeats(rows)
                self._fold_in(rows)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return len(rows)

    def _new_rows(self, rows: List[tuple]) -> List[tuple]:
        """The rows whose key is neither stored nor earlier in the batch."""
        fresh: Dict[str, tuple] = {}
        for row in rows:
            fresh.setdefault(row[0], row)
        keys = list(fresh)
        for chunk in _chunks(keys):
            for key, in self._db.execute("SELECT key FROM events WHERE key IN (%s)" % _marks(chunk), chunk):
                del fresh[key]
        return list(fresh.values())

    def _fold_in(self, rows: List[tuple]) -> None:
        """Fold the rows' status events into the stored state of the jobs and keys they touch, then
        insert the rows; a late event makes its jobs and keys fold again from their events."""
        records: List[tuple] = []
        origin: Dict[int, str] = {}
        for row in rows:
            for record in row[7]:
                records.append(record)
                origin[id(record)] = row[0]
        records.sort()
        placed: Dict[str, str] = {}
        if records:
            ids = {record[6] for record in records if record[6] is not None}
            keys = {(record[7], record[8]) for record in records if record[7] is not None}
            fold = self._load(ids, keys)
            try:
                fold.feed_all(records)
            except OutOfOrder:
                fold = None
            if fold is not None:
                self._save(fold)
                placed = {origin[id(record)]: run.job_id for record, run in fold.placed}
        self._db.executemany("INSERT INTO events (key, kind, job_id, job, resource, extractor, body) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)",
                             [(row[0], row[1], row[2], placed.get(row[0], row[2]), row[3], row[4], row[5])
                              for row in rows])
        if records and not placed:
            ids = {record[6] for record in records if record[6] is not None}
            keys = {(record[7], record[8]) for record in records if record[7] is not None}
            self._refold(ids, keys)

    def _load(self, ids: Set[str], keys: Set[Key]) -> Fold:
        """A checked fold holding the stored state of the jobs ``ids``, the keys ``keys``, the keys those
        jobs wait on and the jobs those keys name."""
        runs: Dict[str, Any] = {}
        states: Dict[Key, list] = {}
        tried_ids: Set[str] = set()
        tried_keys: Set[Key] = set()
        wanted_ids, wanted_keys = set(ids), set(keys)
        while wanted_ids or wanted_keys:  # a key names jobs, and a job may wait on another key
            self._load_runs(wanted_ids, runs)
            tried_ids |= wanted_ids
            wanted_keys |= {run.key for run in runs.values() if run.key is not None}
            wanted_keys -= tried_keys
            for chunk in _chunks([_encode(key) for key in wanted_keys]):
                for key, state in self._db.execute("SELECT key, state FROM fold_keys WHERE key IN (%s)"
                                                   % _marks(chunk), chunk):
                    states[tuple(json.loads(key))] = json.loads(state)
            tried_keys |= wanted_keys
            wanted_keys = set()
            wanted_ids = {job_id for state in states.values() for job_id in key_jobs(state)} - tried_ids
        fold = Fold(self.max_gap, checked=True, taken=self._taken)
        fold.adopt(runs.values(), {key: restore_key(state, runs) for key, state in states.items()})
        return fold

    def _load_runs(self, ids: Iterable[str], runs: Dict[str, Any]) -> None:
        for chunk in _chunks(list(ids)):
            for state, count in self._db.execute("SELECT state, events FROM jobs WHERE job_id IN (%s)"
                                                 % _marks(chunk), chunk):
                run = restore_run(json.loads(state), count)
                runs[run.job_id] = run

    def _taken(self, job_id: str) -> bool:
        """Whether a job id is in use in the store (a new synthetic id must not be)."""
        return self._db.execute("SELECT 1 FROM jobs WHERE job_id = ?", (job_id,)).fetchone() is not None

    def _save(self, fold: Fold) -> None:
        """Write what a fold changed: job rows, their new events and rewritten ones, key states, and
        who supersedes whom on the keys that hold a redelivered run."""
        db = self._db
        timeline, rewrites, jobs = [], [], []
        for run in fold.runs.values():
            base = run.base
            for index, (event_id, ts, state, text, attempt) in enumerate(run.events):
                timeline.append((run.job_id, base + index, ts, state, text, attempt, event_id))
            rewrites.extend((run.job_id, position) for position in run.rewrites)
            jobs.append(run)
        db.executemany("INSERT OR REPLACE INTO timeline VALUES (?, ?, ?, ?, ?, ?, ?)", timeline)
        db.executemany("UPDATE timeline SET state = 'PROCESSING' WHERE job = ? AND pos = ?", rewrites)
        db.executemany("INSERT OR REPLACE INTO fold_keys VALUES (?, ?)",
                       [(_encode(key), _encode(dump_key(keystate))) for key, keystate in fold.keys.items()])
        db.executemany(_INSERT_JOB, [_job_row(run) for run in jobs])
        self._supersede({(run.resource, run.extractor) for run in jobs})

    def _supersede(self, keys: Set[Key]) -> None:
        """Work out again who supersedes whom on those of ``keys`` that hold a redelivered run."""
        db = self._db
        keys &= set(db.execute("SELECT DISTINCT resource_id, extractor FROM jobs WHERE redelivered = 1"))
        for key in keys:
            rows = [_Row(values) for values in db.execute(
                "SELECT %s FROM jobs WHERE resource_id = ? AND extractor IS ?" % _SUMMARY, key)]
            successors = superseded(rows)
            db.executemany("UPDATE jobs SET superseded_by = ? WHERE job_id = ?",
                           [(successors.get(row.job_id), row.job_id) for row in rows
                            if successors.get(row.job_id) != row.superseded_by])

    def _refold(self, ids: Set[str], keys: Set[Key]) -> None:
        """Fold again, from their stored events, the jobs and keys that events on ``ids`` and ``keys``
        can change, and replace their rows."""
        db = self._db
        ids, keys = self._component(ids, keys)
        records: Dict[Any, tuple] = {}
        origin: Dict[int, str] = {}
        for key, body in self._component_events(ids, keys):
            found = normalise(json.loads(body))
            for record in found if type(found) is list else [found]:
                if type(record) is StatusEvent:
                    record = record[:]
                    identity = event_key(record[3], record[4], record[2], record[5])
                    if identity not in records:
                        records[identity] = record
                        origin[id(record)] = key
        ordered = sorted(records.values())
        old = set(ids)
        for key in keys:
            old.update(job_id for job_id, in db.execute(
                "SELECT job_id FROM jobs WHERE synthetic = 1 AND resource_id = ? AND extractor IS ?", key))
        for chunk in _chunks(sorted(old)):
            marks = _marks(chunk)
            db.execute("DELETE FROM jobs WHERE job_id IN (%s)" % marks, chunk)
            db.execute("DELETE FROM timeline WHERE job IN (%s)" % marks, chunk)
        db.executemany("DELETE FROM fold_keys WHERE key = ?", [(_encode(key),) for key in keys])
        fold = Fold(self.max_gap, checked=True, taken=self._taken)
        fold.feed_all(ordered)
        self._save(fold)
        db.executemany("UPDATE events SET job = ? WHERE key = ?",
                       [(run.job_id, origin[id(record)]) for record, run in fold.placed])

    def _component(self, ids: Set[str], keys: Set[Key]) -> Tuple[Set[str], Set[Key]]:
        """The job ids and keys whose jobs events on ``ids`` and ``keys`` can change: those keys, the
        jobs with events on them, those jobs' keys, and so on until nothing new comes in."""
        db = self._db
        ids, keys = set(ids), set(keys)
        step_ids, step_keys = set(ids), set(keys)
        while step_ids or step_keys:
            found_keys: Set[Key] = set()
            for chunk in _chunks(sorted(step_ids)):
                marks = _marks(chunk)
                found_keys.update(db.execute(
                    "SELECT DISTINCT resource, extractor FROM events WHERE job IN (%s) AND resource IS NOT NULL"
                    % marks, chunk))
                found_keys.update(db.execute(
                    "SELECT DISTINCT resource_id, extractor FROM jobs WHERE job_id IN (%s) "
                    "AND resource_id IS NOT NULL" % marks, chunk))
            found_keys.update(step_keys)
            found_ids: Set[str] = set()
            for key in found_keys:
                found_ids.update(job_id for job_id, in db.execute(
                    "SELECT DISTINCT job_id FROM events WHERE resource = ? AND extractor IS ? AND job_id IS NOT NULL",
                    key))
                found_ids.update(job_id for job_id, in db.execute(
                    "SELECT job_id FROM jobs WHERE resource_id = ? AND extractor IS ? AND synthetic = 0", key))
            step_keys = found_keys - keys
            step_ids = found_ids - ids
            keys |= found_keys
            ids |= found_ids
        return ids, keys

    def _component_events(self, ids: Set[str], keys: Set[Key]) -> Iterator[Tuple[str, str]]:
        """(key, body) of the stored status events of the job ids and keys of a component, each once."""
        db = self._db
        seen: Set[str] = set()
        for chunk in _chunks(sorted(ids)):
            for key, body in db.execute("SELECT key, body FROM events WHERE job IN (%s) "
                                        "AND kind IN ('status', 'document')" % _marks(chunk), chunk):
                if key not in seen:
                    seen.add(key)
                    yield key, body
        for key_pair in keys:
            for key, body in db.execute("SELECT key, body FROM events WHERE resource = ? AND extractor IS ? "
                                        "AND kind IN ('status', 'document')", key_pair):
                if key not in seen:
                    seen.add(key)
                    yield key, body

    def _write_one_by_one(self, rows: Sequence[tuple], refused: List[tuple]) -> Tuple[int, List[tuple]]:
        """Write a batch that failed as a whole one document at a time, rejecting each one that fails."""
        added = 0
        for row in rows:
            try:
                added += self._write([row])
            except _DATABASE_FAULTS as exc:
                raise _fault(self.path, exc) from exc
            except Exception as exc:  # pylint: disable=broad-except
                refused.append(rejection(row[5], "the store could not write it (%s: %s)"
                                        % (type(exc).__name__, storable_text(str(exc))[:200])))
        return added, refused

    def _quarantine(self, refused: Sequence[tuple], source: str, now: int) -> int:
        """Insert rejected documents, (key, reason, text) each, in one transaction."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                before = db.total_changes
                db.executemany("INSERT OR IGNORE INTO rejected (key, source, reason, raw, received) "
                               "VALUES (?, ?, ?, ?, ?)",
                               [(key, source, reason, text, now) for key, reason, text in refused])
                added = db.total_changes - before
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise _fault(self.path, exc) from exc
        return added

    def _keep_heartbeats(self, rows: Sequence[tuple]) -> None:
        """Keep the latest heartbeat of each worker (by its time, then its seq)."""
        latest: Dict[str, tuple] = {}
        for row in rows:
            if row[1] == HEARTBEAT:
                beat = row[6]
                order = (-1 if beat.ts is None else beat.ts, beat.seq)
                if beat.worker not in latest or order > latest[beat.worker][1:3]:
                    latest[beat.worker] = (beat.worker,) + order + (row[5],)
        self._db.executemany(
            "INSERT INTO heartbeats VALUES (?, ?, ?, ?) ON CONFLICT (worker) DO UPDATE SET "
            "ts = excluded.ts, seq = excluded.seq, body = excluded.body "
            "WHERE (coalesce(excluded.ts, -1), excluded.seq) > (coalesce(heartbeats.ts, -1), heartbeats.seq)",
            latest.values())

    # -- helpers ---------------------------------------------------------------------------------

    def _latest_heartbeats(self, now: int) -> _Beats:
        beats = []
        for body, in self._db.execute("SELECT body FROM heartbeats"):
            found = read_heartbeat(json.loads(body))
            if type(found) is Heartbeat:
                beats.append(found)
        latest = latest_heartbeats(beats, now)
        return _Beats(latest, alive_until(latest))

    def _view(self, row: _Row, latest: _Beats, now: int) -> Dict[str, Any]:
        """A job row as ``Job.to_dict()`` gives it (without ``events``; with ``event_count``), as of ``now``."""
        status, lost, stale, waiting = row.status, False, False, False
        if row.open:
            status, lost, stale = verdict(row, row.superseded_by, latest, now, self.stale_after)
            waiting = unclaimed(status, row.extractor, latest.alive, now)
        elapsed, queue_wait, run_time = durations(row.started, row.submitted, row.attempt_start, row.finished,
                                                  row.last_update, lost, now)
        return {
            "job_id": row.job_id, "synthetic": bool(row.synthetic), "ambiguous": bool(row.ambiguous),
            "resource_id": row.resource_id, "resource_name": row.resource_name, "extractor": row.extractor,
            "status": status, "attempts": row.attempts, "submitted": _iso(row.submitted),
            "started": _iso(row.started), "finished": _iso(row.finished), "last_update": ms_to_iso(row.last_update),
            "elapsed": elapsed, "queue_wait": queue_wait, "run_time": run_time, "user": row.user,
            "workers": json.loads(row.workers), "progress": None if row.progress is None else json.loads(row.progress),
            "message": row.message, "stale": stale, "unclaimed": waiting,
            "superseded_by": row.superseded_by if lost else None,
            "event_count": row.events,
        }

    def _older_layout(self) -> bool:
        """Whether the file holds a store of an earlier layout (its jobs table has a ``doc`` column)."""
        columns = [name for _, name, *_ in self._db.execute("PRAGMA table_info(jobs)")]
        return "doc" in columns

    def _upgrade(self) -> None:
        """Move a store of the first layout to this one: its raw events are kept and folded again."""
        db = self._db
        with self._lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("ALTER TABLE events RENAME TO events_v1")
                for name in ("events_job", "events_key", "jobs_last_update", "jobs_key"):
                    db.execute("DROP INDEX IF EXISTS %s" % name)
                db.execute("DROP TABLE jobs")
                db.execute("DROP TABLE IF EXISTS shared_keys")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.executescript(_SCHEMA)
            last = 0
            while True:
                chunk = db.execute("SELECT seq, body FROM events_v1 WHERE seq > ? ORDER BY seq LIMIT 5000",
                                   (last,)).fetchall()
                if not chunk:
                    break
                last = chunk[-1][0]
                rows, refused = prepare(body for _, body in chunk)
                self._write(rows)
                if refused:
                    self._quarantine(refused, "upgrade", when_ms(None))
            db.execute("DROP TABLE events_v1")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))


def prepare(bodies: Iterable[Union[str, bytes]]) -> Tuple[List[tuple], List[tuple]]:
    """(rows, rejected documents) for :meth:`Store.add_prepared`, from JSON texts.

    The texts are kept as they came.  Bytes must be UTF-8 (as JSON sent between systems is): they
    are decoded once, and the text both parsed and stored, so that what is stored always parses.
    """
    rows: List[tuple] = []
    refused: List[tuple] = []
    for body in bodies:
        try:
            text = body.decode("utf-8") if type(body) is bytes else body
            event, reason = parse_whole(text)
        except UnicodeDecodeError as exc:
            refused.append(rejection(body, "not UTF-8 (%s at byte %d)" % (exc.reason, exc.start)))
            continue
        except ValueError as exc:
            refused.append(rejection(body, "not JSON (%s)" % (getattr(exc, "msg", None) or exc)))
            continue
        except RecursionError:
            refused.append(rejection(body, "JSON nested too deeply to read"))
            continue
        if type(event) is dict:
            row, refusal = admit(event, text, reason)
            if row is not None:
                rows.append(row)
            else:
                refused.append(refusal)
        else:
            refused.append(rejection(body, "a JSON %s, not an object" % _json_type(event)))
    return rows, refused


class _Refused(Exception):
    """A document the fold cannot use; the message is the fold's reason."""


def admit(document: Any, text: Optional[str], reason: Optional[str]) -> Tuple[Optional[tuple], Optional[tuple]]:
    """(row, None) for :meth:`Store.add_prepared`, or (None, rejected document) when ``document`` cannot be
    stored (``reason`` says why, from :mod:`~pyclowder_jobs.tools.quarantine`) or folded.

    ``text`` is the document as received (None: it came as an object, and is stored as JSON).
    """
    if reason is None:
        try:
            return _row(document, text), None
        except _Refused as exc:
            reason = str(exc)
        except Exception as exc:  # pylint: disable=broad-except  # reading it failed: a fault of the reader
            reason = "could not be read (%s: %s)" % (type(exc).__name__, storable_text(str(exc))[:200])
    return None, rejection(text if text is not None else _text_of(document), reason)


def rejection(raw: Any, reason: str) -> tuple:
    """A rejected document for :meth:`Store.add_prepared`, from ``raw`` (text or bytes) and why:
    (key, reason, text), the key a hash of the text, so that it is kept once."""
    text = storable_text(raw)
    return "h:" + hashlib.sha1(text.encode("utf-8")).hexdigest(), storable_text(reason), text


def _row(event: Any, body: Optional[str] = None) -> tuple:
    """(key, kind, own job id, resource, extractor, body, heartbeat or None, status events).

    A status document's key is its identity in the fold (:func:`event_text`), so that two documents
    the fold would take for one event are stored once; other documents are keyed by
    :func:`~pyclowder_jobs.protocol.identity.document_key`.
    """
    if body is None:
        converted: List[Any] = []
        body = json.dumps(event, separators=(",", ":"), default=lambda value: converted.append(value) or str(value))
        if converted:  # values JSON has no type for are stored as text: fold what is stored
            event = json.loads(body)
    found = normalise(event)
    job_id = resource = extractor = beat = None
    records: List[tuple] = []
    key = None
    if is_log_line(event):  # a log line: kept for show and the pages, never a status
        kind = LOG
        job_id = job_id_text(event.get("job_id"))
    elif type(found) is StatusEvent:
        kind = STATUS
        job_id, resource, extractor = found.job_id, found.resource, found.extractor
        records = [found[:]]
        key = event_text(found)
    elif type(found) is list:
        kind = DOCUMENT
        job_id, resource, extractor = found[0].job_id, found[0].resource, found[0].extractor
        records = [record[:] for record in found]
        key = "v2:%s:%s" % (job_id, hashlib.sha1(body.encode("utf-8")).hexdigest())
    elif type(found) is Heartbeat:
        kind = HEARTBEAT
        beat = found
    elif found is None:
        kind = LOG
    else:
        raise _Refused(found)
    return (key or document_key(event), kind, job_id, resource, extractor, body, beat, records)


def event_text(record: StatusEvent) -> str:
    """A status event's identity in the fold (:func:`pyclowder_jobs.protocol.identity.event_key`) as text."""
    if record.seq < 0 and record.id_key:
        return "id:" + record.id_key
    digest = hashlib.sha1(record.content.encode("utf-8")).hexdigest()
    return "e:%d:%s:%d:%s" % (record.ts, record.id_key, record.seq, digest)


def _job_row(run: Any) -> tuple:
    """A job's row from its fold state."""
    return (run.job_id, int(run.synthetic), int(run.ambiguous), run.resource, run.resource_name, run.extractor,
            run.status or "SUBMITTED", int(run.status not in TERMINAL), run.attempt, run.submitted, run.started,
            run.attempt_start, run.finished, run.first, run.last, run.user, _encode(sorted(run.workers)), run.worker,
            None if run.progress is None else _encode(progress_fields(run.progress)), run.message, None,
            int(run.redelivered), run.base + len(run.events), _encode(dump_run(run)))


def _iso(ms: Optional[int]) -> Optional[str]:
    return None if ms is None else ms_to_iso(ms)


class _Unfinished(NamedTuple):
    """What :meth:`Store.metrics` reads of an unfinished job: the names :func:`verdict` reads."""

    job_id: str
    synthetic: int
    extractor: Optional[str]
    status: str
    worker: Optional[str]
    last: int
    superseded_by: Optional[str]


def _add_to_bucket(histograms: Dict[str, Tuple[List[int], float]], name: str, spans: int, index: int, count: int,
                   total: Any) -> None:
    """Add ``count`` durations summing to ``total`` ms to bucket ``index`` of ``name``'s histogram."""
    counts, seconds = histograms.get(name) or ([0] * spans, 0.0)
    counts[index] += count
    histograms[name] = (counts, seconds + float(total or 0) / 1000)


def _chunks(values: List[Any]) -> Iterator[List[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def _text_of(event: Any) -> str:
    """The JSON text of a document that came as an object (values JSON has no type for as text)."""
    try:
        return json.dumps(event, default=str)
    except (ValueError, TypeError, RecursionError):
        try:
            return repr(event)
        except RecursionError:
            return "<a %s nested too deeply to write>" % type(event).__name__


def _json_type(value: Any) -> str:
    return {list: "array", str: "string", int: "number", float: "number", bool: "boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


def _fault(path: str, exc: BaseException) -> StoreError:
    """The error of a write that failed through a fault of the database itself, naming it."""
    return StoreError("could not write to %s (%s: %s): check the disk and the file"
                      % (path, type(exc).__name__, exc))
