"""The SQLite store: raw events kept append-only, and a jobs table folded by the server helper.

Standard library ``sqlite3`` in WAL mode, so readers (``jobs``, ``show``, the web page) never wait
for the recorder.  Each :meth:`Store.add_events` call is one transaction.  With
``synchronous=NORMAL`` a commit is not synced to disk by itself, only at the next checkpoint: a
committed batch survives the crash of the process that wrote it, but a power cut or a crash of
the operating system may roll back the last batches (never corrupt the file).

How the jobs table stays equal to :func:`pyclowder_jobs.server.group_events` over all stored raw
events, without refolding everything on every batch: the fold only lets jobs influence each other
through a (resource, extractor) key, and only when that key holds an event without a job id (it may
join any open job there) or a redelivered run (it supersedes an earlier unfinished job there).  Such
keys are *shared*.  A batch refolds its *component*: the job ids it names and the shared keys it
touches, grown through the stored events (a job on a shared key brings in that key, a shared key
brings in every job on it) until nothing new comes in.  Those events are folded with
``group_events`` and the component's rows replaced.  Each event is normalised by the fold's own
:func:`pyclowder_jobs.server.normalise` to learn its job id and key.

What depends on the moment of asking (LOST when heartbeats stop, ``stale``, the elapsed time of a
running job) is refreshed when jobs are read: rows of unfinished jobs are refolded the same way as
of ``now``, with the latest heartbeat of each worker.

What cannot be stored or folded never stops a batch: each document is checked at the door
(:mod:`pyclowder_jobs.tools.quarantine`) before the transaction, and one the fold refuses, or that
holds a value SQLite or JSON cannot keep, goes to the ``rejected`` table with its reason and the
text as received.  Should a batch still fail, it is written again one document at a time, and
the document that fails is rejected in the same way; only a fault of the database itself (a full
disk, a locked or damaged file) stops a write, as a :class:`StoreError` that says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple, Union

from pyclowder_jobs.protocol.identity import document_key
from pyclowder_jobs.protocol.times import to_ms
from pyclowder_jobs.protocol.tracking import is_log_line
from pyclowder_jobs.server import TERMINAL, Heartbeat, StatusEvent, group_events, normalise
from pyclowder_jobs.server.readers import job_id_text
from pyclowder_jobs.tools.quarantine import parse_whole, problem, storable_text

#: Kinds of stored events: only ``status`` (and v2 ``document``) rows feed the fold.
STATUS, DOCUMENT, LOG, HEARTBEAT, REJECTED = "status", "document", "log", "heartbeat", "rejected"

#: How many jobs' events a store keeps parsed in memory, so that a batch need not read them again.
CACHED_JOBS = 20000
_NO_LIMIT = 2 ** 63 - 1
#: The page size of a new database: with 16 kB pages (some 25 events or 10 job rows each, where
#: SQLite's 4 kB hold 6 or 2), the recorder's writer needs 5 to 7 % less CPU.
PAGE_SIZE = 16384
#: How large the write-ahead log grows before a commit copies it into the database: fewer,
#: larger checkpoints while recording.
CHECKPOINT_BYTES = 40 * 2 ** 20

#: The JSON text of a job row: compact (a smaller file), and no check for cycles (a job has none).
_encode_doc = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode

Key = Tuple[str, Optional[str]]
When = Union[datetime, str, int, float, None]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    job_id TEXT,
    resource TEXT,
    extractor TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_job ON events (job_id, resource, extractor) WHERE job_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_key ON events (resource, extractor);
CREATE TABLE IF NOT EXISTS shared_keys (
    resource TEXT NOT NULL,
    extractor TEXT,
    PRIMARY KEY (resource, extractor)
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    synthetic INTEGER NOT NULL,
    resource_id TEXT,
    extractor TEXT,
    status TEXT NOT NULL,
    user TEXT,
    last_update INTEGER NOT NULL,
    open INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_last_update ON jobs (last_update);
CREATE INDEX IF NOT EXISTS jobs_key ON jobs (resource_id, extractor);
CREATE TABLE IF NOT EXISTS heartbeats (
    worker TEXT PRIMARY KEY,
    ts INTEGER,
    seq INTEGER,
    body TEXT NOT NULL
);
"""

#: Documents that could not be stored or folded: why, from where, the text as received, and when.
_REJECTED_SCHEMA = """
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    reason TEXT NOT NULL,
    raw TEXT NOT NULL,
    received INTEGER NOT NULL
);
"""
#: The ``source`` of rejected documents written through the store's own methods.
DEFAULT_SOURCE = "store"
#: Faults of the database itself, not of a document: writing the batch again one by one cannot help.
_DATABASE_FAULTS = (sqlite3.OperationalError, sqlite3.InternalError)


class StoreError(Exception):
    """A store that cannot be used; the message names the problem and the fix."""


class Store:
    """Raw events and folded jobs in one SQLite file; one instance may be shared by threads."""

    def __init__(self, path: Union[str, os.PathLike], *, create: bool = True) -> None:
        self.path = os.fspath(path)
        if not create and not os.path.exists(self.path):
            raise StoreError("no database at %s: run `pyclowder-jobs record --db %s` or `import` first"
                             % (self.path, self.path))
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA page_size=%d" % PAGE_SIZE)  # takes effect only in a new file
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA cache_size=-65536")  # 64 MB: the indexes of a large store stay in memory
            page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
            self._db.execute("PRAGMA wal_autocheckpoint=%d" % (CHECKPOINT_BYTES // page_size))
            self._db.executescript(_SCHEMA)
            self._db.executescript(_REJECTED_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError("cannot open the database %s (%s): check the path, or give another --db"
                             % (self.path, exc)) from exc
        self._cache: "OrderedDict[str, List[Any]]" = OrderedDict()
        #: How many jobs' events this store keeps parsed in memory (about 5 kB a job of three documents).
        self.cached_jobs = CACHED_JOBS
        self._version = -1
        self._lock = threading.RLock()  # one connection: its temporary tables are used by one call at a time

    def add_events(self, events: Iterable[Any], *, now: When = None, source: str = DEFAULT_SOURCE) -> int:
        """Append raw events (duplicates skipped) and refold the jobs they affect, in one transaction.

        Returns how many events were new; those that cannot be stored or folded are rejected
        (see :meth:`rejected`), from ``source``.  ``now`` (default: the current time) is the moment
        the refolded rows are computed for.
        """
        rows: List[tuple] = []
        refused: List[tuple] = []
        for event in events:
            row, refusal = admit(event, None, problem(event))
            if row is not None:
                rows.append(row)
            else:
                refused.append(refusal)
        return self.add_prepared(rows, now=now, refused=refused, source=source)

    def add_raw(self, bodies: Iterable[Union[str, bytes]], *, now: When = None,
                source: str = DEFAULT_SOURCE) -> Tuple[int, int]:
        """Like :meth:`add_events` for JSON texts, kept as they came: (new events, texts rejected)."""
        rows, refused = prepare(bodies)
        return self.add_prepared(rows, now=now, refused=refused, source=source), len(refused)

    def add_prepared(self, rows: Sequence[tuple], *, now: When = None, refused: Sequence[tuple] = (),
                     source: str = DEFAULT_SOURCE) -> int:
        """Like :meth:`add_events` for what :func:`prepare` made (perhaps in another process)."""
        if not rows and not refused:
            return 0
        at = _ms(now)
        with self._lock:
            try:
                added = self._write_rows(rows, at) if rows else 0
            except _DATABASE_FAULTS as exc:
                raise _fault(self.path, exc) from exc
            except Exception:  # pylint: disable=broad-except  # a document the checks let through
                added, refused = self._write_one_by_one(rows, at, list(refused))
            if refused:
                self._quarantine(refused, source, at)
        return added

    def quarantine(self, documents: Iterable[Tuple[Union[str, bytes], str]], *, source: str,
                   now: When = None) -> int:
        """Keep (raw text or bytes, reason) pairs that cannot be stored or folded in the rejected
        table; returns how many were new (a document rejected again is kept once)."""
        refused = [rejection(raw, reason) for raw, reason in documents]
        with self._lock:
            return self._quarantine(refused, source, _ms(now)) if refused else 0

    def rejected(self, limit: int = 50, offset: int = 0) -> List[Dict[str, Any]]:
        """Rejected documents, newest first: ``id``, ``received``, ``source``, ``reason`` and ``raw`` (the text
        as received; bytes that were not UTF-8 as ``\\xff`` escapes)."""
        with self._lock:
            rows = self._db.execute("SELECT seq, received, source, reason, raw FROM rejected "
                                    "ORDER BY seq DESC LIMIT ? OFFSET ?", (int(limit), int(offset))).fetchall()
        return [{"id": seq, "received": _datetime(received).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                 "source": source, "reason": reason, "raw": raw} for seq, received, source, reason, raw in rows]

    def _write_rows(self, rows: Sequence[tuple], now: int) -> int:
        """:meth:`_write` for prepared rows: what they affect, then one transaction."""
        ids, keys, shared = set(), set(), set()
        fresh: Dict[str, List[Any]] = {}
        for row in rows:
            _, kind, job_id, resource, extractor, _, share, event = row
            if job_id is not None:
                ids.add(job_id)
                if kind == STATUS or kind == DOCUMENT:
                    fresh.setdefault(job_id, []).append(event)
            if resource is not None:
                keys.add((resource, extractor))
                if share:
                    shared.add((resource, extractor))
        return self._write(list(rows), ids, keys, shared, fresh, now)

    def _write_one_by_one(self, rows: Sequence[tuple], now: int, refused: List[tuple]) -> Tuple[int, List[tuple]]:
        """Write a batch that failed as a whole one document at a time, rejecting each one that fails."""
        added = 0
        for row in rows:
            try:
                added += self._write_rows([row], now)
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

    def _write(self, rows: List[tuple], ids: Set[str], keys: Set[Key], shared: Set[Key],
               fresh: Dict[str, List[Any]], now: int) -> int:
        """Insert the rows and refold what they affect, in one transaction."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            before = db.total_changes
            self._check_cache()
            last_seq = db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
            db.executemany("INSERT OR IGNORE INTO events (key, kind, job_id, resource, extractor, body) "
                           "VALUES (?, ?, ?, ?, ?, ?)", [row[:6] for row in rows])
            added = db.total_changes - before
            if added:
                if added < len(rows):  # some were duplicates: read the batch's jobs back whole
                    for job_id in ids:
                        self._cache.pop(job_id, None)
                    fresh, last_seq = {}, None
                db.executemany("INSERT OR IGNORE INTO shared_keys VALUES (?, ?)", shared)
                self._keep_heartbeats(rows)
                self._refold(ids, keys, now, fresh, last_seq)
            db.execute("COMMIT")
        except BaseException:
            self._cache.clear()
            db.execute("ROLLBACK")
            raise
        return added

    def jobs(self, *, status: Optional[str] = None, extractor: Optional[str] = None,
             user: Optional[str] = None, resource: Optional[str] = None, since: When = None,
             limit: Optional[int] = None, now: When = None) -> List[Dict[str, Any]]:
        """Jobs as ``Job.to_dict()`` dicts, newest first (by ``last_update``), as of ``now``."""
        where, args = [], []
        for column, value in (("extractor", extractor), ("user", user), ("resource_id", resource)):
            if value is not None:
                where.append("%s = ?" % column)
                args.append(value)
        if since is not None:
            where.append("last_update >= ?")
            args.append(_ms(since))
        if status is not None:  # an unfinished job's status may change with time: checked below
            where.append("(open = 1 OR status = ?)")
            args.append(status)
        sql = "SELECT doc, open FROM jobs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY last_update DESC, job_id DESC"
        if limit is not None and status is None:
            sql += " LIMIT %d" % int(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
            found = self._fresh(rows, _ms(now))
        if status is not None:
            found = [job for job in found if job["status"] == status]
        return found[:limit] if limit is not None else found

    def job(self, job_id: str, *, now: When = None) -> Optional[Dict[str, Any]]:
        """One job as ``Job.to_dict()`` as of ``now``, or None."""
        with self._lock:
            row = self._db.execute("SELECT doc, open FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            return self._fresh([row], _ms(now))[0] if row else None

    def raw_events(self, job_id: str) -> List[Dict[str, Any]]:
        """The raw documents whose own job id is ``job_id`` (statuses, progress, logs), in arrival order."""
        with self._lock:
            rows = self._db.execute("SELECT body FROM events WHERE job_id = ? ORDER BY seq", (job_id,)).fetchall()
        return [json.loads(body) for body, in rows]

    def job_events(self, job_id: str, *, after: int = 0, kinds: Optional[Sequence[str]] = None,
                   limit: Optional[int] = None, newest: bool = False) -> List[Tuple[int, str, Dict[str, Any]]]:
        """(seq, kind, event) of the raw events whose own job id is ``job_id``, in arrival order.

        Only those stored after the event numbered ``after``, of the ``kinds`` given (``status``,
        ``document``, ``log``: all by default), and at most ``limit`` of them: the first ones, or
        with ``newest`` the last ones.  What a page needs to show a job's log lines, or to follow
        it as events arrive.
        """
        sql = "SELECT seq, kind, body FROM events WHERE job_id = ? AND seq > ?"
        args: List[Any] = [job_id, after]
        if kinds is not None:
            sql += " AND kind IN (%s)" % ", ".join("?" * len(kinds))
            args.extend(kinds)
        sql += " ORDER BY seq DESC" if newest else " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT %d" % int(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        if newest:
            rows.reverse()
        return [(seq, kind, json.loads(body)) for seq, kind, body in rows]

    def last_seq(self) -> int:
        """The number of the latest stored event (0 for none): it grows with every event stored."""
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

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _keep_heartbeats(self, rows: Sequence[tuple]) -> None:
        """Keep the latest heartbeat of each worker (by its time, then its seq)."""
        latest: Dict[str, tuple] = {}
        for row in rows:
            if row[1] == HEARTBEAT:
                beat = row[5]
                worker, ts, seq = _beat_order(json.loads(beat))
                if worker not in latest or (ts, seq) > latest[worker][1:3]:
                    latest[worker] = (worker, ts, seq, beat)
        self._db.executemany(
            "INSERT INTO heartbeats VALUES (?, ?, ?, ?) ON CONFLICT (worker) DO UPDATE SET "
            "ts = excluded.ts, seq = excluded.seq, body = excluded.body "
            "WHERE (coalesce(excluded.ts, -1), excluded.seq) > (coalesce(heartbeats.ts, -1), heartbeats.seq)",
            latest.values())

    def _component(self, ids: Set[str], keys: Set[Key]) -> Tuple[Set[str], Set[Key]]:
        """The job ids and shared keys whose jobs can be changed by events on ``ids`` and ``keys``."""
        db = self._db
        ids, shared = set(ids), set()
        step_ids, step_keys = set(ids), set(keys)
        while step_ids or step_keys:
            _fill(db, step_ids, step_keys)
            reached = set(db.execute(
                "SELECT k.resource, k.extractor FROM want_keys k CROSS JOIN shared_keys s "
                "ON s.resource = k.resource AND s.extractor IS k.extractor"))
            reached.update(db.execute(
                "SELECT DISTINCT e.resource, e.extractor FROM want_ids w CROSS JOIN events e ON e.job_id = w.id "
                "JOIN shared_keys s ON s.resource = e.resource AND s.extractor IS e.extractor"))
            reached -= shared
            shared |= reached
            _fill(db, (), reached)
            step_ids = {job_id for job_id, in db.execute(
                "SELECT DISTINCT e.job_id FROM want_keys k CROSS JOIN events e ON e.resource = k.resource "
                "AND e.extractor IS k.extractor WHERE e.job_id IS NOT NULL")} - ids if reached else set()
            ids |= step_ids
            step_keys = set()
        return ids, shared

    def _check_cache(self) -> None:
        """Forget the cached events if another connection has written since this one last looked."""
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._version:
            self._cache.clear()
            self._version = version

    def _fold(self, ids: Set[str], keys: Set[Key], now: int, fresh: Dict[str, List[Any]],
              last_seq: Optional[int]) -> list:
        """``group_events`` over the stored events of a component, with the latest heartbeats.

        The events of a job id come from the cache when it has them, else from the database (up
        to ``last_seq``, when given), which then fills the cache; ``fresh`` adds the batch's new ones.
        """
        db, cache = self._db, self._cache
        events: List[Any] = []
        missing = set()
        for job_id in ids:
            known = cache.get(job_id)
            if known is None:
                missing.add(job_id)
            else:
                known.extend(fresh.get(job_id, ()))
                cache.move_to_end(job_id)
                events.extend(known)
        _fill(db, missing, keys)
        loaded: Dict[str, List[Any]] = {job_id: [] for job_id in missing}
        for job_id, body in db.execute(
                "SELECT e.job_id, e.body FROM want_ids w CROSS JOIN events e ON e.job_id = w.id "
                "WHERE e.kind IN ('status', 'document') AND e.seq <= ?",
                (_NO_LIMIT if last_seq is None else last_seq,)):
            loaded[job_id].append(json.loads(body))
        for job_id, found in loaded.items():
            found.extend(fresh.get(job_id, ()))
            events.extend(found)
            cache[job_id] = found
        while len(cache) > self.cached_jobs:
            cache.popitem(last=False)
        if keys:
            events.extend(json.loads(body) for body, in db.execute(
                "SELECT e.body FROM want_keys k CROSS JOIN events e ON e.resource = k.resource "
                "AND e.extractor IS k.extractor WHERE e.job_id IS NULL AND e.kind = 'status'"))
        beats = [json.loads(body) for body, in db.execute("SELECT body FROM heartbeats")]
        return group_events(events, heartbeats=beats, now=_datetime(now))

    def _refold(self, ids: Set[str], keys: Set[Key], now: int, fresh: Dict[str, List[Any]],
                last_seq: Optional[int]) -> None:
        """Replace the rows of every job the new events can have changed."""
        ids, shared = self._component(set(ids), keys)
        jobs = self._fold(ids, shared, now, fresh, last_seq)
        db = self._db
        _fill(db, ids, shared)
        db.execute("DELETE FROM jobs WHERE job_id IN (SELECT id FROM want_ids)")
        if shared:
            db.execute("DELETE FROM jobs WHERE rowid IN (SELECT j.rowid FROM want_keys k CROSS JOIN jobs j "
                       "ON j.resource_id = k.resource AND j.extractor IS k.extractor WHERE j.synthetic = 1)")
        db.executemany("INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            (job.job_id, int(job.synthetic), job.resource_id, job.extractor, job.status, job.user,
             job.last_update_ms, int(job.status not in TERMINAL), _encode_doc(job.to_dict()))
            for job in jobs])

    def _fresh(self, rows: Sequence[tuple], now: int) -> List[Dict[str, Any]]:
        """Decode job rows; unfinished ones are folded again as of ``now``."""
        found = [json.loads(doc) for doc, _ in rows]
        unfinished = [job for job, (_, is_open) in zip(found, rows) if is_open]
        if not unfinished:
            return found
        ids = {job["job_id"] for job in unfinished if not job["synthetic"]}
        keys = {(job["resource_id"], job["extractor"]) for job in unfinished if job["resource_id"] is not None}
        self._db.execute("BEGIN")
        try:
            self._check_cache()
            ids, shared = self._component(ids, keys)
            fresh = {job.job_id: job.to_dict() for job in self._fold(ids, shared, now, {}, None)}
        finally:
            self._db.execute("ROLLBACK")
        return [fresh.get(job["job_id"], job) for job in found]


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


def _row(event: Any, body: Optional[str] = None) -> tuple:
    """(dedup key, kind, own job id, resource, extractor, body, makes its key shared, the event as stored)."""
    found = normalise(event)
    converted: List[Any] = []
    if body is None:
        body = json.dumps(event, separators=(",", ":"),
                          default=lambda value: converted.append(value) or str(value))
    job_id = resource = extractor = None
    share = False
    if is_log_line(event):  # a log line: kept for show and the charts, never a status
        kind = LOG
        job_id = job_id_text(event.get("job_id"))
    elif type(found) is StatusEvent:
        kind = STATUS
        job_id, resource, extractor = found.job_id, found.resource, found.extractor
        share = job_id is None or found.redelivered
    elif type(found) is list:
        kind = DOCUMENT
        job_id, resource, extractor = found[0].job_id, found[0].resource, found[0].extractor
    elif type(found) is Heartbeat:
        kind = HEARTBEAT
    elif found is None:
        kind = LOG
    else:
        raise _Refused(found)
    return (document_key(event), kind, job_id, resource, extractor, body, share,
            json.loads(body) if converted else event)


def _fill(db: sqlite3.Connection, ids: Iterable[str], keys: Iterable[Key]) -> None:
    """Put job ids and keys in the temporary tables the component queries join on."""
    db.execute("CREATE TEMP TABLE IF NOT EXISTS want_ids (id TEXT PRIMARY KEY)")
    db.execute("CREATE TEMP TABLE IF NOT EXISTS want_keys (resource TEXT, extractor TEXT)")
    db.execute("DELETE FROM temp.want_ids")
    db.execute("DELETE FROM temp.want_keys")
    db.executemany("INSERT OR IGNORE INTO temp.want_ids VALUES (?)", ((i,) for i in ids))
    db.executemany("INSERT INTO temp.want_keys VALUES (?, ?)", keys)


def _beat_order(beat: Dict[str, Any]) -> Tuple[str, int, int]:
    """(worker, time in ms or -1, seq or -1) of a heartbeat, to keep the latest per worker."""
    tracking = beat.get("tracking") if isinstance(beat.get("tracking"), dict) else {}
    ts = to_ms(tracking.get("ts")) if tracking.get("ts") is not None else None
    seq = tracking.get("seq")
    return beat.get("id"), -1 if ts is None else ts, seq if type(seq) is int else -1


def _ms(when: When) -> int:
    """Milliseconds since the epoch of a datetime, ISO text or milliseconds; None is now."""
    if when is None:
        return int(datetime.now(timezone.utc).timestamp() * 1000)
    if type(when) is int:
        return when
    found = to_ms(when)
    if found is None:
        raise ValueError("not a time: %r (give an ISO 8601 time such as 2024-05-01T12:00:00Z)" % (when,))
    return found


def _datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, timezone.utc)
