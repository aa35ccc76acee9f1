"""The HTML of the web page: job dicts (``Job.to_dict()``) and log lines in, rendered templates out.

The index lists jobs as Clowder's Extractions tab does: resources (by file name where the request
had one), then extractors, then jobs, each with its status, start, elapsed time, submitting user,
attempts, workers and, where progress was reported, a progress bar.  The job page shows one job's
facts, progress chart, log lines, attempts and events.  A fact the events do not tell is shown as
"not recorded" with the reason (see :func:`reasons`), never as a blank.  The functions here are
pure: ``app.py`` reads the store and calls them; ``templates/`` holds the markup.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import quote, urlencode

from ...protocol.times import ms_to_iso, to_ms
from ...server.status import STATES, TERMINAL
from .. import timefmt
from ..store import UNCLAIMED
from .chart import Point, job_span, render_svg
from .markup import clean, render

#: How many characters of a job's message the index shows.
MESSAGE_LIMIT = 120
#: The job page lists at most this many events (the latest ones).
EVENT_LIMIT = 1000
#: The job page lists at most this many log lines (the latest ones); the live view keeps as many.
LOG_LIMIT = 2000
#: The levels the log view filters by, lowest first; a line at a level not named here is always shown.
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: The choices of the log view's filter: (value of ``level``, label).
LEVEL_CHOICES = (("", "all levels"), ("info", "INFO and above"), ("warning", "WARNING and above"),
                 ("error", "ERROR and above"))
#: Resources of progress-service jobs (``progress_api.RESOURCE_PREFIX``).
PROGRESS_PREFIX = "progress:"

_KNOWN_STATUS = frozenset(STATES)
#: pyClowder's ``StatusMessage.<member>: `` before a message: the status badge already says it.
_PREFIX = re.compile(r"\AStatusMessage\.[a-z]+: ")
#: What the index says of a fact that is missing for a reason :func:`reasons` does not name.
_UNKNOWN = dict.fromkeys(("started", "elapsed", "user", "workers", "progress"), "not recorded")
_LEVEL_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL"}

#: Why a job has no SUBMITTED event, by where its events came from.
NO_SUBMITTED = {
    "clowder": "no SUBMITTED event: Clowder before v1.6 did not send one",
    "tap": "no SUBMITTED event: Clowder writes it to its own database, not to the event tap "
           "(import Clowder's events to add it)",
    "progress": "no SUBMITTED event: the job was created by an update, not by create",
}

#: What a waiting job's ``unclaimed`` flag says (``docs/fold.rst``, rule 6).
UNCLAIMED_WHY = {True: "no worker of its extractor is alive (no heartbeat within 3 intervals): nothing will start "
                       "it until one is",
                 False: "a worker of its extractor is alive",
                 None: "no heartbeat of its extractor was seen"}
#: The index's status filter: the states, and the waiting jobs flagged unclaimed.
STATUS_CHOICES = STATES + (UNCLAIMED,)

#: A fact that the events do not tell, and why.
NOT_RECORDED = "not recorded \u2014 %s"

Hosts = Mapping[str, Tuple[Optional[str], Optional[int]]]
#: No worker's host known (a read-only default).
NO_HOSTS: Hosts = MappingProxyType({})


class Row(dict):
    """A dict whose keys templates read as attributes (``row.status``) without a failed attribute
    look-up first: the index renders several of them per job."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


# -- facts and their reasons ------------------------------------------------------------------

def duration(seconds: Any) -> str:
    """A duration as the command line shows it (``timefmt.duration``); empty unless a number >= 0."""
    if type(seconds) not in (int, float) or seconds != seconds or not 0 <= seconds <= 1e12:
        return ""
    return timefmt.duration(seconds)


def when(iso: Any) -> str:
    """``2019-03-14 15:00:03`` from the fold's ``2019-03-14T15:00:03.412Z``; empty for None."""
    if type(iso) is not str:
        return ""
    return clean(iso[:10] + " " + iso[11:19]) if len(iso) >= 19 else clean(iso)


def precise(iso: Any) -> str:
    """``2019-03-14 15:00:03.412``: a time to the millisecond."""
    return when(iso) + (iso[19:23] if type(iso) is str and len(iso) >= 23 else "")


def source(job: Mapping[str, Any]) -> str:
    """Where a job's events came from: ``progress`` (the progress API), ``clowder`` (Clowder's
    database: its events have ids) or ``tap`` (a tracked extractor's event tap)."""
    resource = job.get("resource_id")
    if type(resource) is str and resource.startswith(PROGRESS_PREFIX):
        return "progress"
    return "clowder" if any(event.get("id") for event in _event_list(job)) else "tap"


def reasons(job: Mapping[str, Any]) -> Dict[str, str]:
    """For each fact of the job that is missing (None or empty), what a page shows instead of a blank:
    that it was not recorded and why, or that it has not happened yet."""
    status = job.get("status")
    finished = status in TERMINAL
    submitted = any(event.get("status") == "SUBMITTED" for event in _event_list(job))
    origin = source(job)
    found: Dict[str, str] = {}
    no_submitted = NOT_RECORDED % NO_SUBMITTED[origin]
    if job.get("submitted") is None:
        found["submitted"] = no_submitted
    if not job.get("user"):
        if origin == "progress":
            found["user"] = NOT_RECORDED % "the progress API takes no user"
        elif submitted:
            found["user"] = NOT_RECORDED % "the SUBMITTED event names no user (Clowder before v1.12 did not record one)"
        else:
            found["user"] = no_submitted
    if job.get("started") is None:
        if finished:
            found["started"] = NOT_RECORDED % "no start was reported before it ended"
        elif status in ("SUBMITTED", "RESUBMITTED"):
            found["started"] = "not started yet: waiting in the queue"
        else:
            found["started"] = NOT_RECORDED % "no start was reported"
    if job.get("finished") is None:
        found["finished"] = {"LOST": "lost: its worker went away before it finished"}.get(
            status, "not finished: silent for a long time (stale)" if job.get("stale") else "not finished yet")
    for name in ("elapsed", "run_time"):
        if job.get(name) is None:
            found[name] = found.get("started", NOT_RECORDED % "no start was reported")
    if job.get("queue_wait") is None:
        found["queue_wait"] = found.get("submitted") or found.get("started") or NOT_RECORDED % "no start was reported"
    if not _listed(job.get("workers")):
        found["workers"] = "none named \u2014 only tracked extractors and the progress API name their workers"
    if progress_bar(job) is None:
        found["progress"] = "none reported" + ("" if finished else " yet")
    return found


# -- pieces of a page -------------------------------------------------------------------------

def job_url(job_id: str, base: str = "") -> str:
    """The path of a job's page under ``base``; the id is percent-encoded, so any id gives a working link."""
    return base + "/jobs/" + quote(job_id, safe="")


def status_view(status: Any) -> Dict[str, str]:
    """A status badge: its text and CSS class (``other`` for a status the fold does not know)."""
    name = clean(status)
    return Row(name=name or "?", css=name.lower() if name in _KNOWN_STATUS else "other")


def worker_label(worker: Any, hosts: Hosts) -> str:
    """``host:pid`` of a worker when its events or heartbeats tell them, else its id as given."""
    host, pid = hosts.get(worker, (None, None)) if type(worker) is str else (None, None)
    if type(host) is str and host and type(pid) is int and pid > 0:
        return "%s:%d" % (host, pid)
    return clean(worker)


def workers_view(workers: Any, hosts: Hosts) -> List[Dict[str, str]]:
    """Each worker's label and full id (for its tooltip)."""
    return [Row(label=worker_label(worker, hosts), id=clean(worker)) for worker in _listed(workers)]


def hosts_of(events: Iterable[Any]) -> Dict[str, Tuple[Optional[str], Optional[int]]]:
    """Each worker's host and pid, from the ``tracking`` of events (replies, log lines) or heartbeats."""
    found: Dict[str, Tuple[Optional[str], Optional[int]]] = {}
    for event in events:
        tracking = event.get("tracking") if type(event) is dict else None
        if type(tracking) is not dict:
            continue
        worker = tracking.get("worker") if "worker" in tracking else event.get("id")
        host, pid = tracking.get("host"), tracking.get("pid")
        if type(worker) is str and type(host) is str and type(pid) is int:
            found[worker] = (host, pid)
    return found


def progress_bar(job: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    """The job's latest progress numbers as a bar (with a total) or a label (without one); None when none were reported."""
    progress = job.get("progress")
    if type(progress) is not dict or not _is_number(progress.get("done")):
        return None
    done, total, unit = progress.get("done"), progress.get("total"), progress.get("unit")
    label = _figure(done)
    bar = Row(value=None, max=None, percent=None)
    if _is_number(total) and total > 0:
        share = min(1.0, max(0.0, done / total))
        label = "%s/%s" % (_figure(done), _figure(total))
        bar.update(value=_figure(min(max(done, 0), total)), max=_figure(total), percent=int(share * 100))
    if type(unit) is str and unit:
        label += " " + unit[:20]
    status = job.get("status")
    bar["label"] = label
    bar["css"] = "done" if status == "SUCCEEDED" else "failed" if status in ("FAILED", "LOST") else ""
    return bar


def resource_view(job: Mapping[str, Any]) -> Dict[str, Any]:
    """A job's resource: its name where the request had one (``resource_name``), and its id."""
    name = job.get("resource_name")
    return {"id": job.get("resource_id"), "name": name if type(name) is str and name else None}


def job_row(job: Mapping[str, Any], hosts: Hosts, base: str = "") -> Dict[str, Any]:
    """What the index shows of one job."""
    job_id = clean(job.get("job_id"))
    message = _PREFIX.sub("", clean(job.get("message")), count=1)
    if len(message) > MESSAGE_LIMIT:
        message = message[:MESSAGE_LIMIT - 1] + "\u2026"
    attempts = job.get("attempts")
    return Row(id=job_id, url=job_url(job_id, base), status=status_view(job.get("status")),
               flags=_flags(job), started=when(job.get("started")), elapsed=duration(job.get("elapsed")),
               user=clean(job.get("user")), attempts=attempts if type(attempts) is int else "",
               workers=workers_view(job.get("workers"), hosts), progress=progress_bar(job),
               message=message, why=Row(_UNKNOWN, **reasons(job)), running=job.get("status") not in TERMINAL)


def group(jobs: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Resource, then extractor, then jobs; groups in the order of their newest job."""
    grouped: Dict[Any, Dict[str, Any]] = {}
    for job in jobs:
        resource = job.get("resource_id")
        key = None if resource is None else clean(resource)
        entry = grouped.get(key)
        if entry is None:
            entry = grouped[key] = {"id": key, "name": None, "extractors": {}}
        entry["name"] = entry["name"] or resource_view(job)["name"]
        extractor = job.get("extractor")
        entry["extractors"].setdefault(None if extractor is None else clean(extractor), []).append(job)
    return [Row(id=entry["id"], name=entry["name"],
                extractors=[Row(name=name, jobs=members) for name, members in entry["extractors"].items()])
            for entry in grouped.values()]


def log_line(seq: int, event: Mapping[str, Any], hosts: Hosts) -> Dict[str, Any]:
    """One log line of the tap (``tracking.kind`` ``log``): time, level, attempt, worker, logger, text."""
    tracking = event.get("tracking") if type(event.get("tracking")) is dict else {}
    level = clean(event.get("level")).upper()
    level = _LEVEL_ALIASES.get(level, level)
    ms = to_ms(tracking.get("ts"))
    attempt = tracking.get("attempt")
    worker = tracking.get("worker")
    return {"seq": seq, "time": precise(ms_to_iso(ms)) if ms is not None else "",
            "level": level or "?", "css": level.lower() if level in LEVELS else "other",
            "attempt": attempt if type(attempt) is int else "", "worker": worker_label(worker, hosts),
            "worker_id": clean(worker), "logger": clean(event.get("logger")), "text": clean(event.get("message"))}


# -- pages and fragments ----------------------------------------------------------------------

def index_page(jobs: Sequence[Mapping[str, Any]], *, total: int, offset: int = 0, limit: int = 100,
               filters: Optional[Mapping[str, str]] = None, hosts: Hosts = NO_HOSTS, base: str = "",
               live: str = "") -> str:
    """The index: ``jobs`` (one page of them, newest first) grouped by resource, then extractor.

    ``total`` is how many jobs match ``filters`` (``status``, ``extractor``, ``user``,
    ``resource``); ``offset`` and ``limit`` say which slice ``jobs`` is, for the paging links;
    ``live`` is the address of the page's stream of updates.
    """
    filters = {key: value for key, value in (filters or {}).items() if value}
    return render("index.html", title="Jobs", base=base, live=live, refresh=0 if not live else 10,
                  filters=filters, limit=limit, states=STATUS_CHOICES,
                  **jobs_context(jobs, total=total, offset=offset, limit=limit, filters=filters, hosts=hosts, base=base))


def jobs_fragment(jobs: Sequence[Mapping[str, Any]], *, total: int, offset: int = 0, limit: int = 100,
                  filters: Optional[Mapping[str, str]] = None, hosts: Hosts = NO_HOSTS, base: str = "") -> str:
    """The part of the index that a live update replaces: the summary, the groups and the paging."""
    filters = {key: value for key, value in (filters or {}).items() if value}
    return render("_jobs.html", base=base, **jobs_context(jobs, total=total, offset=offset, limit=limit,
                                                          filters=filters, hosts=hosts, base=base))


def jobs_context(jobs: Sequence[Mapping[str, Any]], *, total: int, offset: int, limit: int,
                 filters: Mapping[str, str], hosts: Hosts, base: str) -> Dict[str, Any]:
    """What ``_jobs.html`` needs: the groups of job rows and the paging."""
    groups = group(jobs)
    for entry in groups:
        for extractor in entry["extractors"]:
            extractor["jobs"] = [job_row(job, hosts, base) for job in extractor["jobs"]]
    shown = len(jobs)
    return {"groups": groups, "shown": shown, "total": total, "offset": offset,
            "rest": max(0, total - offset - shown), "filtered": bool(filters),
            "newer": _page_url(base, filters, max(0, offset - limit), limit) if offset > 0 else None,
            "older": _page_url(base, filters, offset + limit, limit) if offset + shown < total else None,
            "running": any(job.get("status") not in TERMINAL for job in jobs)}


def job_page(job: Mapping[str, Any], series: Mapping[str, List[Point]], logs: Sequence[Dict[str, Any]] = (), *,
             hosts: Hosts = NO_HOSTS, base: str = "", live: str = "", level: str = "", more_logs: bool = False,
             title: str = "Job") -> str:
    """One job: its facts, the per-worker chart (inline SVG), its log lines, attempts and events.

    ``logs`` are :func:`log_line` dicts (the latest :data:`LOG_LIMIT`; ``more_logs`` says earlier
    ones were left out); ``level`` is the log filter's first choice; ``live`` the address of the
    page's stream of updates (empty: the page does not follow the job).
    """
    job_id = clean(job.get("job_id"))
    return render("job.html", title="%s %s" % (title, job_id), base=base, live=live,
                  refresh=0 if job.get("status") in TERMINAL or not live else 10,
                  logs=logs, more_logs=more_logs, level=level, levels=LEVEL_CHOICES,
                  log_limit=LOG_LIMIT, json_url=job_url(job_id, base) + "/logs.json",
                  **job_context(job, series, hosts=hosts, base=base, title=title))


def job_fragment(job: Mapping[str, Any], series: Mapping[str, List[Point]], *, hosts: Hosts = NO_HOSTS,
                 base: str = "", title: str = "Job") -> str:
    """The part of the job page that a live update replaces: everything but the log lines."""
    return render("_job.html", base=base, **job_context(job, series, hosts=hosts, base=base, title=title))


def job_context(job: Mapping[str, Any], series: Mapping[str, List[Point]], *, hosts: Hosts, base: str,
                title: str) -> Dict[str, Any]:
    """What ``_job.html`` needs: heading, facts, chart, attempts and events."""
    job_id = clean(job.get("job_id"))
    link = job_url(job_id, base)
    status = job.get("status")
    events = _event_list(job)
    shown = events[-EVENT_LIMIT:]
    hidden = max(0, job.get("event_count", len(events)) - len(shown))
    chart = render_svg(dict(series), title="progress of job %s" % job_id, span=job_span(job)) if series else None
    return {"heading": title, "job_id": job_id, "status": status_view(status), "facts": _facts(job, hosts, base),
            "chart": chart, "no_chart": "No progress was reported." if status in TERMINAL else "No progress reported yet.",
            "link": link,
            "attempts": _attempts(events), "events": [_event_row(event) for event in shown],
            "hidden_events": hidden, "event_ids": any(event.get("id") for event in events),
            "running": status not in TERMINAL}


def log_rows(logs: Sequence[Dict[str, Any]]) -> str:
    """Table rows of log lines, for a live update to append."""
    return render("_logs.html", logs=logs)


def error_page(code: int, message: str, base: str = "") -> str:
    """A short page for an HTTP error, with the reason."""
    return render("error.html", title="Error %d" % code, base=base, live="", refresh=0, code=code, message=message)


# -- helpers ----------------------------------------------------------------------------------

def _facts(job: Mapping[str, Any], hosts: Hosts, base: str) -> List[Dict[str, Any]]:
    """(label, value or None, reason when None, kind of value) for the job page's list of facts."""
    why = reasons(job)
    resource = resource_view(job)
    status = job.get("status")

    def fact(label: str, value: Any, key: str = "", kind: str = "text") -> Dict[str, Any]:
        present = value not in (None, "", [])
        return {"label": label, "value": value if present else None, "why": why.get(key, "not recorded"),
                "kind": kind}

    facts = [fact("Resource", resource if resource["id"] is not None else None, kind="resource"),
             fact("Extractor", clean(job.get("extractor"))),
             fact("Submitted by", clean(job.get("user")), "user"),
             fact("Attempts", job.get("attempts") if type(job.get("attempts")) is int else None),
             fact("Submitted", when(job.get("submitted")), "submitted"),
             fact("Started", when(job.get("started")), "started"),
             fact("Finished", when(job.get("finished")), "finished"),
             fact("Last update", when(job.get("last_update"))),
             fact("Elapsed", duration(job.get("elapsed")), "elapsed"),
             fact("Waiting in queue", duration(job.get("queue_wait")), "queue_wait"),
             fact("Last attempt ran", duration(job.get("run_time")), "run_time"),
             fact("Workers", workers_view(job.get("workers"), hosts), "workers", kind="workers"),
             fact("Progress", progress_bar(job), "progress", kind="progress"),
             fact("Message", clean(job.get("message")))]
    if status in ("SUBMITTED", "RESUBMITTED"):  # waiting: is a worker there to start it?
        flag = job.get("unclaimed") if type(job.get("unclaimed")) is bool else None
        answer = {True: "yes", False: "no", None: "unknown"}[flag]
        facts.insert(7, fact("Unclaimed", "%s \u2014 %s" % (answer, UNCLAIMED_WHY[flag])))
    successor = job.get("superseded_by")
    if successor:
        facts.append(fact("Superseded by", {"id": clean(successor), "url": job_url(clean(successor), base)},
                          kind="link"))
    return facts


def _attempts(events: List[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """One row per attempt: when it began and ended, how many events, its last state."""
    attempts: Dict[Any, List[Mapping[str, Any]]] = {}
    for event in events:
        attempts.setdefault(clean(event.get("attempt")), []).append(event)
    return [{"attempt": attempt, "first": when(members[0].get("ts")), "last": when(members[-1].get("ts")),
             "count": len(members), "status": status_view(members[-1].get("status"))}
            for attempt, members in attempts.items()]


def _event_row(event: Mapping[str, Any]) -> Dict[str, Any]:
    return {"time": precise(event.get("ts")), "attempt": clean(event.get("attempt")),
            "status": status_view(event.get("status")), "text": clean(event.get("text")), "id": clean(event.get("id"))}


def _flags(job: Mapping[str, Any]) -> List[Tuple[str, str]]:
    flags = []
    if job.get("synthetic"):
        flags.append(("legacy", "grouped from events without a job id"))
    if job.get("ambiguous"):
        flags.append(("ambiguous", "ran at the same time as another job on this resource and extractor: "
                                   "events may be mixed"))
    if job.get("stale"):
        flags.append(("stale", "unfinished and silent for a long time"))
    if job.get("unclaimed"):
        flags.append(("unclaimed", UNCLAIMED_WHY[True]))
    return flags


def _event_list(job: Mapping[str, Any]) -> List[Dict[str, Any]]:
    events = job.get("events")
    return [event for event in events if type(event) is dict] if type(events) is list else []


def _listed(value: Any) -> List[Any]:
    return value if type(value) is list else []


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and value == value and abs(value) != float("inf")


def _figure(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else "%g" % value


def _page_url(base: str, filters: Mapping[str, str], offset: int, limit: int) -> str:
    query = dict(filters)
    query["limit"] = str(limit)
    if offset:
        query["offset"] = str(offset)
    return base + "/?" + urlencode(query)
