"""A client of the progress API of ``pyclowder-jobs serve``, for workers that are not extractors.

Each call is one HTTP request (a form POST with the server's token, see ``docs/web.rst``), so a
worker reports its progress into the same page as the extractors' jobs::

    from pyclowder_jobs.client import ProgressClient

    progress = ProgressClient("http://127.0.0.1:8080", token)
    progress.create("backup-2026-03-14", desc="nightly backup", maxage=86400)
    for number, part in enumerate(parts, 1):
        copy(part)
        progress.update("backup-2026-03-14", number, len(parts))

A call never raises into the worker because of the network or the server: it returns False and
logs a warning (at most one a minute while the server stays unreachable), and the worker goes on.
Needs ``requests`` (``pip install 'pyclowder-jobs[client]'``; pyClowder brings it too).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any, Dict, Optional

import requests

logger = logging.getLogger("pyclowder_jobs.client")

#: Seconds a call waits for the server (to connect, then for the answer).
DEFAULT_TIMEOUT = 5.0
#: Seconds between two warnings about failed calls.
WARN_EVERY = 60.0


class ProgressClient:
    """Reports one worker's progress to a ``pyclowder-jobs serve`` (or the app mounted elsewhere).

    ``url`` is where the app answers (``http://host:8080`` or ``https://clowder.example.org/jobs``),
    ``token`` the server's token for writes, ``worker`` this worker's name in the chart (default
    ``host:pid``; 1 to 64 of ``A-Z a-z 0-9 . _ : -``).  One client per thread: it keeps a
    ``requests.Session`` (its connection is reused from call to call).
    """

    def __init__(self, url: str, token: str, *, worker: Optional[str] = None, timeout: float = DEFAULT_TIMEOUT,
                 session: Optional[requests.Session] = None) -> None:
        self.url = url.rstrip("/")
        self.worker = worker or "%s:%d" % (socket.gethostname().split(".")[0], os.getpid())
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = "Bearer " + token
        self._warned_at: Optional[float] = None
        self._failed = 0

    def create(self, job_id: str, *, desc: Optional[str] = None, maxage: Optional[int] = None) -> bool:
        """Create the job ``job_id`` (``desc``: what it is; ``maxage``: seconds without an update after
        which its progress view expires); True when the server took it."""
        params: Dict[str, Any] = {"jobid": job_id}
        if desc is not None:
            params["desc"] = desc
        if maxage is not None:
            params["maxage"] = maxage
        return self._post("create", params)

    def update(self, job_id: str, current: float, total: float, *, ok: bool = True,
               desc: Optional[str] = None) -> bool:
        """Report that this worker did ``current`` of ``total`` on the job (``ok=False``: it is failing,
        drawn red; ``desc``: a note); True when the server took it."""
        params: Dict[str, Any] = {"jobid": job_id, "workid": self.worker, "current": _number(current),
                                  "total": _number(total), "ok": "1" if ok else "0"}
        if desc is not None:
            params["desc"] = desc
        return self._post("update", params)

    def close(self) -> None:
        """Close the session's connections."""
        self.session.close()

    def __enter__(self) -> "ProgressClient":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _post(self, call: str, params: Dict[str, Any]) -> bool:
        target = "%s/%s" % (self.url, call)
        try:
            reply = self.session.post(target, data=params, timeout=self.timeout)
        except (requests.RequestException, ValueError) as error:
            self._warn("could not send %s of job %s to %s: %s", call, params["jobid"], target, error)
            return False
        if reply.status_code != 200:
            try:
                reason = reply.json().get("error")
            except ValueError:
                reason = reply.text[:200]
            self._warn("%s of job %s refused by %s (%d): %s", call, params["jobid"], target, reply.status_code, reason)
            return False
        if self._failed:
            logger.info("progress reaches %s again (%d calls failed before)", self.url, self._failed)
            self._failed, self._warned_at = 0, None
        return True

    def _warn(self, message: str, *args: Any) -> None:
        """A warning, unless one was logged less than WARN_EVERY seconds ago (then only counted)."""
        self._failed += 1
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            logger.warning("progress: " + message + " (the worker goes on)", *args)
        else:
            logger.debug("progress: " + message, *args)


def _number(value: float) -> str:
    """A number as the progress API reads it: digits and an optional decimal point (``2.5``, never ``1e-05``)."""
    if float(value).is_integer():
        return str(int(value))
    return ("%.9f" % value).rstrip("0").rstrip(".")
