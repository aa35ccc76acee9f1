"""The web page in a real headless Chromium: the rendered DOM, the self-refreshing chart, screenshots.

Chromium is required in CI (the tests fail without it when ``CI`` is set) and skipped elsewhere.
"""
import struct
import urllib.request

import pytest
from browser import dump_dom, require_chromium, screenshot
from conftest import start_server
from web_events import DATASET, FILE, JOB, JOB2, progress, sample_events

from pyclowder_jobs.store import Store


class GrowingStore(Store):
    """A store in which a new worker reports progress right after the job's first page is drawn."""

    def __init__(self, path, events, late_event):
        super().__init__(path)
        self.add_events(events)
        self.late_event = late_event
        self.grown = False

    def raw_events(self, job_id):
        found = super().raw_events(job_id)
        if not self.grown:
            self.grown = True
            self.add_events([self.late_event])
        return found


@pytest.fixture(scope="module")
def chromium():
    return require_chromium()


@pytest.fixture
def site(tmp_path):
    """A server with two extractor jobs and a progress-service job two shell workers report into."""
    store = GrowingStore(str(tmp_path / "jobs.db"), sample_events(), progress(40, 4, 8, worker="late-worker", job="sync",
                                                   resource="progress:sync", extractor="nightly sync"))
    server, thread = start_server(store)
    base = "http://127.0.0.1:%d" % server.server_address[1]
    for target in ("/create?jobid=sync&desc=nightly%20sync",
                   "/update?jobid=sync&workid=shell-1&current=6&total=8",
                   "/update?jobid=sync&workid=shell-2&current=3&total=8&ok=0"):
        with urllib.request.urlopen(base + target, timeout=10) as reply:
            assert reply.status == 200
    yield base
    server.shutdown()
    server.server_close()
    thread.join(10)
    store.close()


def png_size(path):
    with open(path, "rb") as image:
        head = image.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", head[16:24])


def test_index_renders_resources_extractors_and_jobs(chromium, site):
    dom = dump_dom(chromium, site + "/")
    for expected in ('data-resource="%s"' % FILE, 'data-resource="%s"' % DATASET,
                     'data-resource="progress:sync"', 'data-extractor="nightly sync"',
                     'data-job-id="%s"' % JOB, 'data-job-id="%s"' % JOB2, 'data-job-id="sync"',
                     'class="status status-failed"', 'class="status status-processing"',
                     "Showing jobs 1\u20133 of 3"):
        assert expected in dom


def test_job_page_renders_the_chart_with_a_series_per_worker(chromium, site):
    dom = dump_dom(chromium, site + "/jobs/" + JOB)
    assert 'class="progress-chart"' in dom
    assert '<g class="series" data-worker="worker-a">' in dom
    assert '<g class="series failed" data-worker="worker-b">' in dom
    assert dom.count('<tr class="event">') == 6


def test_the_progress_view_refreshes_itself(chromium, site):
    dom = dump_dom(chromium, site + "/show?jobid=sync&interval=1", virtual_time_ms=4000)
    assert '<g class="series" data-worker="shell-1">' in dom
    assert '<g class="series failed" data-worker="shell-2">' in dom
    assert 'data-worker="late-worker"' in dom, "the page did not pick up the update made after it loaded"


def test_screenshots_are_drawn(chromium, site, tmp_path):
    for name, target in (("index", "/"), ("job", "/jobs/" + JOB), ("chart", "/jobs/sync/chart.svg")):
        path = screenshot(chromium, site + target, str(tmp_path / (name + ".png")))
        assert png_size(path) == (1280, 900)
