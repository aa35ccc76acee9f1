"""The HTTP server on a loopback port, with real requests: routes, headers, errors, never a 500."""
import json
import socket
import xml.etree.ElementTree as ElementTree
from urllib.parse import quote

import pytest
from conftest import Client, start_server
from web_events import DATASET, FILE, JOB, JOB2, progress, submitted
from web_store import MemoryStore

from pyclowder_jobs.tools.web import pages
from pyclowder_jobs.tools.web import httpd as server
from pyclowder_jobs.tools.web.httpd import MAX_BODY, WebApp


def test_index_lists_the_jobs(web):
    answer = web.get("/")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    for expected in ('data-job-id="%s"' % JOB, 'data-job-id="%s"' % JOB2, 'data-resource="%s"' % FILE,
                     'data-resource="%s"' % DATASET, "Showing jobs 1\u20132 of 2"):
        assert expected in answer.text


def test_index_filters_and_pages(web, store):
    store.add_events([submitted(100 + number, job="%024x" % number, resource="r%d" % (number % 3))
                      for number in range(250)])
    answer = web.get("/?status=SUBMITTED&limit=100&offset=100")
    assert answer.status == 200
    assert answer.text.count('<tr class="job"') == 100
    assert "Showing jobs 101\u2013200 of 250, newest first; 50 older not shown." in answer.text
    everything = web.get("/?limit=100")
    assert "Showing jobs 1\u2013100 of 252, newest first; 152 older not shown." in everything.text
    failed = web.get("/?status=FAILED")
    assert failed.text.count('<tr class="job"') == 1 and 'data-job-id="%s"' % JOB2 in failed.text
    assert web.get("/?extractor=nobody").text.count('<tr class="job"') == 0


def test_a_store_without_counts_is_counted_by_reading_the_jobs():
    store = MemoryStore([submitted(number, job="%024x" % number) for number in range(30)])
    server, thread = start_server(store)
    try:
        client = Client("http://127.0.0.1:%d" % server.server_address[1])
        assert "Showing jobs 11\u201320 of 30, newest first; 10 older not shown." in client.get(
            "/?limit=10&offset=10").text
        assert client.get("/api/jobs.json?limit=10&offset=25").json()["total"] == 30
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_the_count_of_all_jobs_is_reused_for_a_few_seconds(monkeypatch):
    store = MemoryStore([submitted(number, job="%024x" % number) for number in range(30)])
    app = WebApp(store)
    assert "of 30, newest first" in app.handle("GET", "/?limit=10").body.decode()
    store.add_events([submitted(100 + number, job="%024x" % (100 + number)) for number in range(5)])
    assert "of 30, newest first" in app.handle("GET", "/?limit=10").body.decode()
    assert "of 35, newest first" in app.handle("GET", "/?limit=10&status=SUBMITTED").body.decode()
    monkeypatch.setattr(server, "TOTAL_TTL", 0.0)
    assert "of 35, newest first" in app.handle("GET", "/?limit=10").body.decode()


def test_api_jobs_json(web):
    answer = web.get("/api/jobs.json?limit=1")
    assert answer.headers["Content-Type"] == "application/json"
    data = answer.json()
    assert (data["total"], data["offset"], data["limit"], len(data["jobs"])) == (2, 0, 1, 1)
    assert data["jobs"][0]["job_id"] == JOB2


def test_job_page_json_and_chart(web, store):
    page = web.get("/jobs/" + JOB)
    assert page.status == 200 and 'class="progress-chart"' in page.text
    served = web.get("/jobs/%s.json" % JOB).json()
    expected = json.loads(json.dumps(store.job(JOB)))
    for running_time in ("elapsed", "run_time"):  # the job runs on: these grow between the two reads
        assert served.pop(running_time) <= expected.pop(running_time)
    assert served == expected
    chart = web.get("/jobs/%s/chart.svg" % JOB)
    assert chart.headers["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert chart.headers["Content-Security-Policy"].startswith("default-src 'none'")
    root = ElementTree.fromstring(chart.text)
    assert sorted(group.get("data-worker") for group in root.iter("{http://www.w3.org/2000/svg}g")
                  if group.get("data-worker")) == ["worker-a", "worker-b"]


def test_the_refresh_script_is_served(web):
    answer = web.get(pages.REFRESH_SCRIPT_PATH)
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/javascript")
    assert "DOMParser" in answer.text


def test_job_ids_that_need_encoding_and_ids_ending_in_json(web):
    assert web.get("/create?jobid=report.json").status == 200
    assert 'data-refresh="5"' in web.get("/jobs/report.json").text
    assert web.get("/jobs/report.json.json").json()["job_id"] == "report.json"
    assert web.get("/jobs/" + quote("legacy-x+", safe="")).status == 404


def test_progress_service_over_get_and_post(web, store):
    assert web.get("/create?jobid=sync&desc=nightly%20sync&maxage=600").json() == {
        "ok": True, "jobid": "sync", "created": True}
    assert web.post("/update", "jobid=sync&workid=node1&current=3&total=10").json()["progress"] == "3/10 (30%)"
    assert web.post("/update?jobid=sync", "workid=node2&current=1&total=10&ok=0").json()["failed"] is True
    show = web.get("/show?jobid=sync&interval=2")
    assert show.status == 200 and 'data-refresh="2"' in show.text
    assert '<meta http-equiv="refresh" content="2">' in show.text
    render = web.get("/render?jobid=sync")
    assert render.headers["Content-Type"].startswith("image/svg+xml")
    assert 'data-worker="node2"' in render.text
    assert store.job("sync")["workers"] == ["node1", "node2"]
    assert 'data-job-id="sync"' in web.get("/").text


@pytest.mark.parametrize("target, parameter", [
    ("/create", "jobid"), ("/create?jobid=a%20b", "jobid"), ("/create?jobid=j&maxage=soon", "maxage"),
    ("/create?jobid=j&jobid=k", "jobid"), ("/create?jobid=j&colour=red", "colour"),
    ("/update?jobid=j&current=1&total=2", "workid"), ("/update?jobid=j&workid=w&current=x&total=2", "current"),
    ("/update?jobid=j&workid=w&current=1&total=0", "total"), ("/update?jobid=j&workid=w&current=1&total=2&ok=2", "ok"),
    ("/update?jobid=j&workid=w&current=1&total=2&desc=" + "d" * 201, "desc"),
    ("/show?jobid=%s&interval=0" % JOB, "interval"), ("/render", "jobid"),
    ("/?status=DONE", "status"), ("/?limit=0", "limit"), ("/?limit=1001", "limit"), ("/?offset=-1", "offset"),
    ("/?page=2", "page"), ("/?extractor=" + "x" * 201, "extractor"), ("/api/jobs.json?limit=x", "limit"),
])
def test_every_bad_parameter_is_a_400_naming_it(web, target, parameter):
    answer = web.get(target)
    assert answer.status == 400
    if answer.headers["Content-Type"] == "application/json":
        body = answer.json()
        assert body["ok"] is False and body["parameter"] == parameter
        assert body["error"].startswith("bad parameter %s: " % parameter)
    else:
        assert "bad parameter %s: " % parameter in answer.text


@pytest.mark.parametrize("target, status", [
    ("/nowhere", 404), ("/jobs/", 404), ("/jobs/nothing", 404), ("/jobs/nothing.json", 404),
    ("/jobs/nothing/chart.svg", 404), ("/jobs/%ff", 404), ("/jobs/%00", 404), ("/jobs/a%2Fb", 404),
    ("/jobs/%s?x=1" % JOB, 400), ("/?status=%ff", 400), ("/create?jobid=%ff", 400),
    ("/update?" + "&".join("p%d=1" % number for number in range(30)), 400),
    ("/show?jobid=nothing", 404), ("/render?jobid=nothing", 404), ("/" + "x" * 5000, 414),
    ("/create?jobid=" + JOB, 409),
])
def test_bad_requests_get_clear_errors_never_a_500(web, target, status):
    answer = web.get(target)
    assert answer.status == status
    assert answer.text.strip()


def test_posts_are_only_for_create_and_update(web):
    assert web.post("/", "x=1").status == 405
    assert web.post("/show", "jobid=j").status == 405


def test_a_body_too_large_is_refused(web):
    answer = web.post("/update", "desc=" + "x" * MAX_BODY)
    assert answer.status == 413
    assert "at most %d bytes" % MAX_BODY in answer.json()["error"]


def test_a_chunked_body_is_refused(web):
    host, port = web.base[len("http://"):].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"POST /update HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\njobid\r\n0\r\n\r\n")
        assert raw.recv(4096).startswith(b"HTTP/1.1 411 ")
    assert web.get("/").status == 200


def test_a_body_that_is_not_utf8_is_refused(web):
    answer = web.request("/update", data=b"jobid=\xff", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 400 and "UTF-8" in answer.json()["error"]


def test_head_answers_without_a_body(web):
    answer = web.request("/", method="HEAD")
    assert answer.status == 200 and answer.text == "" and int(answer.headers["Content-Length"]) > 0


def test_garbage_on_the_socket_does_not_stop_the_server(web):
    host, port = web.base[len("http://"):].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"\x00\xff garbage\r\n\r\n")
        raw.recv(4096)
    assert web.get("/").status == 200


def test_a_store_error_is_a_logged_500_and_the_server_goes_on(web, store, monkeypatch, caplog):
    def broken(**filters):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(store, "jobs", broken)
    answer = web.get("/")
    assert answer.status == 500 and "internal error" in answer.text and "disk on fire" not in answer.text
    assert "disk on fire" in caplog.text
    assert web.get("/jobs/" + JOB).status == 200


def test_hostile_events_in_the_store_are_shown_as_text(web, store):
    evil = "<script>alert(1)</script>\x01"
    store.add_events([submitted(50, job="evil", resource=evil, extractor=evil),
                      progress(51, 1, 2, job="evil", worker=evil, resource=evil, extractor=evil, unit=evil)])
    for target in ("/", "/jobs/evil", "/jobs/evil/chart.svg"):
        answer = web.get(target)
        assert answer.status == 200, target
        assert "<script>alert" not in answer.text and "\x01" not in answer.text, target
    ElementTree.fromstring(web.get("/jobs/evil/chart.svg").text)
    answer = web.get("/jobs/evil.json")
    assert answer.headers["Content-Type"] == "application/json" and answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.json()["resource_id"] == evil


def test_the_page_shows_what_arrives_while_it_runs(web, store):
    store.add_events([progress(30, 9, 10, worker="worker-c")])
    assert 'data-worker="worker-c"' in web.get("/jobs/%s/chart.svg" % JOB).text
