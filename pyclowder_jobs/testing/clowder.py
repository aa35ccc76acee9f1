"""A stand-in for Clowder, for ``pyclowder-jobs submit``, demos, tests and benchmarks on one machine.

:class:`StandInClowder` answers, on loopback, the HTTP calls a pyClowder 2.x or 3.x extractor makes
while it runs a job on a file, as Clowder v1 and v2 answer them:

* v1 (``?key=`` in the query): ``GET /api/files/<id>`` (the download), ``GET /api/files/<id>/metadata``
  (the file's description), ``GET`` and ``POST /api/files/<id>/metadata.jsonld`` (JSON-LD metadata);
* v2 (``X-API-KEY`` header): ``GET /api/v2/files/<id>``, ``GET /api/v2/files/<id>/summary``, ``GET``
  and ``POST /api/v2/files/<id>/metadata``;
* ``POST /api/extractors`` (registration, v1).

pyClowder 3 picks the v1 or v2 paths from its ``CLOWDER_VERSION`` environment variable, not from the
request, so both are always served. Anything else is answered 404, and a wrong key 401; each call is
told to ``on_call``. :func:`file_request` builds request bodies shaped like those Clowder v1 and v2
put on an extractor's queue.
"""

from __future__ import annotations

import json
import mimetypes
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, NamedTuple, Optional
from urllib.parse import parse_qs, urlsplit

from pyclowder_jobs.protocol.ids import objectid

_FILE = re.compile(r"^/api/(v2/)?files/([^/]+)(/metadata|/metadata\.jsonld|/summary)?/?$")


class StoredFile(NamedTuple):
    """A file the stand-in serves."""

    name: str
    content: bytes


class Call(NamedTuple):
    """One HTTP call an extractor made: the method, the path without the query (which holds the key),
    the answer's status, the file it named (if any) and, for a metadata upload, the document."""

    method: str
    path: str
    status: int
    file_id: Optional[str] = None
    metadata: Any = None


class StandInClowder:
    """Serves files and takes metadata on ``http://<address>:<port>/``, in a background thread.

    With ``key`` set, calls must carry it (``?key=`` or ``X-API-KEY``) or are answered 401, as
    Clowder does; ``url`` is the base URL given to extractors when it is not the listening address
    (an extractor in a container reaches the host by another name).
    """

    def __init__(self, port: int = 0, *, address: str = "127.0.0.1", key: Optional[str] = None,
                 url: Optional[str] = None, on_call: Optional[Callable[[Call], None]] = None) -> None:
        self.files: Dict[str, StoredFile] = {}
        self.metadata: List[Dict[str, Any]] = []
        self.calls: List[Call] = []
        self.key = key
        self.on_call = on_call
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((address, port), _handler_for(self))
        self._server.daemon_threads = True
        self._url = url
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        """The base URL extractors are given as ``host``, ending with a slash."""
        if self._url:
            return self._url if self._url.endswith("/") else self._url + "/"
        host, port = self._server.server_address[:2]
        return "http://%s:%d/" % (host if ":" not in host else "[%s]" % host, port)

    def add_file(self, content: bytes, file_id: Optional[str] = None, name: str = "file.txt") -> str:
        """Make a file available for download; returns its id."""
        file_id = file_id or objectid()
        self.files[file_id] = StoredFile(name, content)
        return file_id

    def start(self) -> "StandInClowder":
        self._thread = threading.Thread(target=self._server.serve_forever, name="StandInClowder", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "StandInClowder":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def _told(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
            if call.metadata is not None:
                self.metadata.append({"file_id": call.file_id, "metadata": call.metadata})
        if self.on_call is not None:
            self.on_call(call)

    def _metadata_of(self, file_id: str) -> List[Any]:
        with self._lock:
            return [entry["metadata"] for entry in self.metadata if entry["file_id"] == file_id]


def _describe(file_id: str, stored: StoredFile, version: int) -> Dict[str, Any]:
    """The file's description: v1's ``/metadata`` or v2's ``/summary``."""
    content_type = mimetypes.guess_type(stored.name)[0] or "application/octet-stream"
    if version == 1:
        return {"id": file_id, "filename": stored.name, "filedescription": "", "content-type": content_type,
                "size": str(len(stored.content)), "status": "PROCESSED"}
    return {"id": file_id, "name": stored.name, "bytes": len(stored.content),
            "content_type": {"content_type": content_type, "main_type": content_type.split("/")[0]}}


def _handler_for(clowder: StandInClowder) -> type:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            found = self._route()
            if found is None:
                return
            path, version, file_id, part = found
            stored = clowder.files.get(file_id or "")
            if stored is None:
                self._answer(path, 404, {"status": "no such file"}, file_id)
            elif part is None:
                self._answer(path, 200, stored.content, file_id, content_type="application/octet-stream")
            elif (version == 1 and part == "/metadata.jsonld") or (version == 2 and part == "/metadata"):
                self._answer(path, 200, clowder._metadata_of(file_id), file_id)
            elif (version == 1 and part == "/metadata") or (version == 2 and part == "/summary"):
                self._answer(path, 200, _describe(file_id, stored, version), file_id)
            else:
                self._answer(path, 404, {"status": "not served"}, file_id)

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            found = self._route()
            if found is None:
                return
            path, version, file_id, part = found
            if file_id is None and path.rstrip("/") == "/api/extractors":
                self._answer(path, 200, {"status": "ok"})
            elif file_id is not None and ((version == 1 and part == "/metadata.jsonld")
                                          or (version == 2 and part == "/metadata")):
                if file_id not in clowder.files:
                    self._answer(path, 404, {"status": "no such file"}, file_id)
                    return
                try:
                    document = json.loads(body or b"null")
                except ValueError:
                    self._answer(path, 400, {"status": "not JSON"}, file_id)
                    return
                self._answer(path, 200, {"status": "ok"}, file_id, metadata=document)
            else:
                self._answer(path, 404, {"status": "not served"}, file_id)

        def do_PUT(self) -> None:  # noqa: N802
            self._refuse()

        def do_PATCH(self) -> None:  # noqa: N802
            self._refuse()

        def do_DELETE(self) -> None:  # noqa: N802
            self._refuse()

        def _refuse(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            found = self._route()
            if found is not None:
                self._answer(found[0], 404, {"status": "not served"}, found[2])

        def _route(self) -> Optional[tuple]:
            """(path, API version, file id, part) of the call, or None once a wrong key was answered 401."""
            parts = urlsplit(self.path)
            match = _FILE.match(parts.path)
            file_id = match.group(2) if match else None
            if clowder.key is not None:
                given = parse_qs(parts.query).get("key", [None])[0] or self.headers.get("X-API-KEY")
                if given != clowder.key:
                    self._answer(parts.path, 401, {"status": "unauthorized: the call has not the key of the request"},
                                 file_id)
                    return None
            if not match:
                return parts.path, None, None, None
            return parts.path, 2 if match.group(1) else 1, file_id, match.group(3)

        def _answer(self, path: str, code: int, body: Any, file_id: Optional[str] = None, *,
                    content_type: str = "application/json", metadata: Any = None) -> None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
            clowder._told(Call(self.command, path, code, file_id, metadata))

        def log_message(self, *args: Any) -> None:
            """Quiet: each call is kept in ``calls`` and told to ``on_call``."""

    return Handler


def file_request(clowder_version: int, host: str, file_id: str, *, queue: str, secret_key: str,
                 job_id: Optional[str] = None, filename: str = "file.txt", size: int = 0,
                 dataset_id: Optional[str] = None, parameters: Optional[Dict[str, Any]] = None,
                 manual: bool = False) -> Dict[str, Any]:
    """A request for one file, shaped as Clowder v1 or v2 sends it.

    v1 puts the id in ``jobid`` (since v1.11) and the file size as a string; v2 puts it in
    ``job_id``, sends the size as a number and has no ``routing_key``. ``job_id=None`` leaves
    the id out, as older servers do.
    """
    dataset_id = dataset_id or objectid()
    if clowder_version == 1:
        body: Dict[str, Any] = {
            "notifies": [], "msgid": objectid(), "id": file_id, "intermediateId": file_id,
            "datasetId": dataset_id, "host": host, "secretKey": secret_key,
            "routing_key": "extractors.%s" % queue if manual else "*.file.text.plain",
            "filename": filename, "fileSize": str(size), "flags": "",
        }
        if job_id is not None:
            body["jobid"] = job_id
    else:
        body = {
            "host": host, "secretKey": secret_key, "retry_count": 0, "resource_type": "file",
            "flags": "", "filename": filename, "fileSize": size, "id": file_id, "datasetId": dataset_id,
        }
        if job_id is not None:
            body["job_id"] = job_id
    if parameters is not None:
        body["parameters"] = parameters
    return body
