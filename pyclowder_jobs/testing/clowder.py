"""A stand-in for Clowder, for demos, tests and benchmarks on one machine.

:class:`StandInClowder` answers the few HTTP calls a pyClowder extractor makes (file download,
file info, metadata upload, extractor registration) on loopback, and :func:`file_request` builds
request bodies shaped like those Clowder v1 and v2 put on an extractor's queue.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional

from pyclowder_jobs.protocol.ids import objectid

_FILE = re.compile(r"^/api/files/([^/?]+)(/metadata|/metadata\.jsonld)?$")


class StandInClowder:
    """Serves files and takes metadata on ``http://127.0.0.1:<port>/``, in a background thread."""

    def __init__(self, port: int = 0) -> None:
        self.files: Dict[str, bytes] = {}
        self.metadata: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        """The base URL extractors are given as ``host``, ending with a slash."""
        return "http://127.0.0.1:%d/" % self._server.server_address[1]

    def add_file(self, content: bytes, file_id: Optional[str] = None) -> str:
        """Make a file available for download; returns its id."""
        file_id = file_id or objectid()
        self.files[file_id] = content
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

    def _record_metadata(self, file_id: str, body: bytes) -> None:
        try:
            document = json.loads(body or b"null")
        except ValueError:
            document = None
        with self._lock:
            self.metadata.append({"file_id": file_id, "metadata": document})


def _handler_for(clowder: StandInClowder) -> type:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            match = _FILE.match(self.path.split("?", 1)[0])
            if not match or match.group(1) not in clowder.files:
                self._send(404, b'{"status": "not found"}')
            elif match.group(2) == "/metadata":
                content = clowder.files[match.group(1)]
                self._send(200, json.dumps({"id": match.group(1), "size": len(content)}).encode())
            elif match.group(2) == "/metadata.jsonld":
                self._send(200, b"[]")
            else:
                self._send(200, clowder.files[match.group(1)], "application/octet-stream")

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            match = _FILE.match(self.path.split("?", 1)[0])
            if match and match.group(2) == "/metadata.jsonld":
                clowder._record_metadata(match.group(1), body)
            self._send(200, b'{"status": "ok"}')

        def _send(self, code: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            """Quiet: the extractor's own log tells what it asked for."""

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
