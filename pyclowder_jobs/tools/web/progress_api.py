"""The progress-service HTTP API, so that any program (a shell script with curl) can report jobs.

Four calls, each with its parameters in the query string or a form-encoded POST body:

``create``  ``jobid`` (required), ``desc`` (what the job is; it becomes the job's extractor name,
            default ``progress-service``), ``maxage`` (seconds: once the job has had no update
            for longer, ``show`` and ``render`` answer 404; the index keeps listing it).
``update``  ``jobid``, ``workid`` (the worker), ``current`` and ``total`` (numbers, total > 0),
            ``ok`` (``1`` or ``0``; ``0`` draws that worker's bar red), ``desc`` (a note).
``show``    ``jobid``, ``interval`` (seconds between refreshes, default 5): an HTML page.
``render``  ``jobid``: the per-worker chart as SVG.

The calls keep no state of their own: ``create`` and ``update`` become events in the store, the
same status replies a tracked pyClowder extractor sends (``docs/wire.rst``), so the fold makes jobs of
them and the index shows them next to extractor jobs.  ``create`` is a ``SUBMITTED`` status on
the resource ``progress:<jobid>``; ``update`` is a ``StatusMessage.processing`` reply whose
``tracking`` has ``kind: "progress"``, ``worker`` = workid, ``progress: {done, total}`` and
``ok``.  An update for a job nobody created creates it first.  A job id that already belongs to
another kind of job (an extractor's) is refused with 409, so a script cannot write into it.

Every parameter is checked; a bad one raises :class:`ParameterError`, which names it.
"""
import re
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ...protocol import times, tracking
from ...protocol.times import to_ms
from .chart import CHART_EVENTS, Point, job_span, progress_series, render_svg

#: The extractor name of progress-service jobs created without a ``desc``.
DEFAULT_EXTRACTOR = "progress-service"
#: Resources of progress-service jobs are named ``progress:<jobid>``.
RESOURCE_PREFIX = "progress:"
#: ``tracking.source`` of the events this API writes.
SOURCE = "progress-api"
DEFAULT_INTERVAL = 5
MAX_INTERVAL = 3600
MAX_MAXAGE = 10 * 365 * 86400
MAX_DESC = 200
MAX_NUMBER = 10 ** 15

#: The parameters each call takes; any other name is refused (it is most likely a typo).
PARAMETERS = {
    "create": ("jobid", "desc", "maxage"),
    "update": ("jobid", "workid", "current", "total", "ok", "desc"),
    "show": ("jobid", "interval"),
    "render": ("jobid",),
}

_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_NUMBER = re.compile(r"[0-9]{1,16}(\.[0-9]{1,9})?")
_INTEGER = re.compile(r"[0-9]{1,10}")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}

Params = Mapping[str, List[str]]


class ParameterError(ValueError):
    """A missing, repeated, unknown or malformed parameter: HTTP 400."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__("%s: %s" % (parameter, message))
        self.parameter = parameter


class Conflict(Exception):
    """The job id belongs to a job that is not a progress-service job: HTTP 409."""


class NotFound(LookupError):
    """No such job, or it is older than its ``maxage``: HTTP 404."""


class ProgressAPI:
    """The four calls on top of a store (any object with ``add_events``, ``job``, ``job_events``).

    ``clock`` gives the current time in seconds (tests pass a fixed one); ``lock`` serialises the
    look-up-then-write of ``create`` and ``update`` with other writers of the same store.
    """

    def __init__(self, store: Any, *, clock: Callable[[], float] = time.time,
                 lock: Optional[threading.Lock] = None) -> None:
        self.store = store
        self.clock = clock
        self.lock = lock or threading.Lock()
        self._seq = 0

    def create(self, params: Params, client: str = "") -> Dict[str, Any]:
        """Create a job; creating an existing progress-service job again changes nothing."""
        values = _check("create", params)
        job_id = _job_id(values)
        desc = _text(values, "desc")
        maxage = _integer(values, "maxage", 1, MAX_MAXAGE)
        with self.lock:
            job = self.store.job(job_id)
            if job is not None:
                _own(job, job_id)
                return {"ok": True, "jobid": job_id, "created": False}
            self.store.add_events([self._created(job_id, desc, maxage, client)], source=SOURCE)
        return {"ok": True, "jobid": job_id, "created": True}

    def update(self, params: Params, client: str = "") -> Dict[str, Any]:
        """Record one worker's progress on a job (creating the job if needed)."""
        values = _check("update", params)
        job_id = _job_id(values)
        worker = _required(values, "workid")
        if not _ID.fullmatch(worker):
            raise ParameterError("workid", "must be 1 to 64 of the characters A-Z a-z 0-9 . _ : -")
        current = _number(values, "current")
        total = _number(values, "total")
        if total <= 0:
            raise ParameterError("total", "must be greater than 0")
        ok = _flag(values, "ok")
        desc = _text(values, "desc")
        text = "%s: %s" % (worker, tracking.progress_text(current, total))
        if desc:
            text += " \u2013 " + desc
        if not ok:
            text += " (failed)"
        with self.lock:
            job = self.store.job(job_id)
            events = []
            if job is None:
                events.append(self._created(job_id, None, None, client))
                extractor = DEFAULT_EXTRACTOR
            else:
                _own(job, job_id)
                extractor = job.get("extractor") or DEFAULT_EXTRACTOR
            now = self.clock()
            template = tracking.reply_tracking_template(worker, client, 0, 1, False)
            fields = tracking.reply_tracking(template, self._next_seq(now), now, tracking.PROGRESS,
                                             {"done": current, "total": total, "unit": None})
            fields["ok"] = ok
            fields["source"] = SOURCE
            events.append(tracking.status_reply(RESOURCE_PREFIX + job_id, extractor, job_id,
                                                "StatusMessage.processing", text, now, fields))
            self.store.add_events(events, source=SOURCE)
        return {"ok": True, "jobid": job_id, "workid": worker, "progress": tracking.progress_text(current, total),
                "failed": not ok}

    def view(self, call: str, params: Params) -> Tuple[Dict[str, Any], Dict[str, List[Point]], int]:
        """What ``show`` and ``render`` draw: the job, each worker's progress, the refresh interval.

        Raises :class:`NotFound` for an unknown job and for one older than its ``maxage``.
        """
        values = _check(call, params)
        job_id = _job_id(values)
        interval = DEFAULT_INTERVAL
        if call == "show":
            found = _integer(values, "interval", 1, MAX_INTERVAL)
            interval = DEFAULT_INTERVAL if found is None else found
        job = self.store.job(job_id)
        if job is None:
            raise NotFound("no job %s" % job_id)
        first = self.store.job_events(job_id, limit=1)
        maxage = _maxage([event for _, _, event in first])
        last = to_ms(job.get("last_update"))
        if maxage is not None and last is not None:
            silent = self.clock() - last / 1000.0
            if silent > maxage:
                raise NotFound("job %s expired: no update for %d s, more than its maxage of %d s"
                               % (job_id, silent, maxage))
        latest = self.store.job_events(job_id, kinds=("status", "document"), limit=CHART_EVENTS, newest=True)
        return job, progress_series(event for _, _, event in latest), interval

    def render(self, params: Params) -> str:
        """The ``render`` call: the job's chart as an SVG document."""
        job, series, _ = self.view("render", params)
        return render_svg(series, title="progress of job %s" % job["job_id"], span=job_span(job))

    def _created(self, job_id: str, desc: Optional[str], maxage: Optional[int], client: str) -> Dict[str, Any]:
        now = self.clock()
        fields: Dict[str, Any] = {"v": tracking.TRACKING_VERSION, "host": client, "seq": self._next_seq(now),
                                  "ts": times.utc_millis(now), "attempt": 1, "redelivered": False,
                                  "kind": tracking.STATUS, "source": SOURCE}
        if maxage is not None:
            fields["maxage"] = maxage
        return {"file_id": RESOURCE_PREFIX + job_id, "extractor_id": desc or DEFAULT_EXTRACTOR,
                "job_id": job_id, "status": "SUBMITTED", "start": times.utc_seconds(now),
                "message_type": "SUBMITTED", "message": desc or "created through the progress API",
                "tracking": fields}

    def _next_seq(self, now: float) -> int:
        """Increasing across calls and restarts: microseconds, bumped past the previous value."""
        self._seq = max(self._seq + 1, int(now * 1000000))
        return self._seq


def _own(job: Mapping[str, Any], job_id: str) -> None:
    if job.get("resource_id") != RESOURCE_PREFIX + job_id:
        raise Conflict("job %s exists and is not a progress-service job (its resource is %s)"
                       % (job_id, job.get("resource_id")))


def _maxage(raw_events: List[Any]) -> Optional[int]:
    """The ``maxage`` of the job's create call (its first event), if it had one."""
    found = None
    for event in raw_events:
        fields = tracking.tracking_of(event) if type(event) is dict else None
        if fields is not None and fields.get("source") == SOURCE and fields.get("kind") == tracking.STATUS:
            maxage = fields.get("maxage")
            found = maxage if type(maxage) is int and maxage > 0 else None
    return found


def _check(call: str, params: Params) -> Dict[str, str]:
    """One value per known parameter; unknown and repeated parameters are refused."""
    allowed = PARAMETERS[call]
    values = {}
    for name, given in params.items():
        if name not in allowed:
            raise ParameterError(name[:40], "unknown parameter for %s (it takes %s)" % (call, ", ".join(allowed)))
        if len(given) != 1:
            raise ParameterError(name, "given %d times, expected once" % len(given))
        values[name] = given[0]
    return values


def _required(values: Mapping[str, str], name: str) -> str:
    value = values.get(name)
    if value is None or value == "":
        raise ParameterError(name, "is required")
    return value


def _job_id(values: Mapping[str, str]) -> str:
    value = _required(values, "jobid")
    if not _ID.fullmatch(value):
        raise ParameterError("jobid", "must be 1 to 64 of the characters A-Z a-z 0-9 . _ : -")
    return value


def _text(values: Mapping[str, str], name: str) -> Optional[str]:
    value = values.get(name)
    if value is None or value == "":
        return None
    if len(value) > MAX_DESC:
        raise ParameterError(name, "is longer than %d characters" % MAX_DESC)
    if _CONTROL.search(value):
        raise ParameterError(name, "contains control characters")
    return value


def _number(values: Mapping[str, str], name: str) -> float:
    value = _required(values, name)
    if not _NUMBER.fullmatch(value):
        raise ParameterError(name, "must be a number of at least 0 written with digits and an optional "
                             "decimal point, such as 3 or 2.5")
    number = float(value)
    if number > MAX_NUMBER:
        raise ParameterError(name, "must be at most %d" % MAX_NUMBER)
    return int(number) if number.is_integer() else number


def _integer(values: Mapping[str, str], name: str, lowest: int, highest: int) -> Optional[int]:
    value = values.get(name)
    if value is None or value == "":
        return None
    if not _INTEGER.fullmatch(value) or not lowest <= int(value) <= highest:
        raise ParameterError(name, "must be a whole number of seconds from %d to %d" % (lowest, highest))
    return int(value)


def _flag(values: Mapping[str, str], name: str) -> bool:
    value = values.get(name)
    if value is None or value == "":
        return True
    found = _FLAGS.get(value.lower())
    if found is None:
        raise ParameterError(name, "must be 1 or 0")
    return found
