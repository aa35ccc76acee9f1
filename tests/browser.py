"""Finding and running a headless Chromium for the web page's browser tests (no Selenium needed).

Debian's ``chromium`` package is enough: ``apt-get install -y chromium``.  When no browser is found
the tests fail in CI (``CI`` is set) and skip elsewhere, with the same message.
"""
import os
import shutil
import subprocess
import tempfile
from typing import List, Optional

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
