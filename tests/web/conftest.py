"""A running web server on an ephemeral loopback port, and a small HTTP client for it."""
import json
import threading
import urllib.error
import urllib.request
from typing import Any, Dict, NamedTuple, Optional

import pytest
from web_events import sample_events

from pyclowder_jobs.store import Store
from pyclowder_jobs.tools.web.httpd import make_server


class Answer(NamedTuple):
    """An HTTP answer: status, headers and body as text."""

    status: int
    headers: Dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class Client:
    """GETs and POSTs with ``urllib`` against one server; HTTP errors are answers, not exceptions."""

    def __init__(self, base: str) -> None:
        self.base = base

    def request(self, target: str, *, data: Optional[bytes] = None, method: Optional[str] = None,
                headers: Optional[Dict[str, str]] = None) -> Answer:
        request = urllib.request.Request(self.base + target, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return Answer(reply.status, dict(reply.headers), reply.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, dict(error.headers), error.read().decode("utf-8"))

    def get(self, target: str) -> Answer:
        return self.request(target)

    def post(self, target: str, form: str) -> Answer:
        return self.request(target, data=form.encode("utf-8"),
                            headers={"Content-Type": "application/x-www-form-urlencoded"})


def start_server(store: Any):
    """A server for ``store`` on 127.0.0.1 and a free port, serving in a thread."""
    server = make_server(store, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="web-test-server",
                              daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def store(tmp_path):
    """The real SQLite store, holding two extractor jobs (see ``web_events.sample_events``)."""
    found = Store(str(tmp_path / "jobs.db"))
    found.add_events(sample_events())
    yield found
    found.close()


@pytest.fixture
def web(store):
    """A Client for a server on the ``store`` fixture."""
    server, thread = start_server(store)
    host, port = server.server_address[:2]
    yield Client("http://%s:%d" % (host, port))
    server.shutdown()
    server.server_close()
    thread.join(10)
