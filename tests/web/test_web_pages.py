"""The HTML pages as pure functions: grouping, every status, paging, escaping of hostile text."""
from html.parser import HTMLParser

import pytest
from web_events import EXTRACTOR, FILE, HOSTILE, JOB, job_dict, sample_events
from web_store import MemoryStore

from pyclowder_jobs.server import STATES
from pyclowder_jobs.tools.web import pages
from pyclowder_jobs.tools.web.chart import progress_series
from pyclowder_jobs.tools.web.text import duration, when


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text, of an HTML document."""

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.text = []
        self.feed(document)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag, **attributes):
        return [attrs for name, attrs in self.tags if name == tag
                and all(attrs.get(key.replace("_", "-")) == value for key, value in attributes.items())]


def assert_safe(document: str) -> Tags:
    """No markup of ours was broken: one script (ours), no event handlers, no injected elements."""
    assert "\x00" not in document and "\ud800" not in document
    parsed = Tags(document)
    assert [attrs for tag, attrs in parsed.tags if tag == "script"] == [
        {"src": pages.REFRESH_SCRIPT_PATH, "defer": None}]
    assert not [tag for tag, _ in parsed.tags if tag in ("img", "iframe", "object")]
    assert not [(tag, name) for tag, attrs in parsed.tags for name in attrs if name.startswith("on")]
    return parsed


def test_empty_store_gives_an_empty_index():
    document = pages.index_page([], total=0)
    parsed = assert_safe(document)
    assert "No jobs yet." in "".join(parsed.text)
    assert not parsed.find("tr", **{"class": "job"})


def test_index_groups_resources_then_extractors_then_jobs():
    jobs = [job_dict("j3", resource="r2", extractor="x"), job_dict("j2", resource="r1", extractor="y"),
            job_dict("j1", resource="r1", extractor="x"), job_dict("j0", resource="r2", extractor="x")]
    parsed = assert_safe(pages.index_page(jobs, total=4))
    order = [(tag, attrs.get("data-resource") or attrs.get("data-extractor") or attrs.get("data-job-id"))
             for tag, attrs in parsed.tags if tag == "section" or (tag == "tr" and "data-job-id" in attrs)]
    assert order == [("section", "r2"), ("section", "x"), ("tr", "j3"), ("tr", "j0"),
                     ("section", "r1"), ("section", "y"), ("tr", "j2"), ("section", "x"), ("tr", "j1")]


def test_index_row_has_the_columns_of_the_design():
    job = job_dict("j1", attempts=2, workers=["worker-a", "4f1c0a34-5a8b-4c1e-9d2f-3b6a7c8d9e0f"])
    document = pages.index_page([job], total=1)
    parsed = assert_safe(document)
    text = " ".join(parsed.text)
    for expected in ("j1", "PROCESSING", "2026-03-14 15:00:02", "5.0 s", job["user"], "2", "worker-a",
                     "4f1c0a34\u2026", "3/10 files"):
        assert expected in text
    assert parsed.find("a", href="/jobs/j1")
    assert 'style="width:30.0%"' in document
    assert '<td class="message">3/10 files (30%)</td>' in document


def test_only_a_leading_status_prefix_is_left_out_of_the_message():
    document = pages.index_page([job_dict("j1", message="a StatusMessage.error: b")], total=1)
    assert '<td class="message">a StatusMessage.error: b</td>' in document


@pytest.mark.parametrize("status", STATES)
def test_every_status_has_its_colour(status):
    document = pages.index_page([job_dict("j1", status=status)], total=1)
    parsed = assert_safe(document)
    assert parsed.find("span", **{"class": "status status-%s" % status.lower()})
    assert ".status-%s" % status.lower() in document


def test_an_unknown_status_is_shown_escaped_without_a_colour():
    parsed = assert_safe(pages.index_page([job_dict("j1", status=HOSTILE)], total=1))
    assert parsed.find("span", **{"class": "status status-other"})


def test_success_shows_a_full_green_bar_and_failure_a_red_one():
    document = pages.index_page([job_dict("ok", status="SUCCEEDED", progress=None),
                                 job_dict("bad", status="FAILED")], total=2)
    assert '<span class="bar done" title="100%"><span style="width:100.0%">' in document
    assert '<span class="bar failed" title="30%">' in document


def test_hostile_text_everywhere_is_escaped():
    job = job_dict(HOSTILE, status=HOSTILE, resource=HOSTILE, extractor=HOSTILE, user=HOSTILE,
                   message=HOSTILE * 3, workers=[HOSTILE, HOSTILE], superseded_by=HOSTILE,
                   progress={"done": 1, "total": 2, "unit": HOSTILE}, started=HOSTILE, elapsed=HOSTILE,
                   events=[{"id": HOSTILE, "ts": HOSTILE, "status": HOSTILE, "text": HOSTILE, "attempt": HOSTILE}])
    index = pages.index_page([job], total=1, filters={"extractor": HOSTILE, "user": HOSTILE})
    parsed = assert_safe(index)
    assert '<script>alert("x")</script>' in "".join(parsed.text)
    page = pages.job_page(job, {HOSTILE: []}, title=HOSTILE)
    parsed = assert_safe(page)
    assert '<script>alert("x")</script>' in "".join(parsed.text)
    assert assert_safe(pages.error_page(404, HOSTILE))


def test_wrong_types_in_a_job_do_not_break_the_pages():
    job = job_dict("j1", workers="not a list", progress="?", events={"not": "a list"}, attempts=None,
                   elapsed=float("nan"), resource=None, extractor=None)
    assert_safe(pages.index_page([job], total=1))
    assert_safe(pages.job_page(job, {}))


def test_paging_shows_the_count_of_the_rest_and_keeps_the_filters():
    jobs = [job_dict("j%d" % number) for number in range(100)]
    parsed = assert_safe(pages.index_page(jobs, total=250, offset=100, limit=100,
                                          filters={"status": "FAILED", "extractor": "a&b"}))
    text = "".join(parsed.text)
    assert "Showing jobs 101\u2013200 of 250, newest first; 50 older not shown." in text
    links = [attrs["href"] for attrs in parsed.find("a") if attrs.get("href", "").startswith("/?")]
    assert "/?status=FAILED&extractor=a%26b&limit=100" in links
    assert "/?status=FAILED&extractor=a%26b&limit=100&offset=200" in links
    assert parsed.find("option", value="FAILED", selected=None)


def test_job_page_has_facts_attempts_events_and_the_chart():
    store = MemoryStore(sample_events())
    job = store.job(JOB)
    document = pages.job_page(job, progress_series(store.raw_events(JOB)))
    parsed = assert_safe(document)
    assert parsed.find("body", data_refresh="5")
    assert len(parsed.find("tr", **{"class": "event"})) == len(job["events"])
    assert parsed.find("svg", **{"class": "progress-chart"})
    assert [attrs["data-worker"] for attrs in parsed.find("g") if "data-worker" in attrs] == [
        "worker-a", "worker-b"]
    assert parsed.find("a", href="/jobs/%s/chart.svg" % JOB)
    text = " ".join(parsed.text)
    for expected in (FILE, EXTRACTOR, "Attempts", "worker-a, worker-b", "2026-03-14 15:00:00"):
        assert expected in text


def test_a_finished_job_page_stops_refreshing():
    parsed = assert_safe(pages.job_page(job_dict("j1", status="SUCCEEDED"), {}))
    assert parsed.find("body", data_refresh="0")
    assert not parsed.find("meta", http_equiv="refresh")


def test_job_links_are_percent_encoded():
    assert pages.job_url("legacy-0123456789abcdef+") == "/jobs/legacy-0123456789abcdef%2B"
    assert pages.job_url("a/b?c") == "/jobs/a%2Fb%3Fc"


def test_long_job_lists_show_the_latest_events_only():
    events = [{"id": str(number), "ts": "2026-03-14T15:00:00.000Z", "status": "PROCESSING", "text": "t",
               "attempt": 1} for number in range(pages.EVENT_LIMIT + 5)]
    parsed = assert_safe(pages.job_page(job_dict("j1", events=events), {}))
    assert len(parsed.find("tr", **{"class": "event"})) == pages.EVENT_LIMIT
    assert "The 5 earliest events are not shown." in "".join(parsed.text)


@pytest.mark.parametrize("seconds, text", [(0.42, "0.4 s"), (42, "42 s"), (185, "3 min 5 s"),
                                           (7620, "2 h 7 min"), (273600, "3 d 4 h"), (None, ""),
                                           (-1, ""), (float("nan"), ""), ("5", "")])
def test_durations_read_naturally(seconds, text):
    assert duration(seconds) == text


def test_times_are_shown_to_the_second():
    assert when("2026-03-14T15:00:02.412Z") == "2026-03-14 15:00:02"
    assert when(None) == ""
