"""``pyclowder-jobs serve``: the app of ``app.py`` on uvicorn, with a token printed at start.

The token for writes (the progress API's ``create`` and ``update``) comes from the environment
variable ``PYCLOWDER_JOBS_TOKEN`` or, without it, is made anew at each start and printed.  The
server answers to the loopback names and the address it listens on; ``--allow-host`` adds the
names people reach it by.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import sys
from typing import Any

import uvicorn

from ..store import Store, StoreError
from .app import TOKEN_VARIABLE, make_app
from .guard import allowed_names

#: Seconds the server waits for open requests when it stops.
GRACE = 5


class _Server(uvicorn.Server):
    """uvicorn's server, which also ends the app's live streams when asked to stop."""

    def __init__(self, config: uvicorn.Config, app: Any) -> None:
        super().__init__(config)
        self.app = app

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.app.state.site.stop()
        super().handle_exit(sig, frame)


def run(args: argparse.Namespace) -> int:
    """Serve ``args.db`` on ``args.host:args.port`` until interrupted; returns the process exit status."""
    try:
        Store(args.db, create=args.create).close()
    except StoreError as error:
        print("pyclowder-jobs serve: %s (or pass --create to start an empty store)" % error, file=sys.stderr)
        return 2
    token = os.environ.get(TOKEN_VARIABLE) or secrets.token_urlsafe(24)
    try:
        # Speed: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets whose protocol
        # says TCP; an answer's headers and body then leave at once, where a kept-alive request
        # otherwise waited 40 ms for a delayed ACK (44 ms against 3 ms, measured on loopback).
        listener = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM,
                                 socket.IPPROTO_TCP)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((args.host, args.port))
        listener.listen(2048)  # connections made once the address is printed wait for the server
    except OSError as error:
        print("pyclowder-jobs serve: cannot listen on %s:%s: %s" % (args.host, args.port, error), file=sys.stderr)
        return 2
    hosts = allowed_names(args.host, args.allow_host)
    app = make_app(args.db, token=token, allowed_hosts=hosts)
    host, port = listener.getsockname()[:2]
    shown = "[%s]" % host if ":" in host else host
    print("pyclowder-jobs: serving %s on http://%s:%d/ (Ctrl-C stops)" % (args.db, shown, port), flush=True)
    print("pyclowder-jobs: token for writes: %s" % ("from $%s" % TOKEN_VARIABLE if os.environ.get(TOKEN_VARIABLE)
                                                     else token), flush=True)
    print("pyclowder-jobs: answering to the host names %s" % ", ".join(hosts), flush=True)
    server = _Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=GRACE), app)
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
        app.state.site.close()
    return 0

