"""Finding and running a headless Chromium for the web page's browser tests (no Selenium needed).

:func:`dump_dom` and :func:`screenshot` run one browser per page; :class:`Browser` keeps one open
and drives it over the DevTools protocol, for pages that change while they are open.

Debian's ``chromium`` package is enough: ``apt-get install -y chromium``.  When no browser is found
the tests fail in CI (``CI`` is set) and skip elsewhere, with the same message.
"""
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from typing import Any, List, Optional

import pytest

#: Names tried in order; the ``CHROMIUM`` environment variable, when set, wins.
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
MISSING = ("no headless Chromium found (tried $CHROMIUM, %s): install Debian's package with "
           "`apt-get install -y chromium`" % ", ".join(CANDIDATES))
#: Flags for a quiet, offline, throw-away browser as root in a container.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars")


def find_chromium() -> Optional[str]:
    """The path of a Chromium executable, or None."""
    chosen = os.environ.get("CHROMIUM")
    if chosen:
        return shutil.which(chosen)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """A Chromium executable; without one, fail in CI and skip elsewhere."""
    found = find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(MISSING + "; in CI the browser tests must run", pytrace=False)
        pytest.skip(MISSING)
    return found


def run_chromium(chromium: str, url: str, *arguments: str, timeout: float = 90) -> subprocess.CompletedProcess:
    """Run one headless Chromium on ``url`` with a fresh profile; returns the finished process."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        command: List[str] = [chromium, *FLAGS, "--user-data-dir=" + profile, *arguments, url]
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                                check=False)
    if result.returncode != 0:
        raise AssertionError("chromium exited with %d: %s" % (result.returncode,
                                                               result.stderr.decode("utf-8", "replace")[-2000:]))
    return result


def dump_dom(chromium: str, url: str, *, virtual_time_ms: Optional[int] = None) -> str:
    """The DOM after the page loaded (and after ``virtual_time_ms`` of timers, if given), as HTML."""
    extra = ["--virtual-time-budget=%d" % virtual_time_ms] if virtual_time_ms else []
    return run_chromium(chromium, url, *extra, "--dump-dom").stdout.decode("utf-8", "replace")


def screenshot(chromium: str, url: str, path: str, *, width: int = 1280, height: int = 900) -> str:
    """Save a PNG of ``url`` at ``path``; returns ``path``."""
    run_chromium(chromium, url, "--screenshot=" + path, "--window-size=%d,%d" % (width, height))
    if not os.path.exists(path):
        raise AssertionError("chromium wrote no screenshot to %s" % path)
    return path


class Browser:
    """A headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``).

    One tab: :meth:`open` a page, :meth:`evaluate` JavaScript in it, :meth:`wait_for` a condition,
    :meth:`resize` the window and take a :meth:`screenshot`.  No library beyond the standard one.
    """

    def __init__(self, chromium: str, *, width: int = 1280, height: int = 900) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        commands_in, self._commands = os.pipe()
        self._replies, replies_out = os.pipe()

        def child_pipes() -> None:  # Chromium reads commands on fd 3 and writes replies on fd 4
            commands = fcntl.fcntl(commands_in, fcntl.F_DUPFD, 10)
            replies = fcntl.fcntl(replies_out, fcntl.F_DUPFD, 10)
            os.dup2(commands, 3)
            os.dup2(replies, 4)

        self.process = subprocess.Popen(
            [chromium, *FLAGS, "--remote-debugging-pipe", "--user-data-dir=" + self._profile.name,
             "--window-size=%d,%d" % (width, height), "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=child_pipes)
        os.close(commands_in)
        os.close(replies_out)
        self._buffer = b""
        self._next_id = 0
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable")
        self.resize(width, height)

    def _call(self, method: str, params: Optional[dict] = None, session: Optional[str] = None,
              timeout: float = 60) -> dict:
        self._next_id += 1
        number = self._next_id
        command = {"id": number, "method": method, "params": params or {}}
        if session:
            command["sessionId"] = session
        os.write(self._commands, json.dumps(command).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" not in self._buffer:
                if time.monotonic() > deadline:
                    raise AssertionError("chromium did not answer %s within %s s" % (method, timeout))
                ready, _, _ = select.select([self._replies], [], [], 1.0)
                if ready:
                    chunk = os.read(self._replies, 1 << 20)
                    if not chunk:
                        raise AssertionError("chromium went away during %s" % method)
                    self._buffer += chunk
            text, _, self._buffer = self._buffer.partition(b"\0")
            reply = json.loads(text)
            if reply.get("id") == number:
                if "error" in reply:
                    raise AssertionError("%s failed: %s" % (method, reply["error"]))
                return reply.get("result", {})

    def call(self, method: str, params: Optional[dict] = None) -> dict:
        """A DevTools command in the tab; its result."""
        return self._call(method, params, self._session)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (a promise is awaited)."""
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            raise AssertionError("%s raised %s" % (expression, result["exceptionDetails"]))
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20.0) -> Any:
        """Evaluate ``expression`` until it is truthy; its value (an AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("still false after %s s: %s" % (timeout, expression))
            time.sleep(0.1)

    def open(self, url: str) -> None:
        """Load ``url`` and wait until the page and its scripts have loaded."""
        self.call("Page.navigate", {"url": url})
        time.sleep(0.05)
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'")

    def resize(self, width: int, height: int) -> None:
        """Lay the page out as on a screen of ``width`` x ``height`` CSS pixels."""
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": 1, "mobile": False})

    def screenshot(self, path: str, *, full_page: bool = False) -> str:
        """Save a PNG of what the page shows (or all of it) at ``path``; returns ``path``."""
        params: dict = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}
        with open(path, "wb") as image:
            image.write(base64.b64decode(self.call("Page.captureScreenshot", params)["data"]))
        return path

    def close(self) -> None:
        """Stop the browser."""
        try:
            self._call("Browser.close", timeout=10)
        except (AssertionError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)
        os.close(self._replies)
        self._profile.cleanup()
