"""The web page of a store as an ASGI app: ``make_app(store)``, served by ``pyclowder-jobs serve`` or
mounted in another ASGI app (Clowder v2: ``app.mount("/jobs", make_app(store))``).

Routes (relative to where the app is mounted; GET and HEAD unless said otherwise):

=============================  ===========================================================
``/``                          the index: resources, extractors, jobs; query parameters
                               ``status``, ``extractor``, ``user``, ``resource``, ``limit``
                               (1-1000, default 100) and ``offset``
``/live``                      the index's updates (Server-Sent Events), same parameters
``/jobs/<id>``                 a job's page: facts, chart, log lines (``level`` filters them)
``/jobs/<id>/live``            the job page's updates (Server-Sent Events)
``/jobs/<id>.json``            the job as JSON (``Job.to_dict()``)
``/jobs/<id>/logs.json``       the job's log lines as JSON, ``after`` a line's ``seq``
``/jobs/<id>/chart.svg``       each worker's progress as an SVG image
``/api/jobs.json``             the index's jobs as JSON: ``{total, offset, limit, jobs}``
``/metrics``                   the store's metrics for Prometheus (``docs/monitoring.rst``)
``/create``, ``/update``       the progress-service writes: POST, with the token
``/show``, ``/render``         the progress-service page (HTML) and chart (SVG)
=============================  ===========================================================

Writes need the app's token (``Authorization: Bearer TOKEN``, or a ``token`` form field);
requests from host names the app was not told about, and writes a browser sends from another
origin, are refused (see ``guard.py``).  Every bad parameter is answered with 400 and a message
naming it; nothing a client sends makes the app answer 500.  Requests run concurrently: each
borrows a connection to the store from a pool (SQLite in WAL mode: readers do not wait for each
other nor for the recorder).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import threading
import time
from contextlib import asynccontextmanager, contextmanager
from functools import partial, wraps
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, \
    Union
from urllib.parse import parse_qs, urlencode

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from ...server.status import STATES, TERMINAL
from ..monitoring import metrics
from ..store import UNCLAIMED, Store
from . import views
from .chart import CHART_EVENTS, job_span, progress_series, render_svg
from .guard import LOOPBACK, Guard
from .live import Changes, follow, message
from .progress_api import Conflict, NotFound, ParameterError, ProgressAPI

logger = logging.getLogger(__name__)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 10 ** 9
MAX_FILTER = 200
MAX_BODY = 16384
MAX_FIELDS = 20
#: Store connections kept for requests, and how many requests read the store at once.
READERS = 8
#: How many of a job's events ``/jobs/<id>/events.json`` gives at most at a time.
EVENTS_PAGE = 1000
#: Seconds for which the index reuses its count of all jobs, and the workers' hosts from heartbeats.
TOTAL_TTL = 10.0
HOSTS_TTL = 5.0
#: The environment variable that sets the token of ``pyclowder-jobs serve``.
TOKEN_VARIABLE = "PYCLOWDER_JOBS_TOKEN"

_SVG_POLICY = "default-src 'none'"
_FILTERS = ("status", "extractor", "user", "resource")
_INDEX_PARAMETERS = _FILTERS + ("limit", "offset")
_LEVELS = tuple(value for value, _ in views.LEVEL_CHOICES)
_JSON_PATHS = ("/create", "/update", "/render", "/live", "/api/jobs.json", "/metrics")

Params = Dict[str, List[str]]


class BadRequest(ValueError):
    """A request refused with 400 (or the status given), with a message for the client."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class StorePool:
    """Connections to one store for concurrent requests: each call borrows one that no other call uses.

    The store's read methods (and ``add_events``) are called on the pool as on a store.  At most
    ``size`` connections are kept; more are opened while more calls run at once, and closed after.
    """

    METHODS = frozenset(("jobs", "job", "job_history", "raw_events", "job_events", "last_seq", "heartbeats",
                         "counts", "all_events", "add_events", "metrics"))

    def __init__(self, store: Union[Store, str, "os.PathLike[str]"], size: int = READERS) -> None:
        if isinstance(store, Store):
            kind, self.path = type(store), store.path
        else:
            kind, self.path = Store, os.fspath(store)
        self._open = partial(kind, self.path, create=False)
        self.size = size
        self._idle: List[Store] = [self._open()]
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def borrow(self) -> Iterator[Store]:
        """A connection for this caller alone, given back afterwards."""
        with self._lock:
            store = self._idle.pop() if self._idle else None
        if store is None:
            store = self._open()
        try:
            yield store
        finally:
            with self._lock:
                keep = not self._closed and len(self._idle) < self.size
                if keep:
                    self._idle.append(store)
            if not keep:
                store.close()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name not in self.METHODS:
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self.borrow() as store:
                return getattr(store, name)(*args, **kwargs)
        call.__name__ = name
        return call

    def close(self) -> None:
        """Close the idle connections; those in use close when given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for store in idle:
            store.close()


def make_app(store: Union[Store, str, "os.PathLike[str]"], *, token: Optional[str] = None,
             allowed_hosts: Iterable[str] = LOOPBACK, trusted_origins: Iterable[str] = (),
             readers: int = READERS, clock: Callable[[], float] = time.time) -> Starlette:
    """The web page, JSON API and progress-service API of ``store`` (a Store, or the path of its file).

    ``token``: what writes must carry (default: a new random one, in ``app.state.token``).
    ``allowed_hosts``: the host names to answer to (``*``: any). ``trusted_origins``: origins
    (``https://clowder.example.org``) besides the app's own whose pages may write.  ``readers``:
    how many requests read the store at once.  The app opens its own connections to the store's
    file; ``app.state.site.close()`` closes them (done at the end of the app's lifespan).
    """
    site = Site(store, token=token or secrets.token_urlsafe(24), readers=readers, clock=clock)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            site.close()

    routes = [
        Route("/", site.index, methods=["GET"]),
        Route("/live", site.index_live, methods=["GET"]),
        Route("/api/jobs.json", site.jobs_json, methods=["GET"]),
        Route("/metrics", site.metrics, methods=["GET"]),
        Route("/jobs/{rest:path}", site.job, methods=["GET"]),
        Route("/create", site.create, methods=["POST"]),
        Route("/update", site.update, methods=["POST"]),
        Route("/show", site.show, methods=["GET"]),
        Route("/render", site.render, methods=["GET"]),
        Mount("/static", app=StaticFiles(packages=[("pyclowder_jobs.tools.web", "static")]), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: site.http_error},
                    middleware=[Middleware(Guard, allowed_hosts=allowed_hosts, trusted_origins=trusted_origins,
                                           refuse=site.refuse)])
    app.state.token = site.token
    app.state.site = site
    return app


def _answers(handler: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
    """A route whose errors become answers: 4xx with a message, an unexpected one a logged 500."""
    @wraps(handler)
    async def answer(self: "Site", request: Request) -> Response:
        try:
            return await handler(self, request)
        except BadRequest as error:
            return _error(request.scope, error.status, str(error))
        except ParameterError as error:
            return _error(request.scope, 400, "bad parameter %s" % error, error.parameter)
        except NotFound as error:
            return _error(request.scope, 404, str(error))
        except Conflict as error:
            return _error(request.scope, 409, str(error))
        except Exception:  # pylint: disable=broad-except
            logger.exception("error answering %s %s", request.method, request.url.path[:200])
            return _error(request.scope, 500, "internal error (see the server's log)")
    return answer


class Site:
    """The routes of one app, on a pool of connections to its store."""

    def __init__(self, store: Union[Store, str, "os.PathLike[str]"], *, token: str, readers: int,
                 clock: Callable[[], float]) -> None:
        self.pool = StorePool(store, readers)
        self.token = token
        self.api = ProgressAPI(self.pool, clock=clock)
        self.readers = readers
        self.stopping = False
        self.changes = Changes(partial(self.run, self.pool.last_seq))
        self._limiter: Optional[anyio.CapacityLimiter] = None
        self._lock = threading.Lock()
        self._counted: Optional[Tuple[float, int]] = None
        self._hosts: Tuple[float, Dict[str, Tuple[Optional[str], Optional[int]]]] = (-HOSTS_TTL, {})
        self.registry = metrics.registry(metrics.StoreCollector(self.pool.metrics))

    async def run(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``function(*args, **kwargs)`` in a worker thread, at most ``readers`` at once."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.readers)
        return await anyio.to_thread.run_sync(partial(function, *args, **kwargs), limiter=self._limiter)

    def stop(self) -> None:
        """End the live streams (at their next tick), so that a server can stop."""
        self.stopping = True

    def close(self) -> None:
        """End the live streams and close the connections to the store."""
        self.stop()
        self.pool.close()

    # -- the index ---------------------------------------------------------------------------

    @_answers
    async def index(self, request: Request) -> Response:
        filters, limit, offset = _index_query(_params(request))
        return HTMLResponse(await self.run(self._index_html, filters, limit, offset, _base(request)))

    def _index_html(self, filters: Dict[str, str], limit: int, offset: int, base: str) -> str:
        after = self.pool.last_seq()
        total, jobs = self._select(filters, limit, offset)
        live = "%s/live?%s" % (base, urlencode(dict(filters, limit=limit, offset=offset, after=after)))
        return views.index_page(jobs, total=total, offset=offset, limit=limit, filters=filters,
                                hosts=self.hosts(), base=base, live=live)

    @_answers
    async def index_live(self, request: Request) -> Response:
        params = _params(request)
        after = _after(request, params)
        filters, limit, offset = _index_query(params)
        base = _base(request)

        def render() -> Tuple[str, bool]:
            total, jobs = self._select(filters, limit, offset)
            return (views.jobs_fragment(jobs, total=total, offset=offset, limit=limit, filters=filters,
                                        hosts=self.hosts(), base=base),
                    any(job.get("status") not in TERMINAL for job in jobs))

        async def update(seen: int, latest: int, timed: bool) -> Tuple[List[str], bool, int]:
            html, running = await self.run(render)
            return [message("jobs", {"html": html}, latest)], running, latest
        return _stream(follow(self.changes, update, after, stopping=lambda: self.stopping))

    @_answers
    async def jobs_json(self, request: Request) -> Response:
        filters, limit, offset = _index_query(_params(request))
        total, jobs = await self.run(self._select, filters, limit, offset)
        return _json(200, {"total": total, "offset": offset, "limit": limit, "jobs": jobs})

    @_answers
    async def metrics(self, request: Request) -> Response:
        """The store's metrics, computed now, in the format the scraper asks for."""
        _no_parameters(_params(request))
        body, content_type = await self.run(metrics.exposition, self.registry, request.headers.get("accept"))
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    def _select(self, filters: Mapping[str, str], limit: int, offset: int) -> Tuple[int, List[Dict[str, Any]]]:
        """How many jobs match, and the page of them (newest first).

        Without filters only the page is read from the store, and the total is counted at most
        every ``TOTAL_TTL`` seconds (counting reads the whole store), so the default page stays
        fast with any number of jobs.  With a filter the matching jobs are read once, and counted.
        """
        if filters:
            every = self.pool.jobs(**filters)
            return len(every), every[offset:offset + limit]
        page = self.pool.jobs(limit=offset + limit)[offset:]
        if len(page) < limit:
            return offset + len(page), page
        return max(self._count_all(), offset + len(page)), page

    def _count_all(self) -> int:
        now = time.monotonic()
        with self._lock:
            if self._counted is not None and now - self._counted[0] < TOTAL_TTL:
                return self._counted[1]
        total = self.pool.counts()["jobs"]
        with self._lock:
            self._counted = (now, total)
        return total

    def hosts(self) -> Dict[str, Tuple[Optional[str], Optional[int]]]:
        """Each worker's host and pid from its latest heartbeat, read at most every ``HOSTS_TTL`` seconds."""
        now = time.monotonic()
        with self._lock:
            if now - self._hosts[0] < HOSTS_TTL:
                return self._hosts[1]
        found = views.hosts_of(self.pool.heartbeats())
        with self._lock:
            self._hosts = (now, found)
        return found

    # -- a job -------------------------------------------------------------------------------

    @_answers
    async def job(self, request: Request) -> Response:
        rest = request.path_params["rest"]
        params = _params(request)
        for suffix, view in (("/chart.svg", self._chart), ("/logs.json", self._logs_json),
                             ("/events.json", self._events_json), ("/live", self._job_live)):
            if rest.endswith(suffix):
                return await view(request, _job_id(rest[:-len(suffix)], rest), params)
        if rest.endswith(".json") and await self.run(self.pool.job, rest) is None:
            _no_parameters(params)
            job = await self.run(self.pool.job, _job_id(rest[:-len(".json")], rest))
            if job is None:
                raise NotFound("no job %s" % rest[:-len(".json")])
            return _json(200, job)
        return await self._page(request, _job_id(rest, rest), params)

    async def _page(self, request: Request, job_id: str, params: Params, *, title: str = "Job",
                    gap: Optional[int] = None) -> Response:
        values = _single(params, ("level",) if gap is None else ("jobid", "interval"))
        level = values.get("level", "").lower()
        if level not in _LEVELS:
            raise ParameterError("level", "must be one of %s" % ", ".join(value for value in _LEVELS if value))
        base = _base(request)

        def page() -> str:
            after = self.pool.last_seq()
            job, series, hosts = self._job_parts(job_id)
            found = self.pool.job_events(job_id, kinds=("log",), limit=views.LOG_LIMIT + 1, newest=True)
            hosts.update(views.hosts_of(event for _, _, event in found))
            logs = [views.log_line(seq, event, hosts) for seq, _, event in found[-views.LOG_LIMIT:]]
            query = {"after": after} if gap is None else {"after": after, "interval": gap}
            return views.job_page(job, series, logs, hosts=hosts, base=base, level=level, title=title,
                                  more_logs=len(found) > views.LOG_LIMIT,
                                  live="%s/live?%s" % (views.job_url(job_id, base), urlencode(query)))
        return HTMLResponse(await self.run(page))

    def _job_parts(self, job_id: str) -> Tuple[Dict[str, Any], Dict[str, Any], Dict[str, Any]]:
        """The job, each worker's progress, and the workers' hosts (from heartbeats and the job's events)."""
        job = self.pool.job(job_id)
        if job is None:
            raise NotFound("no job %s" % job_id)
        job["events"] = self.pool.job_history(job_id, limit=views.EVENT_LIMIT, newest=True)
        found = self.pool.job_events(job_id, kinds=("status", "document"), limit=CHART_EVENTS, newest=True)
        events = [event for _, _, event in found]
        hosts = dict(self.hosts())
        hosts.update(views.hosts_of(events))
        return job, progress_series(events), hosts

    async def _chart(self, request: Request, job_id: str, params: Params) -> Response:
        _no_parameters(params)
        job, series, _ = await self.run(self._job_parts, job_id)
        return _svg(render_svg(series, title="progress of job %s" % job_id, span=job_span(job)))

    async def _events_json(self, request: Request, job_id: str, params: Params) -> Response:
        values = _single(params, ("offset", "limit"))
        offset = _whole(values, "offset", 0, MAX_OFFSET, 0)
        limit = _whole(values, "limit", 1, EVENTS_PAGE, EVENTS_PAGE)

        def page() -> Dict[str, Any]:
            job = self.pool.job(job_id)
            if job is None:
                raise NotFound("no job %s" % job_id)
            return {"job_id": job_id, "total": job["event_count"], "offset": offset, "limit": limit,
                    "events": self.pool.job_history(job_id, offset=offset, limit=limit)}
        return _json(200, await self.run(page))

    async def _logs_json(self, request: Request, job_id: str, params: Params) -> Response:
        values = _single(params, ("after",))
        after = _whole(values, "after", 0, 2 ** 63 - 1, 0)

        def lines() -> Dict[str, Any]:
            if self.pool.job(job_id) is None:
                raise NotFound("no job %s" % job_id)
            found = self.pool.job_events(job_id, after=after, kinds=("log",), limit=views.LOG_LIMIT + 1)
            return {"job_id": job_id, "more": len(found) > views.LOG_LIMIT,
                    "lines": [_log_json(seq, event) for seq, _, event in found[:views.LOG_LIMIT]]}
        return _json(200, await self.run(lines))

    async def _job_live(self, request: Request, job_id: str, params: Params) -> Response:
        after = _after(request, params)
        values = _single(params, ("interval",))
        gap = _whole(values, "interval", 1, 3600, 1)
        base = _base(request)
        if await self.run(self.pool.job, job_id) is None:
            raise NotFound("no job %s" % job_id)

        def changes(seen: int, timed: bool) -> Tuple[List[str], bool, int]:
            found = self.pool.job_events(job_id, after=seen, kinds=("log",), limit=views.LOG_LIMIT, newest=True)
            others = self.pool.job_events(job_id, after=seen, kinds=("status", "document"), limit=1, newest=True)
            covered = max([seq for seq, _, _ in found + others] + [seen])
            messages = []
            hosts = dict(self.hosts())
            if found:
                hosts.update(views.hosts_of(event for _, _, event in found))
                rows = views.log_rows([views.log_line(seq, event, hosts) for seq, _, event in found])
                messages.append(message("logs", {"html": rows}, covered))
            job, series, hosts = self._job_parts(job_id)
            if others or timed:
                messages.append(message("job", {"html": views.job_fragment(job, series, hosts=hosts, base=base)},
                                        covered))
            return messages, job.get("status") not in TERMINAL, covered

        async def update(seen: int, latest: int, timed: bool) -> Tuple[List[str], bool, int]:
            return await self.run(changes, seen, timed)
        return _stream(follow(self.changes, update, after, gap=gap, stopping=lambda: self.stopping))

    # -- the progress service ----------------------------------------------------------------

    @_answers
    async def create(self, request: Request) -> Response:
        return await self._write("create", request)

    @_answers
    async def update(self, request: Request) -> Response:
        return await self._write("update", request)

    async def _write(self, call: str, request: Request) -> Response:
        """A progress-service write: parameters from the query and the form body, then the token."""
        body = await _body(request)
        params = _params(request)
        form = _parse(body)
        given = form.pop("token", [])
        for name, values in form.items():
            params.setdefault(name, []).extend(values)
        self._authorize(request, given)
        client = request.client.host if request.client else ""
        return _json(200, await self.run(getattr(self.api, call), params, client))

    def _authorize(self, request: Request, given: List[str]) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            given = given + [value.strip()]
        if len(given) != 1:
            raise BadRequest("this call writes: send the server's token once, as the header "
                             "'Authorization: Bearer TOKEN' (pyclowder-jobs serve prints it at start, or takes "
                             "it from $%s)" % TOKEN_VARIABLE, 401)
        if not hmac.compare_digest(given[0].encode("utf-8", "replace"), self.token.encode("utf-8")):
            raise BadRequest("the token is not this server's", 403)

    @_answers
    async def show(self, request: Request) -> Response:
        params = _params(request)
        _, _, interval = await self.run(self.api.view, "show", params)
        job_id = params["jobid"][0]
        return await self._page(request, job_id, params, title="Progress of job", gap=interval)

    @_answers
    async def render(self, request: Request) -> Response:
        return _svg(await self.run(self.api.render, _params(request)))

    # -- errors ------------------------------------------------------------------------------

    async def http_error(self, request: Request, error: Exception) -> Response:
        """Starlette's own errors (no such route, a method a route does not take) as the app's errors."""
        status = getattr(error, "status_code", 500)
        path = _route_path(request.scope)
        if status == 405 and path in ("/create", "/update"):
            text = "%s writes: send it as a POST with the token" % path[1:]
        elif status == 405:
            text = "%s takes GET" % path[:200]
        elif status == 404:
            text = "no such page: %s" % path[:200]
        else:
            text = str(getattr(error, "detail", "")) or "error"
        return _error(request.scope, status, text)

    def refuse(self, scope: Scope, status: int, text: str) -> Response:
        """The answer of a request the guard refuses."""
        return _error(scope, status, text)


# -- parameters ---------------------------------------------------------------------------------

def _params(request: Request) -> Params:
    try:
        return _parse(request.scope.get("query_string", b"").decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("the query is not UTF-8 text") from None


def _parse(query: str) -> Params:
    try:
        return parse_qs(query, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("the query is not UTF-8 text") from None
    except ValueError:
        raise BadRequest("more than %d parameters" % MAX_FIELDS) from None


async def _body(request: Request) -> str:
    """The form body of a write: at most MAX_BODY bytes of UTF-8, with a Content-Length, URL-encoded."""
    if "chunked" in request.headers.get("transfer-encoding", "").lower():
        raise BadRequest("send the form with a Content-Length, not in chunks", 411)
    length = request.headers.get("content-length", "0")
    if not length.isdigit() or int(length) > MAX_BODY:
        raise BadRequest("the body must have a Content-Length of at most %d bytes" % MAX_BODY, 413)
    kind = request.headers.get("content-type", "application/x-www-form-urlencoded").split(";")[0].strip().lower()
    if int(length) and kind != "application/x-www-form-urlencoded":
        raise BadRequest("send the parameters URL-encoded (curl -d, not -F), not as %s" % kind[:100], 415)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise BadRequest("the body must have a Content-Length of at most %d bytes" % MAX_BODY, 413)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the request body is not UTF-8 text") from None


def _single(params: Params, allowed: Tuple[str, ...]) -> Dict[str, str]:
    values = {}
    for name, given in params.items():
        if name not in allowed:
            raise ParameterError(name[:40], "unknown parameter (this page takes %s)" % (", ".join(allowed) or "none"))
        if len(given) != 1:
            raise ParameterError(name, "given %d times, expected once" % len(given))
        values[name] = given[0]
    return values


def _no_parameters(params: Params) -> None:
    if params:
        raise BadRequest("this page takes no parameters")


def _index_query(params: Params) -> Tuple[Dict[str, str], int, int]:
    """The filters, limit and offset of ``/``, ``/live`` and ``/api/jobs.json``, checked."""
    values = _single(params, _INDEX_PARAMETERS)
    filters = {}
    for name in _FILTERS:
        value = values.get(name, "")
        if len(value) > MAX_FILTER:
            raise ParameterError(name, "is longer than %d characters" % MAX_FILTER)
        if value:
            filters[name] = value
    if "status" in filters and filters["status"] not in STATES + (UNCLAIMED,):
        raise ParameterError("status", "must be one of %s" % ", ".join(STATES + (UNCLAIMED,)))
    limit = _whole(values, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
    offset = _whole(values, "offset", 0, MAX_OFFSET, 0)
    return filters, limit, offset


def _after(request: Request, params: Params) -> int:
    """Where a stream starts: the browser's ``Last-Event-ID`` when it reconnects, else ``after``."""
    given = params.pop("after", [])
    if len(given) > 1:
        raise ParameterError("after", "given %d times, expected once" % len(given))
    resumed = request.headers.get("last-event-id")
    if resumed is not None and resumed.isascii() and resumed.isdigit() and len(resumed) < 19:
        return int(resumed)
    return _whole({"after": given[0]} if given else {}, "after", 0, 2 ** 63 - 1, 0)


def _whole(values: Mapping[str, str], name: str, lowest: int, highest: int, default: int) -> int:
    value = values.get(name, "")
    if value == "":
        return default
    if not value.isascii() or not value.isdigit() or len(value) > 19 or not lowest <= int(value) <= highest:
        raise ParameterError(name, "must be a whole number from %d to %d" % (lowest, highest))
    return int(value)


def _job_id(job_id: str, rest: str) -> str:
    if not job_id or "/" in job_id or len(job_id) > 200:
        raise BadRequest("no such page: /jobs/%s" % rest[:200], 404)
    return job_id


def _log_json(seq: int, event: Mapping[str, Any]) -> Dict[str, Any]:
    tracking = event.get("tracking") if type(event.get("tracking")) is dict else {}
    return {"seq": seq, "ts": tracking.get("ts"), "level": event.get("level"), "logger": event.get("logger"),
            "message": event.get("message"), "attempt": tracking.get("attempt"), "worker": tracking.get("worker"),
            "host": tracking.get("host"), "pid": tracking.get("pid")}


# -- answers ----------------------------------------------------------------------------------

def _base(request: Request) -> str:
    """Where the app is mounted (``/jobs`` in Clowder v2), for its links; empty at the root."""
    return request.scope.get("root_path", "").rstrip("/")


def _route_path(scope: Scope) -> str:
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _stream(events: AsyncIterator[str]) -> Response:
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _svg(body: str) -> Response:
    return Response(body, media_type="image/svg+xml; charset=utf-8", headers={"Content-Security-Policy": _SVG_POLICY})


def _json(status: int, data: Any) -> Response:
    return Response(json.dumps(data, ensure_ascii=True, allow_nan=False) + "\n", status_code=status,
                    media_type="application/json")


def _error(scope: Scope, status: int, text: str, parameter: Optional[str] = None) -> Response:
    """Errors of the JSON and API routes come as JSON, those of the pages as an HTML page."""
    path = _route_path(scope)
    if path in _JSON_PATHS or path.endswith((".json", ".svg", "/live")):
        body: Dict[str, Any] = {"ok": False, "error": text}
        if parameter is not None:
            body["parameter"] = parameter
        response = _json(status, body)
    else:
        response = HTMLResponse(views.error_page(status, text, scope.get("root_path", "").rstrip("/")), status)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response
