"""The web page in a real headless Chromium: pages that follow the store live, the log view and its
filter, the app mounted in FastAPI, writes attempted by a page of another origin, the layout on an
800 px screen, and screenshots.

Chromium is required in CI (the tests fail without it when ``CI`` is set) and skipped elsewhere.
"""
import http.server
import struct
import threading
import time

import pytest
from browser import Browser, require_chromium
from conftest import TOKEN, Client, Served
from fastapi import FastAPI
from web_events import DATASET, FILE, JOB, JOB2, log, progress, reply, sample_events

from pyclowder_jobs.store import Store
from pyclowder_jobs.tools.web import make_app

#: Rows of the log table that are shown (not hidden by the level filter).
SHOWN_LOG_LINES = "[...document.querySelectorAll('#log-lines tr')].filter(row => row.offsetParent !== null)"


@pytest.fixture(scope="module")
def chromium():
    return require_chromium()


@pytest.fixture
def browser(chromium):
    opened = Browser(chromium)
    yield opened
    opened.close()


def site_events():
    """Two extractor jobs with their log lines, and a progress-service job two shell workers report into."""
    return sample_events() + [
        log(2.5, "Downloading report.csv (3.2 MB)", level="DEBUG"),
        log(3.5, "Counting words in report.csv"),
        log(6.5, "Line 4711 is not UTF-8; skipped", level="WARNING", worker="worker-b"),
        log(12, "Downloading the dataset", job=JOB2, resource=DATASET),
        log(19, "Traceback (most recent call last):\n  ...\nValueError: empty file", level="ERROR", job=JOB2,
            resource=DATASET),
    ]


@pytest.fixture
def store(tmp_path):
    found = Store(str(tmp_path / "jobs.db"))
    found.add_events(site_events())
    yield found
    found.close()


@pytest.fixture
def site(store):
    running = Served(make_app(store, token=TOKEN))
    client = Client(running.base)
    for target, form in (("/create", "jobid=sync&desc=nightly%20sync"),
                         ("/update", "jobid=sync&workid=shell-1&current=6&total=8"),
                         ("/update", "jobid=sync&workid=shell-2&current=3&total=8&ok=0")):
        assert client.post(target, form).status == 200
    yield running
    running.stop()


def png_size(path):
    with open(path, "rb") as image:
        head = image.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


def test_the_index_shows_resources_extractors_and_jobs(browser, site):
    browser.open(site.base + "/")
    assert browser.evaluate("[...document.querySelectorAll('tr.job')].map(row => row.dataset.jobId).sort()") == sorted(
        [JOB, JOB2, "sync"])
    assert browser.evaluate("[...document.querySelectorAll('section.resource')].map(s => s.dataset.resource)"
                            ".sort()") == sorted([FILE, DATASET, "progress:sync"])
    assert browser.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor") == "rgb(35, 57, 93)"
    assert browser.wait_for("document.getElementById('live-state').textContent") == "live"


def test_the_index_follows_the_store_without_reloading(browser, site, store):
    browser.open(site.base + "/")
    browser.evaluate("window.notReloaded = true")
    browser.wait_for("document.getElementById('live-state').textContent === 'live'")
    store.add_events([reply("StatusMessage.start", "Started processing.", 40, job="fresh-job", resource="r-new",
                            resource_name="notes.txt")])
    browser.wait_for("document.querySelector('tr.job[data-job-id=\"fresh-job\"]') !== null")
    assert browser.evaluate("window.notReloaded") is True
    assert "Showing jobs 1\u20134 of 4" in browser.evaluate("document.getElementById('summary').textContent")


def test_the_job_page_lists_its_log_lines_and_filters_them_by_level(browser, site):
    browser.open(site.base + "/jobs/" + JOB)
    rows = browser.evaluate("[...document.querySelectorAll('#log-lines tr')].map(row => "
                            "[...row.cells].map(cell => cell.textContent))")
    assert rows == [
        ["2026-03-14 15:00:02.500", "DEBUG", "1", "node1:4242", "wordcount Downloading report.csv (3.2 MB)"],
        ["2026-03-14 15:00:03.500", "INFO", "1", "node1:4242", "wordcount Counting words in report.csv"],
        ["2026-03-14 15:00:06.500", "WARNING", "1", "node1:4242", "wordcount Line 4711 is not UTF-8; skipped"]]
    assert browser.evaluate("document.querySelector('#log-lines td.worker').title") == "worker-a"
    browser.evaluate("const level = document.getElementById('level'); level.value = 'warning';"
                     "level.dispatchEvent(new Event('change'))")
    assert browser.evaluate(SHOWN_LOG_LINES + ".length") == 1
    assert browser.evaluate("location.search") == "?level=warning"
    browser.open(site.base + "/jobs/%s?level=info" % JOB)
    assert browser.evaluate(SHOWN_LOG_LINES + ".length") == 2


def test_the_job_page_follows_a_running_job_live(browser, site, store):
    browser.open(site.base + "/jobs/%s?level=info" % JOB)
    browser.evaluate("window.notReloaded = true")
    browser.wait_for("document.getElementById('live-state').textContent === 'live'")
    store.add_events([log(8, "Found 1200 words"), log(8.5, "a detail", level="DEBUG"),
                      progress(9, 10, 10), reply("StatusMessage.done", "Done.", 10)])
    browser.wait_for("document.getElementById('log-lines').rows.length === 5")
    assert browser.evaluate(SHOWN_LOG_LINES + ".map(row => row.cells[4].textContent)") == [
        "wordcount Counting words in report.csv", "wordcount Line 4711 is not UTF-8; skipped",
        "wordcount Found 1200 words"]
    browser.wait_for("document.querySelector('#job .job-title .status').textContent === 'SUCCEEDED'")
    assert browser.evaluate("document.getElementById('log-count').textContent") == "5 lines"
    assert browser.evaluate("document.querySelector('#chart g.series[data-worker=\"worker-a\"] title')"
                            ".textContent") == "worker-a: 10/10 files (100%)"
    assert browser.evaluate("window.notReloaded") is True


def test_the_progress_view_follows_new_workers(browser, site):
    browser.open(site.base + "/show?jobid=sync&interval=1")
    assert browser.evaluate("document.querySelectorAll('#chart g.series').length") == 2
    assert browser.evaluate("document.querySelector('#chart g.series.failed').dataset.worker") == "shell-2"
    Client(site.base).post("/update", "jobid=sync&workid=late-worker&current=4&total=8")
    browser.wait_for("document.querySelector('#chart g.series[data-worker=\"late-worker\"]') !== null")


def test_the_app_mounted_in_fastapi_works_and_follows_live(browser, store):
    parent = FastAPI()
    jobs = make_app(store, token=TOKEN)
    parent.mount("/jobs", jobs)
    running = Served(parent, site=jobs.state.site)
    try:
        browser.open(running.base + "/jobs/")
        assert browser.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor") == \
            "rgb(35, 57, 93)"
        browser.evaluate("document.querySelector('tr.job[data-job-id=\"%s\"] a').click()" % JOB)
        browser.wait_for("location.pathname === '/jobs/jobs/%s' && document.readyState === 'complete'" % JOB)
        browser.wait_for("document.getElementById('live-state').textContent === 'live'")
        store.add_events([log(9, "seen through the mount", level="ERROR")])
        browser.wait_for("document.getElementById('log-lines').textContent.includes('seen through the mount')")
    finally:
        running.stop()


class Recording:
    """ASGI middleware that notes (method, path, status) of every answer."""

    def __init__(self, app):
        self.app = app
        self.seen = []

    async def __call__(self, scope, receive, send):
        async def noting(message):
            if message["type"] == "http.response.start":
                self.seen.append((scope["method"], scope["path"], message["status"]))
            await send(message)
        await self.app(scope, receive, noting if scope["type"] == "http" else send)


ATTACK = """<!DOCTYPE html><html><body>
<img src="{target}/create?jobid=img-attack">
<iframe name="sink"></iframe>
<form id="form" method="post" action="{target}/update" target="sink">
<input name="jobid" value="form-attack"><input name="workid" value="w"><input name="current" value="1">
<input name="total" value="2"><input name="token" value="{token}"></form>
<script>
fetch("{target}/create", {{method: "POST", mode: "no-cors",
  body: new URLSearchParams("jobid=fetch-attack&token={token}")}}).catch(function () {{}});
fetch("{target}/create", {{method: "POST", headers: {{"Authorization": "Bearer {token}"}},
  body: "jobid=cors-attack"}}).catch(function () {{}});
document.getElementById("form").submit();
</script></body></html>"""


def test_a_page_of_another_origin_cannot_write_even_knowing_the_token(browser, store):
    app = make_app(store, token=TOKEN)
    recording = Recording(app)
    running = Served(recording, site=app.state.site)
    page = ATTACK.format(target=running.base, token=TOKEN).encode()

    class Attacker(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    attacker = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
    serving = threading.Thread(target=attacker.serve_forever, daemon=True)
    serving.start()
    try:
        browser.open("http://localhost:%d/" % attacker.server_address[1])
        expected = {("GET", "/create"), ("POST", "/create"), ("POST", "/update"), ("OPTIONS", "/create")}
        deadline = time.monotonic() + 20
        while not expected <= {(method, path) for method, path, _ in recording.seen}:
            assert time.monotonic() < deadline, recording.seen
            time.sleep(0.1)
    finally:
        attacker.shutdown()
        attacker.server_close()
        running.stop()
    assert [status for _, _, status in recording.seen if status < 400] == []
    assert {status for method, _, status in recording.seen if method == "POST"} == {403}
    for job_id in ("img-attack", "form-attack", "fetch-attack", "cors-attack"):
        assert store.job(job_id) is None


def overflowing(browser):
    """Elements of the page wider than their box (a sideways scrollbar, or content cut off)."""
    return browser.evaluate(
        "[...document.querySelectorAll('main, section, table, dl, .chart, form')]"
        ".filter(element => element.scrollWidth > element.clientWidth + 1)"
        ".map(element => element.tagName + '.' + element.className + ' ' + element.scrollWidth + '>' "
        "+ element.clientWidth).concat(document.documentElement.scrollWidth > innerWidth ? ['page'] : [])")


def test_at_800_pixels_nothing_scrolls_sideways(browser, site, store):
    store.add_events([reply("StatusMessage.processing", "x" * 300, 30, job="l" * 64, resource="r" * 200,
                            worker="4f1c0a34-5a8b-4c1e-9d2f-3b6a7c8d9e0f"),
                      log(31, "y" * 500, job="l" * 64, resource="r" * 200)])
    browser.resize(800, 900)
    for target in ("/", "/jobs/" + JOB, "/jobs/" + "l" * 64, "/show?jobid=sync"):
        browser.open(site.base + target)
        assert overflowing(browser) == [], target


def test_screenshots_are_drawn(browser, site, tmp_path):
    for name, target, width in (("index", "/", 1280), ("job", "/jobs/" + JOB, 1280), ("narrow", "/", 800)):
        browser.resize(width, 900)
        browser.open(site.base + target)
        path = browser.screenshot(str(tmp_path / (name + ".png")))
        assert png_size(path) == (width, 900)
