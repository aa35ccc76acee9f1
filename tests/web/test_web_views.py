"""The HTML pages as pure functions: grouping, every status, facts and why they are missing, log
lines, paging, escaping of hostile text."""
from html.parser import HTMLParser

import pytest
from web_events import EXTRACTOR, FILE, HOSTILE, JOB, job_dict, log, sample_events
from web_store import MemoryStore

from pyclowder_jobs.server import STATES
from pyclowder_jobs.tools.web import views
from pyclowder_jobs.tools.web.chart import progress_series
from pyclowder_jobs.tools.web.markup import MAX_TEXT
from pyclowder_jobs.tools.web.views import NO_SUBMITTED, duration, when


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

    def joined(self) -> str:
        return " ".join(" ".join(self.text).split())


def assert_safe(document: str) -> Tags:
    """No markup of ours was broken: one script (ours), no event handlers, no injected elements."""
    assert "\x00" not in document and "\ud800" not in document
    parsed = Tags(document)
    scripts = [attrs for tag, attrs in parsed.tags if tag == "script"]
    assert len(scripts) <= 1 and all(attrs == {"src": attrs["src"], "defer": None} and attrs["src"].endswith(
        "/static/live.js") for attrs in scripts)
    assert not [tag for tag, _ in parsed.tags if tag in ("img", "iframe", "object", "style")]
    assert not [(tag, name) for tag, attrs in parsed.tags for name in attrs if name.startswith("on") or name == "style"]
    return parsed


def index(jobs, **options):
    return views.index_page(jobs, total=options.pop("total", len(jobs)), **options)


def test_empty_store_gives_an_empty_index():
    parsed = assert_safe(index([]))
    assert "No jobs yet." in parsed.joined()
    assert not parsed.find("tr", **{"class": "job"})


def test_index_groups_resources_then_extractors_then_jobs():
    jobs = [job_dict("j3", resource="r2", extractor="x"), job_dict("j2", resource="r1", extractor="y"),
            job_dict("j1", resource="r1", extractor="x"), job_dict("j0", resource="r2", extractor="x")]
    parsed = assert_safe(index(jobs))
    order = [(tag, attrs.get("data-resource") or attrs.get("data-extractor") or attrs.get("data-job-id"))
             for tag, attrs in parsed.tags if tag == "section" or (tag == "tr" and "data-job-id" in attrs)]
    assert order == [("section", "r2"), ("section", "x"), ("tr", "j3"), ("tr", "j0"),
                     ("section", "r1"), ("section", "y"), ("tr", "j2"), ("section", "x"), ("tr", "j1")]


def test_index_row_has_the_columns_of_the_design():
    worker = "4f1c0a34-5a8b-4c1e-9d2f-3b6a7c8d9e0f"
    job = job_dict("j1", attempts=2, workers=["worker-a", worker])
    document = index([job], hosts={worker: ("node7", 4242)})
    parsed = assert_safe(document)
    text = parsed.joined()
    for expected in ("j1", "PROCESSING", "2026-03-14 15:00:02", "5.0 s", job["user"], "2", "worker-a",
                     "node7:4242", "3/10 files"):
        assert expected in text
    assert parsed.find("span", **{"class": "worker", "title": worker})
    assert parsed.find("a", href="/jobs/j1")
    assert parsed.find("progress", value="3", max="10")
    assert "3/10 files (30%)" in text


def test_resources_are_named_by_their_file_name_where_the_request_had_one():
    jobs = [job_dict("j2", resource_name="report.csv"), job_dict("j1", resource_name=None),
            job_dict("j0", resource="r2")]
    parsed = assert_safe(index(jobs))
    headings = [" ".join(text.split()) for text in "".join(parsed.text).split("\n") if FILE in text or "r2" in text]
    assert "report.csv %s" % FILE in headings
    assert "Resource r2" in headings


def test_only_a_leading_status_prefix_is_left_out_of_the_message():
    assert "a StatusMessage.error: b" in assert_safe(index([job_dict("j1", message="a StatusMessage.error: b")])).joined()
    assert "StatusMessage" not in assert_safe(index([job_dict("j1", message="StatusMessage.error: b")])).joined()


@pytest.mark.parametrize("status", STATES)
def test_every_status_has_its_badge(status):
    parsed = assert_safe(index([job_dict("j1", status=status)]))
    assert parsed.find("span", **{"class": "status status-%s" % status.lower()})


def test_an_unknown_status_is_shown_escaped_without_a_colour():
    parsed = assert_safe(index([job_dict("j1", status=HOSTILE)]))
    assert parsed.find("span", **{"class": "status status-other"})


def test_a_progress_bar_only_where_progress_was_reported():
    parsed = assert_safe(index([job_dict("ok", status="SUCCEEDED", progress=None),
                                job_dict("bad", status="FAILED"), job_dict("count", progress={"done": 4})]))
    assert parsed.find("progress", **{"class": "failed", "value": "3", "max": "10"})
    assert len(parsed.find("progress")) == 1
    assert "none reported" in parsed.joined() and "4" in parsed.joined()


def test_a_finished_job_without_progress_shows_no_chart_and_says_so():
    parsed = assert_safe(views.job_page(job_dict("j1", status="SUCCEEDED", progress=None), {}))
    assert not parsed.find("svg") and not parsed.find("progress")
    assert "No progress was reported." in parsed.joined()
    assert "No progress reported yet." in assert_safe(views.job_page(job_dict("j1", progress=None), {})).joined()


def test_missing_facts_say_why():
    tap_job = job_dict("j1", submitted=None, user=None, queue_wait=None, workers=[],
                       events=[{"id": None, "ts": "2026-03-14T15:00:02.000Z", "status": "STARTED", "text": "t",
                                "attempt": 1}])
    text = assert_safe(views.job_page(tap_job, {})).joined()
    assert "Submitted by not recorded \u2014 %s" % NO_SUBMITTED["tap"] in text
    assert "Waiting in queue not recorded \u2014 %s" % NO_SUBMITTED["tap"] in text
    assert "Finished not finished yet" in text
    assert "Workers none named" in text
    clowder_job = dict(tap_job, events=[dict(tap_job["events"][0], id="5c8a1e0f0000000000000001")])
    assert "not recorded \u2014 no SUBMITTED event: Clowder before v1.6 did not send one" in assert_safe(
        views.job_page(clowder_job, {})).joined()
    anonymous = job_dict("j1", user=None)
    assert "the SUBMITTED event names no user" in assert_safe(views.job_page(anonymous, {})).joined()
    waiting = job_dict("j1", status="SUBMITTED", started=None, elapsed=None, run_time=None, queue_wait=None)
    assert "Started not started yet: waiting in the queue" in assert_safe(views.job_page(waiting, {})).joined()


def test_an_index_cell_without_its_fact_says_so_and_why_on_hover():
    parsed = assert_safe(index([job_dict("j1", user=None, events=[], workers=[])]))
    assert parsed.find("span", **{"class": "unknown", "title": "not recorded \u2014 " + NO_SUBMITTED["tap"]})
    assert "none named" in parsed.joined()


def test_hostile_text_everywhere_is_escaped():
    job = job_dict(HOSTILE, status=HOSTILE, resource=HOSTILE, extractor=HOSTILE, user=HOSTILE, resource_name=HOSTILE,
                   message=HOSTILE * 3, workers=[HOSTILE, HOSTILE], superseded_by=HOSTILE,
                   progress={"done": 1, "total": 2, "unit": HOSTILE}, started=HOSTILE, elapsed=HOSTILE,
                   events=[{"id": HOSTILE, "ts": HOSTILE, "status": HOSTILE, "text": HOSTILE, "attempt": HOSTILE}])
    parsed = assert_safe(index([job], filters={"extractor": HOSTILE, "user": HOSTILE}, hosts={HOSTILE: (HOSTILE, 1)}))
    assert '<script>alert("x")</script>' in "".join(parsed.text)
    hostile_log = log(1, HOSTILE, level=HOSTILE, worker=HOSTILE, logger=HOSTILE)
    lines = [views.log_line(1, hostile_log, {HOSTILE: (HOSTILE, 1)})]
    page = views.job_page(job, {HOSTILE: []}, lines, title=HOSTILE)
    parsed = assert_safe(page)
    assert '<script>alert("x")</script>' in "".join(parsed.text)
    assert assert_safe(views.error_page(404, HOSTILE))
    assert_safe(views.log_rows(lines))


def test_huge_values_are_cut_on_the_page():
    document = views.job_page(job_dict("j1", message="x" * (MAX_TEXT * 3)), {})
    assert "x" * MAX_TEXT in document and "x" * (MAX_TEXT + 1) not in document
    assert "(%d more characters)" % (MAX_TEXT * 2) in document


def test_wrong_types_in_a_job_do_not_break_the_pages():
    job = job_dict("j1", workers="not a list", progress="?", events={"not": "a list"}, attempts=None,
                   elapsed=float("nan"), resource=None, extractor=None, resource_name=7)
    assert_safe(index([job]))
    assert_safe(views.job_page(job, {}))
    assert_safe(views.log_rows([views.log_line(1, {"tracking": "x", "level": None}, {})]))


def test_paging_shows_the_count_of_the_rest_and_keeps_the_filters():
    jobs = [job_dict("j%d" % number) for number in range(100)]
    parsed = assert_safe(index(jobs, total=250, offset=100, limit=100, filters={"status": "FAILED", "extractor": "a&b"}))
    assert "Showing jobs 101\u2013200 of 250, newest first; 50 older not shown." in parsed.joined()
    links = [attrs["href"] for attrs in parsed.find("a") if attrs.get("href", "").startswith("/?")]
    assert "/?status=FAILED&extractor=a%26b&limit=100" in links
    assert "/?status=FAILED&extractor=a%26b&limit=100&offset=200" in links
    assert parsed.find("option", value="FAILED", selected=None)


def test_links_and_assets_carry_the_prefix_the_app_is_mounted_under():
    parsed = assert_safe(index([job_dict("j1")], base="/jobs", live="/jobs/live?after=1"))
    assert parsed.find("a", href="/jobs/jobs/j1") and parsed.find("link", href="/jobs/static/app.css")
    assert parsed.find("body", data_live="/jobs/live?after=1")


def test_job_page_has_facts_chart_logs_attempts_and_events():
    store = MemoryStore(sample_events() + [log(8, "reading"), log(9, "slow disk", level="WARNING")])
    job = store.job(JOB)
    hosts = views.hosts_of(store.raw_events(JOB))
    lines = [views.log_line(seq, event, hosts) for seq, event in enumerate(
        (event for event in store.raw_events(JOB) if "level" in event), 1)]
    parsed = assert_safe(views.job_page(job, progress_series(store.raw_events(JOB)), lines, hosts=hosts,
                                        live="/jobs/x/live"))
    assert parsed.find("body", data_live="/jobs/x/live")
    assert len(parsed.find("tr", **{"class": "event"})) == len(job["events"])
    assert parsed.find("svg", **{"class": "progress-chart"})
    assert [attrs["data-worker"] for attrs in parsed.find("g") if "data-worker" in attrs] == ["worker-a", "worker-b"]
    assert parsed.find("a", href="/jobs/%s/chart.svg" % JOB)
    assert [attrs["class"] for attrs in parsed.find("tr") if attrs.get("class", "").startswith("log")] == [
        "log level-info", "log level-warning"]
    text = parsed.joined()
    for expected in (FILE, EXTRACTOR, "Attempts", "node1:4242", "2026-03-14 15:00:00", "slow disk", "Log 2 lines",
                     "2026-03-14 15:00:09.000 WARNING 1 node1:4242 wordcount slow disk"):
        assert expected in text
    assert "Event id" not in text  # tracked replies have no document ids


def test_the_event_id_column_appears_where_events_have_ids():
    job = job_dict("j1", events=[{"id": "5c8a1e0f0000000000000001", "ts": "2026-03-14T15:00:00.000Z",
                                  "status": "SUBMITTED", "text": "SUBMITTED", "attempt": 1}])
    text = assert_safe(views.job_page(job, {})).joined()
    assert "Event id" in text and "5c8a1e0f0000000000000001" in text


@pytest.mark.parametrize("level, css", [("INFO", "info"), ("warning", "warning"), ("WARN", "warning"),
                                        ("FATAL", "critical"), ("NOTICE", "other"), (None, "other")])
def test_log_lines_get_a_level_class_the_filter_knows(level, css):
    assert views.log_line(1, log(1, "x", level=level), {})["css"] == css


def test_the_log_filter_starts_at_the_level_asked_for():
    parsed = assert_safe(views.job_page(job_dict("j1"), {}, level="warning"))
    assert parsed.find("table", **{"class": "logs min-warning"})
    assert parsed.find("option", value="warning", selected=None)


def test_long_job_lists_show_the_latest_events_only():
    events = [{"id": None, "ts": "2026-03-14T15:00:00.000Z", "status": "PROCESSING", "text": "t", "attempt": 1}
              for _ in range(views.EVENT_LIMIT + 5)]
    parsed = assert_safe(views.job_page(job_dict("j1", events=events), {}))
    assert len(parsed.find("tr", **{"class": "event"})) == views.EVENT_LIMIT
    assert "The 5 earliest events are not shown." in parsed.joined()


def test_job_links_are_percent_encoded():
    assert views.job_url("legacy-0123456789abcdef+") == "/jobs/legacy-0123456789abcdef%2B"
    assert views.job_url("a/b?c", "/jobs") == "/jobs/jobs/a%2Fb%3Fc"


@pytest.mark.parametrize("seconds, text", [(0, "0 ms"), (0.016, "16 ms"), (0.42, "420 ms"), (4.2, "4.2 s"),
                                           (42, "42 s"), (185, "3 min 5 s"), (7620, "2 h 7 min"),
                                           (273600, "3 d 4 h"), (None, ""), (-1, ""), (float("nan"), ""), ("5", "")])
def test_durations_have_one_format(seconds, text):
    assert duration(seconds) == text


def test_times_are_shown_to_the_second():
    assert when("2026-03-14T15:00:02.412Z") == "2026-03-14 15:00:02"
    assert when(None) == ""


def test_worker_labels_are_host_and_pid_else_the_id_as_given():
    hosts = {"4f1c0a34-uuid": ("node7", 4242), "progress-worker": ("127.0.0.1", 0)}
    assert views.worker_label("4f1c0a34-uuid", hosts) == "node7:4242"
    assert views.worker_label("progress-worker", hosts) == "progress-worker"
    assert views.worker_label("unknown", hosts) == "unknown"
    assert views.hosts_of([log(1, "x", worker="w", host="h", pid=7), {"id": "beat", "tracking": {"host": "b", "pid": 3}},
                           {"tracking": "no"}, None]) == {"w": ("h", 7), "beat": ("b", 3)}
