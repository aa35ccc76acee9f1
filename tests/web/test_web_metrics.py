"""``/metrics`` on the web app: the store's metrics for Prometheus, behind the app's host checks."""
import pytest
from conftest import Client, Served
from web_events import job_dict

from pyclowder_jobs.tools.web import make_app, views


def test_metrics_answer_the_prometheus_text_format_computed_from_the_store(web, store):
    answer = web.get("/metrics")

    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert answer.headers["Cache-Control"] == "no-store"
    assert "# TYPE pyclowder_jobs_jobs_finished_total counter" in answer.text
    finished = {line for line in answer.text.splitlines() if line.startswith("pyclowder_jobs_jobs_finished_total{")}
    expected = {(row["extractor"], row["succeeded"]) for row in store.stats()["extractors"] if row["succeeded"]}
    assert {(line.split('extractor="')[1].split('"')[0], int(float(line.split()[-1])))
            for line in finished if 'status="SUCCEEDED"' in line} == expected


def test_metrics_come_in_openmetrics_when_the_scraper_asks_for_it(web):
    answer = web.get("/metrics", Accept="application/openmetrics-text; version=1.0.0; charset=utf-8")

    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/openmetrics-text")
    assert answer.text.endswith("# EOF\n")


def test_metrics_refuse_a_host_name_the_app_was_not_told_about(web):
    answer = web.get("/metrics", Host="evil.example")

    assert answer.status == 400
    assert "pyclowder_jobs" not in answer.text


def test_metrics_take_no_parameters(web):
    answer = web.get("/metrics?extractor=x")

    assert answer.status == 400
    assert answer.json()["ok"] is False


def test_two_apps_on_one_store_give_the_same_metrics(store, served):
    other = Served(make_app(store.path))
    try:
        first, second = Client(served.base).get("/metrics"), Client(other.base).get("/metrics")
    finally:
        other.stop()

    assert first.status == second.status == 200
    assert first.text == second.text


# The unclaimed flag on the pages

def test_an_unclaimed_job_is_flagged_on_the_index():
    page = views.index_page([job_dict("job-1", status="SUBMITTED", started=None, unclaimed=True),
                             job_dict("job-2", status="SUBMITTED", started=None, unclaimed=None)], total=2)

    assert page.count('<span class="flag" title="%s">unclaimed</span>' % views.UNCLAIMED_WHY[True]) == 1


@pytest.mark.parametrize("flag, says", [(True, "yes \u2014 no worker of its extractor is alive"),
                                        (False, "no \u2014 a worker of its extractor is alive"),
                                        (None, "unknown \u2014 no heartbeat of its extractor was seen")])
def test_a_waiting_jobs_page_says_whether_it_is_unclaimed(flag, says):
    page = views.job_page(job_dict("job-1", status="SUBMITTED", started=None, unclaimed=flag), {})

    assert "<dt>Unclaimed</dt>" in page and says in page


def test_a_started_jobs_page_does_not_speak_of_unclaimed():
    assert "Unclaimed" not in views.job_page(job_dict("job-1", status="PROCESSING"), {})


def test_the_index_filters_by_unclaimed(web):
    answer = web.get("/?status=UNCLAIMED")

    assert answer.status == 200
    assert '<option value="UNCLAIMED" selected>unclaimed</option>' in answer.text
