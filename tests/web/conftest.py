"""The app served by a real uvicorn on an ephemeral loopback port, and a small HTTP client for it."""
import json
from email.message import Message
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Dict, NamedTuple, Optional

import pytest
import uvicorn
from web_events import sample_events

from pyclowder_jobs.store import Store
from pyclowder_jobs.tools.web import make_app

TOKEN = "test-token-0123456789"


class Answer(NamedTuple):
    """An HTTP answer: status, headers and body as text."""

    status: int
    headers: Message
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
                return Answer(reply.status, reply.headers, reply.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, error.headers, error.read().decode("utf-8"))

    def get(self, target: str, **headers: str) -> Answer:
        return self.request(target, headers={name.replace("_", "-"): value for name, value in headers.items()})

    def post(self, target: str, form: str, *, token: Optional[str] = TOKEN, **headers: str) -> Answer:
        sent = {"Content-Type": "application/x-www-form-urlencoded"}
        if token is not None:
            sent["Authorization"] = "Bearer " + token
        sent.update({name.replace("_", "-"): value for name, value in headers.items()})
        return self.request(target, data=form.encode("utf-8"), headers=sent)


class Served:
    """An ASGI app served by uvicorn on 127.0.0.1 and a free port, in a thread, until :meth:`stop`."""

    def __init__(self, app: Any, *, site: Any = None) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # as serve makes it
        listener.bind(("127.0.0.1", 0))
        self.port = listener.getsockname()[1]
        self.base = "http://127.0.0.1:%d" % self.port
        self.site = site if site is not None else app.state.site
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [listener]}, name="web-test-server",
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        self.site.stop()
        self.server.should_exit = True
        self.thread.join(20)
        assert not self.thread.is_alive()


@pytest.fixture
def store(tmp_path):
    """The real SQLite store, holding two extractor jobs (see ``web_events.sample_events``)."""
    found = Store(str(tmp_path / "jobs.db"))
    found.add_events(sample_events())
    yield found
    found.close()


@pytest.fixture
def served(store):
    """The app on the ``store`` fixture, served on a loopback port."""
    running = Served(make_app(store, token=TOKEN))
    yield running
    running.stop()


@pytest.fixture
def web(served):
    """A Client for the ``served`` app."""
    return Client(served.base)
