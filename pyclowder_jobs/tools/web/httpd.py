"""``pyclowder-jobs serve``: the web page and the progress-service API over HTTP (standard library).

Routes (all GET, HEAD too; the progress-service calls also take POST with a form body):

==========================  ==========================================================
``/``                       the index: resources, extractors, jobs; query parameters
                            ``status``, ``extractor``, ``user``, ``resource``, ``limit``
                            (1-1000, default 100) and ``offset``
``/jobs/<id>``              a job's page (refreshes itself while the job runs)
``/jobs/<id>.json``         the job as JSON (``Job.to_dict()``)
``/jobs/<id>/chart.svg``    each worker's progress as an SVG image
``/api/jobs.json``          the index's jobs as JSON: ``{total, offset, limit, jobs}``
``/create``, ``/update``    the progress-service calls (JSON replies), see ``progress_api``
``/show``, ``/render``      the progress-service page (HTML) and chart (SVG)
==========================  ==========================================================

Every bad parameter is answered with 400 and a message naming it; nothing a client sends makes
the server answer 500.  It binds to 127.0.0.1 unless told otherwise: it has no authentication.

``pyclowder-jobs serve`` (``cli.py``) takes its ``--db`` option and :func:`add_options`, and
calls :func:`run`; ``python -m pyclowder_jobs.tools.web serve --db FILE`` runs the same on its own.
"""
import argparse
import json
import logging
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import parse_qs, unquote, urlsplit

from ...server.status import STATES
from . import pages
from .chart import job_span, progress_series, render_svg
from .progress_api import Conflict, NotFound, ParameterError, ProgressAPI

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 10 ** 9
MAX_FILTER = 200
MAX_TARGET = 4096
MAX_BODY = 16384
MAX_FIELDS = 20
#: Seconds between refreshes of a job page.
JOB_REFRESH = 5
#: Seconds for which the index reuses its count of all jobs.
TOTAL_TTL = 10.0

_HTML_POLICY = ("default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; "
                "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
_SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
_FILTERS = ("status", "extractor", "user", "resource")
_INDEX_PARAMETERS = _FILTERS + ("limit", "offset")


class BadRequest(ValueError):
    """A request the server refuses with 400 (or the status given), with a message for the client."""

    def __init__(self, message: str, status: int = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(message)
        self.status = status


class SerialStore:
    """A store whose methods run one at a time, so that request threads can share one store."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._store, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)
        return call


class Reply:
    """What a route answers: status, content type, body, and extra headers."""

    __slots__ = ("status", "content_type", "body", "headers")

    def __init__(self, status: int, content_type: str, body: str,
                 headers: Optional[Dict[str, str]] = None) -> None:
        self.status = status
        self.content_type = content_type
        self.body = body.encode("utf-8")
        self.headers = headers or {}


class WebApp:
    """The routes, independent of the HTTP plumbing: ``handle(method, target, body)`` gives a Reply."""

    def __init__(self, store: Any) -> None:
        self.store = SerialStore(store)
        self.api = ProgressAPI(self.store)
        self._count_lock = threading.Lock()
        self._counted: Optional[Tuple[float, int]] = None

    def handle(self, method: str, target: str, body: bytes = b"", client: str = "") -> Reply:
        """Answer one request; any error becomes a 4xx reply, an unexpected one a logged 500."""
        path = ""
        try:
            if len(target) > MAX_TARGET:
                raise BadRequest("the request target is longer than %d characters" % MAX_TARGET,
                                 HTTPStatus.REQUEST_URI_TOO_LONG)
            parts = urlsplit(target)
            path = parts.path
            params = _parse(parts.query)
            if method == "POST":
                if path not in ("/create", "/update"):
                    raise BadRequest("POST is only for /create and /update", HTTPStatus.METHOD_NOT_ALLOWED)
                for name, values in _parse(_text(body)).items():
                    params.setdefault(name, []).extend(values)
            return self._route(path, params, client)
        except BadRequest as error:
            return _error(path, error.status, str(error))
        except ParameterError as error:
            return _error(path, HTTPStatus.BAD_REQUEST, "bad parameter %s" % error, error.parameter)
        except NotFound as error:
            return _error(path, HTTPStatus.NOT_FOUND, str(error))
        except Conflict as error:
            return _error(path, HTTPStatus.CONFLICT, str(error))
        except Exception:  # pylint: disable=broad-except
            logger.exception("error answering %s %s", method, target[:200])
            return _error(path, HTTPStatus.INTERNAL_SERVER_ERROR, "internal error (see the server's log)")

    def _route(self, path: str, params: Dict[str, List[str]], client: str) -> Reply:
        if path == "/":
            return self._index(params)
        if path == "/api/jobs.json":
            return self._jobs_json(params)
        if path == pages.REFRESH_SCRIPT_PATH:
            return Reply(HTTPStatus.OK, "text/javascript; charset=utf-8", pages.REFRESH_SCRIPT)
        if path.startswith("/jobs/"):
            try:
                rest = unquote(path[len("/jobs/"):], errors="strict")
            except UnicodeDecodeError:
                raise BadRequest("a job id is UTF-8 text", HTTPStatus.NOT_FOUND) from None
            return self._job(rest, params)
        if path == "/create":
            return _json(HTTPStatus.OK, self.api.create(params, client))
        if path == "/update":
            return _json(HTTPStatus.OK, self.api.update(params, client))
        if path == "/show":
            job, series, interval = self.api.view("show", params)
            return _html(pages.job_page(job, series, refresh=interval, title="Progress of job"))
        if path == "/render":
            return _svg(self.api.render(params))
        raise BadRequest("no such page: %s" % path[:200], HTTPStatus.NOT_FOUND)

    def _index(self, params: Dict[str, List[str]]) -> Reply:
        filters, limit, offset = _index_query(params)
        total, jobs = self._select(filters, limit, offset)
        return _html(pages.index_page(jobs, total=total, offset=offset, limit=limit, filters=filters))

    def _jobs_json(self, params: Dict[str, List[str]]) -> Reply:
        filters, limit, offset = _index_query(params)
        total, jobs = self._select(filters, limit, offset)
        return _json(HTTPStatus.OK, {"total": total, "offset": offset, "limit": limit, "jobs": jobs})

    def _select(self, filters: Mapping[str, str], limit: int, offset: int) -> Tuple[int, List[Dict[str, Any]]]:
        """How many jobs match, and the page of them (newest first).

        Without filters only the page is read from the store, and the total is counted at most
        every ``TOTAL_TTL`` seconds (counting reads the whole store), so the default page stays
        fast with any number of jobs.  With a filter the matching jobs are read once, and counted.
        """
        if filters:
            every = self.store.jobs(**filters)
            return len(every), every[offset:offset + limit]
        page = self.store.jobs(limit=offset + limit)[offset:]
        if len(page) < limit:
            return offset + len(page), page
        return max(self._count_all(), offset + len(page)), page

    def _count_all(self) -> int:
        """All jobs in the store: from its ``counts()`` if it has one, reused for ``TOTAL_TTL`` seconds."""
        now = time.monotonic()
        with self._count_lock:
            if self._counted is not None and now - self._counted[0] < TOTAL_TTL:
                return self._counted[1]
        counts = getattr(self.store, "counts", None)
        total = counts()["jobs"] if counts is not None else len(self.store.jobs())
        with self._count_lock:
            self._counted = (now, total)
        return total

    def _job(self, rest: str, params: Dict[str, List[str]]) -> Reply:
        if params:
            raise BadRequest("a job's page takes no parameters")
        view, job_id = "page", rest
        if rest.endswith("/chart.svg"):
            view, job_id = "chart", rest[:-len("/chart.svg")]
        elif rest.endswith(".json") and self.store.job(rest) is None:
            view, job_id = "json", rest[:-len(".json")]
        if not job_id or "/" in job_id or len(job_id) > 200:
            raise BadRequest("no such page: /jobs/%s" % rest[:200], HTTPStatus.NOT_FOUND)
        job = self.store.job(job_id)
        if job is None:
            raise NotFound("no job %s" % job_id)
        if view == "json":
            return _json(HTTPStatus.OK, job)
        series = progress_series(self.store.raw_events(job_id))
        if view == "chart":
            return _svg(render_svg(series, title="progress of job %s" % job_id, span=job_span(job)))
        return _html(pages.job_page(job, series, refresh=JOB_REFRESH))


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the request body is not UTF-8 text") from None


def _parse(query: str) -> Dict[str, List[str]]:
    try:
        return parse_qs(query, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest("the query is not UTF-8 text") from None
    except ValueError:
        raise BadRequest("more than %d parameters" % MAX_FIELDS) from None


def _index_query(params: Mapping[str, List[str]]) -> Tuple[Dict[str, str], int, int]:
    """The filters, limit and offset of ``/`` and ``/api/jobs.json``, checked."""
    values: Dict[str, str] = {}
    for name, given in params.items():
        if name not in _INDEX_PARAMETERS:
            raise ParameterError(name[:40], "unknown parameter (this page takes %s)" % ", ".join(_INDEX_PARAMETERS))
        if len(given) != 1:
            raise ParameterError(name, "given %d times, expected once" % len(given))
        values[name] = given[0]
    filters = {}
    for name in _FILTERS:
        value = values.get(name, "")
        if len(value) > MAX_FILTER:
            raise ParameterError(name, "is longer than %d characters" % MAX_FILTER)
        if value:
            filters[name] = value
    if "status" in filters and filters["status"] not in STATES:
        raise ParameterError("status", "must be one of %s" % ", ".join(STATES))
    limit = _whole(values, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
    offset = _whole(values, "offset", 0, MAX_OFFSET, 0)
    return filters, limit, offset


def _whole(values: Mapping[str, str], name: str, lowest: int, highest: int, default: int) -> int:
    value = values.get(name, "")
    if value == "":
        return default
    if not value.isascii() or not value.isdigit() or len(value) > 10 or not lowest <= int(value) <= highest:
        raise ParameterError(name, "must be a whole number from %d to %d" % (lowest, highest))
    return int(value)


def _html(body: str, status: int = HTTPStatus.OK) -> Reply:
    return Reply(status, "text/html; charset=utf-8", body, {"Content-Security-Policy": _HTML_POLICY})


def _svg(body: str) -> Reply:
    return Reply(HTTPStatus.OK, "image/svg+xml; charset=utf-8", body, {"Content-Security-Policy": _SVG_POLICY})


def _json(status: int, data: Any) -> Reply:
    return Reply(status, "application/json", json.dumps(data, ensure_ascii=True, allow_nan=False) + "\n")


def _error(path: str, status: int, message: str, parameter: Optional[str] = None) -> Reply:
    """Errors of the JSON and API routes come as JSON, those of the pages as an HTML page."""
    if path in ("/create", "/update", "/render", "/api/jobs.json") or path.endswith((".json", ".svg")):
        body: Dict[str, Any] = {"ok": False, "error": message}
        if parameter is not None:
            body["parameter"] = parameter
        return _json(status, body)
    return _html(pages.error_page(int(status), message), status)


class _Handler(BaseHTTPRequestHandler):
    """Hands each request to the WebApp of the server and writes its Reply."""

    server: "JobServer"
    server_version = "pyclowder-jobs"
    protocol_version = "HTTP/1.1"
    #: Seconds a client may take to send a request before its connection is closed.
    timeout = 60

    def do_GET(self) -> None:  # noqa: N802 (the name http.server looks for)
        self._answer("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._answer("POST")

    def _answer(self, method: str) -> None:
        body = b""
        if method == "POST":
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                self._send(_error(self.path, HTTPStatus.LENGTH_REQUIRED,
                                  "send the form with a Content-Length, not in chunks"), method, close=True)
                return
            length = self.headers.get("Content-Length", "0")
            if not length.isdigit() or int(length) > MAX_BODY:
                self._send(_error(self.path, HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                  "the body must have a Content-Length of at most %d bytes" % MAX_BODY),
                           method, close=True)
                return
            body = self.rfile.read(int(length))
        reply = self.server.app.handle("GET" if method == "HEAD" else method, self.path, body,
                                       self.client_address[0])
        self._send(reply, method)

    def _send(self, reply: Reply, method: str, close: bool = False) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        logger.info("%s %s", self.client_address[0], format % args)


class JobServer(ThreadingHTTPServer):
    """A threading HTTP server that answers with a :class:`WebApp`."""

    daemon_threads = True

    def __init__(self, address: Tuple[str, int], app: WebApp) -> None:
        self.app = app
        super().__init__(address, _Handler)


def make_server(store: Any, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> JobServer:
    """A server for ``store`` bound to ``host:port`` (port 0: any free port); call ``serve_forever``."""
    return JobServer((host, port), WebApp(store))


def add_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``serve`` other than ``--db``: ``--host``, ``--port``, ``--create``."""
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help="address to listen on (default %(default)s; there is no authentication)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default %(default)s; 0: any free port)")
    parser.add_argument("--create", action="store_true", help="create the store if FILE does not exist")


def add_serve_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``serve`` on a set of sub-commands; it runs :func:`run`."""
    parser = subparsers.add_parser(
        "serve", help="serve the web page of the jobs in a store, and the progress-service API",
        description="Serve the jobs of a store as a web page, and the progress-service API "
                    "(create, update, show, render) so that any program can report progress.")
    parser.add_argument("--db", required=True, metavar="FILE", help="the store (SQLite file)")
    add_options(parser)
    parser.set_defaults(func=run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m pyclowder_jobs.tools.web serve --db FILE ...``: the serve command on its own."""
    parser = argparse.ArgumentParser(prog="python -m pyclowder_jobs.tools.web")
    add_serve_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; returns the process exit status."""
    from ..store import Store, StoreError  # pylint: disable=import-outside-toplevel

    try:
        store = Store(args.db, create=args.create)
    except StoreError as error:
        print("pyclowder-jobs serve: %s (or pass --create to start an empty store)" % error, file=sys.stderr)
        return 2
    try:
        server = make_server(store, args.host, args.port)
    except OSError as error:
        store.close()
        print("pyclowder-jobs serve: cannot listen on %s:%s: %s" % (args.host, args.port, error), file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    print("pyclowder-jobs: serving %s on http://%s:%d/ (Ctrl-C stops)" % (args.db, host, port), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()
    return 0
