"""The app on a real uvicorn, with real requests: routes, headers, limits, the token, host names,
cross-origin writes, a mount under a prefix, concurrency, live updates; never a 500."""
import http.client
import json
import socket
import statistics
import threading
import time
import xml.etree.ElementTree as ElementTree
from urllib.parse import quote

import pytest
from conftest import TOKEN, Client, Served
from fastapi import FastAPI
from web_events import DATASET, FILE, JOB, JOB2, log, progress, reply, submitted

from pyclowder_jobs.store import Store
from pyclowder_jobs.tools.web import app as web_app
from pyclowder_jobs.tools.web import make_app
from pyclowder_jobs.tools.web.app import MAX_BODY


def test_index_lists_the_jobs_with_the_security_headers(web):
    answer = web.get("/")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "unsafe-inline" not in policy
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Cache-Control"] == "no-store"
    for expected in ('data-job-id="%s"' % JOB, 'data-job-id="%s"' % JOB2, 'data-resource="%s"' % FILE,
                     'data-resource="%s"' % DATASET, "Showing jobs 1\u20132 of 2", 'data-live="/live?'):
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


def test_the_count_of_all_jobs_is_reused_for_a_few_seconds(store, monkeypatch):
    store.add_events([submitted(100 + number, job="%024x" % number) for number in range(30)])
    site = make_app(store).state.site
    assert site._select({}, 10, 0)[0] == 32
    store.add_events([submitted(200 + number, job="%024x" % (200 + number)) for number in range(5)])
    assert site._select({}, 10, 0)[0] == 32
    assert site._select({"status": "SUBMITTED"}, 10, 0)[0] == 35
    monkeypatch.setattr(web_app, "TOTAL_TTL", 0.0)
    assert site._select({}, 10, 0)[0] == 37
    site.close()


def test_api_jobs_json(web):
    answer = web.get("/api/jobs.json?limit=1")
    assert answer.headers["Content-Type"] == "application/json"
    data = answer.json()
    assert (data["total"], data["offset"], data["limit"], len(data["jobs"])) == (2, 0, 1, 1)
    assert data["jobs"][0]["job_id"] == JOB2


def test_job_page_json_and_chart(web, store):
    page = web.get("/jobs/" + JOB)
    assert page.status == 200 and 'class="progress-chart"' in page.text
    assert 'data-live="/jobs/%s/live?after=' % JOB in page.text
    served = web.get("/jobs/%s.json" % JOB).json()
    expected = json.loads(json.dumps(store.job(JOB)))
    for running_time in ("elapsed", "run_time"):  # the job runs on: these grow between the two reads
        assert served.pop(running_time) <= expected.pop(running_time)
    assert served == expected
    chart = web.get("/jobs/%s/chart.svg" % JOB)
    assert chart.headers["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert chart.headers["Content-Security-Policy"] == "default-src 'none'"
    root = ElementTree.fromstring(chart.text)
    assert sorted(group.get("data-worker") for group in root.iter("{http://www.w3.org/2000/svg}g")
                  if group.get("data-worker")) == ["worker-a", "worker-b"]


def test_the_job_page_lists_its_log_lines_and_logs_json_pages_them(web, store):
    store.add_events([log(8, "reading the file"), log(9, "no words", level="WARNING", worker="worker-b"),
                      log(9, "someone else's", job=JOB2)])
    page = web.get("/jobs/" + JOB)
    assert page.text.count('<tr class="log ') == 2
    assert '<tr class="log level-warning"' in page.text and "no words" in page.text
    assert "someone else" not in page.text
    lines = web.get("/jobs/%s/logs.json" % JOB).json()
    assert [line["message"] for line in lines["lines"]] == ["reading the file", "no words"]
    assert lines["more"] is False and lines["lines"][1]["level"] == "WARNING"
    after = web.get("/jobs/%s/logs.json?after=%d" % (JOB, lines["lines"][0]["seq"])).json()
    assert [line["message"] for line in after["lines"]] == ["no words"]
    assert 'class="logs min-warning"' in web.get("/jobs/%s?level=warning" % JOB).text


def test_static_files_are_served(web):
    for name, kind in (("app.css", "text/css"), ("live.js", "text/javascript")):
        answer = web.get("/static/" + name)
        assert answer.status == 200 and answer.headers["Content-Type"].startswith(kind)
        assert answer.headers["Cache-Control"] == "no-cache"
    assert "EventSource" in web.get("/static/live.js").text


def test_job_ids_that_need_encoding_and_ids_ending_in_json(web):
    assert web.post("/create", "jobid=report.json").status == 200
    assert "Job report.json" in web.get("/jobs/report.json").text
    assert web.get("/jobs/report.json.json").json()["job_id"] == "report.json"
    assert web.get("/jobs/" + quote("legacy-x+", safe="")).status == 404


def test_progress_service_writes_with_the_token_and_shows_and_renders(web, store):
    assert web.post("/create", "jobid=sync&desc=nightly%20sync&maxage=600").json() == {
        "ok": True, "jobid": "sync", "created": True}
    assert web.post("/update", "jobid=sync&workid=node1&current=3&total=10").json()["progress"] == "3/10 (30%)"
    assert web.post("/update?jobid=sync", "workid=node2&current=1&total=10&ok=0").json()["failed"] is True
    show = web.get("/show?jobid=sync&interval=2")
    assert show.status == 200 and "Progress of job sync" in show.text
    assert "interval=2" in show.text and '<meta http-equiv="refresh" content="10">' in show.text
    render = web.get("/render?jobid=sync")
    assert render.headers["Content-Type"].startswith("image/svg+xml")
    assert 'data-worker="node2"' in render.text
    assert store.job("sync")["workers"] == ["node1", "node2"]
    assert 'data-job-id="sync"' in web.get("/").text


def test_the_token_may_also_come_as_a_form_field(web, store):
    assert web.post("/create", "jobid=form&token=" + TOKEN, token=None).status == 200
    assert store.job("form") is not None


@pytest.mark.parametrize("token, status", [(None, 401), ("", 401), ("wrong", 403), (TOKEN + "x", 403)])
def test_writes_without_the_token_are_refused_and_change_nothing(web, store, token, status):
    before = len(list(store.all_events()))
    answer = web.post("/update", "jobid=sync&workid=w&current=1&total=2", token=token)
    assert answer.status == status
    assert answer.json()["ok"] is False and "token" in answer.json()["error"]
    if status == 401:
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert len(list(store.all_events())) == before


def test_writes_are_posts(web, store):
    answer = web.get("/create?jobid=x")
    assert answer.status == 405 and "POST" in answer.json()["error"]
    assert store.job("x") is None


@pytest.mark.parametrize("target, parameter", [
    ("/create", "jobid"), ("/create?jobid=a%20b", "jobid"), ("/create?jobid=j&maxage=soon", "maxage"),
    ("/create?jobid=j&jobid=k", "jobid"), ("/create?jobid=j&colour=red", "colour"),
    ("/update?jobid=j&current=1&total=2", "workid"), ("/update?jobid=j&workid=w&current=x&total=2", "current"),
    ("/update?jobid=j&workid=w&current=1&total=0", "total"), ("/update?jobid=j&workid=w&current=1&total=2&ok=2", "ok"),
    ("/update?jobid=j&workid=w&current=1&total=2&desc=" + "d" * 201, "desc"),
])
def test_every_bad_write_parameter_is_a_400_naming_it(web, target, parameter):
    body = web.post(target, "").json()
    assert body["ok"] is False and body["parameter"] == parameter
    assert body["error"].startswith("bad parameter %s: " % parameter)


@pytest.mark.parametrize("target, parameter", [
    ("/show?jobid=%s&interval=0" % JOB, "interval"), ("/render", "jobid"),
    ("/?status=DONE", "status"), ("/?limit=0", "limit"), ("/?limit=1001", "limit"), ("/?offset=-1", "offset"),
    ("/?page=2", "page"), ("/?extractor=" + "x" * 201, "extractor"), ("/api/jobs.json?limit=x", "limit"),
    ("/jobs/%s?level=loud" % JOB, "level"), ("/jobs/%s?x=1" % JOB, "x"), ("/jobs/%s/logs.json?after=-1" % JOB, "after"),
    ("/live?after=x", "after"), ("/jobs/%s/live?interval=0" % JOB, "interval"),
])
def test_every_bad_read_parameter_is_a_400_naming_it(web, target, parameter):
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
    ("/jobs/nothing/chart.svg", 404), ("/jobs/nothing/live", 404), ("/jobs/nothing/logs.json", 404),
    ("/jobs/%ff", 404), ("/jobs/%00", 404), ("/jobs/a%2Fb", 404), ("/jobs/%s/chart.svg?x=1" % JOB, 400),
    ("/?status=%ff", 400), ("/?" + "&".join("p%d=1" % number for number in range(30)), 400),
    ("/show?jobid=nothing", 404), ("/render?jobid=nothing", 404), ("/" + "x" * 5000, 414),
    ("/static/nothing.js", 404), ("/static/../app.py", 404),
])
def test_bad_requests_get_clear_errors_never_a_500(web, target, status):
    answer = web.get(target)
    assert answer.status == status
    assert answer.text.strip()


def test_a_write_into_an_extractors_job_is_a_conflict(web):
    assert web.post("/create", "jobid=" + JOB).status == 409


def test_posts_are_only_for_create_and_update(web):
    assert web.post("/", "x=1").status == 405
    assert web.post("/show", "jobid=j").status == 405


def test_a_body_too_large_is_refused(web):
    answer = web.post("/update", "desc=" + "x" * MAX_BODY)
    assert answer.status == 413
    assert "at most %d bytes" % MAX_BODY in answer.json()["error"]


def test_a_form_sent_as_multipart_is_refused(web):
    answer = web.post("/update", "--x\r\n", Content_Type="multipart/form-data; boundary=x")
    assert answer.status == 415 and "curl -d" in answer.json()["error"]


def raw_exchange(web: Client, data: bytes) -> bytes:
    host, port = web.base[len("http://"):].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(data)
        return raw.recv(65536)


def test_a_chunked_body_is_refused(web):
    answer = raw_exchange(web, b"POST /update HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN.encode()
                          + b"\r\nTransfer-Encoding: chunked\r\n\r\n5\r\njobid\r\n0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 411 ")
    assert web.get("/").status == 200


def test_a_body_that_is_not_utf8_is_refused(web):
    answer = web.request("/update", data=b"jobid=\xff", headers={"Content-Type": "application/x-www-form-urlencoded",
                                                                 "Authorization": "Bearer " + TOKEN})
    assert answer.status == 400 and "UTF-8" in answer.json()["error"]


def test_head_answers_without_a_body(web):
    answer = web.request("/", method="HEAD")
    assert answer.status == 200 and answer.text == "" and int(answer.headers["Content-Length"]) > 0


def test_garbage_on_the_socket_does_not_stop_the_server(web):
    raw_exchange(web, b"\x00\xff garbage\r\n\r\n")
    assert web.get("/").status == 200


def test_a_store_error_is_a_logged_500_and_the_server_goes_on(web, monkeypatch, caplog):
    def broken(self, **filters):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(Store, "jobs", broken)
    answer = web.get("/")
    assert answer.status == 500 and "internal error" in answer.text and "disk on fire" not in answer.text
    assert "disk on fire" in caplog.text
    assert web.get("/jobs/" + JOB).status == 200


def test_hostile_events_in_the_store_are_shown_as_text(web, store):
    evil = "<script>alert(1)</script>\x01"
    store.add_events([submitted(50, job="evil", resource=evil, extractor=evil),
                      progress(51, 1, 2, job="evil", worker=evil, resource=evil, extractor=evil, unit=evil),
                      log(52, evil * 1000, level=evil, job="evil", worker=evil)])
    for target in ("/", "/jobs/evil", "/jobs/evil/chart.svg"):
        answer = web.get(target)
        assert answer.status == 200, target
        assert "<script>alert" not in answer.text and "\x01" not in answer.text, target
    ElementTree.fromstring(web.get("/jobs/evil/chart.svg").text)
    answer = web.get("/jobs/evil.json")
    assert answer.headers["Content-Type"] == "application/json" and answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.json()["resource_id"] == evil


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST:8080", "[::1]:80"])
def test_the_loopback_names_are_answered(web, host):
    assert web.get("/", Host=host).status == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example", "", "a b", "[::1"])
def test_other_host_names_are_refused(web, host):
    answer = web.get("/", Host=host)
    assert answer.status == 400
    assert "data-job-id" not in answer.text


def test_the_refusal_of_a_host_name_says_how_to_allow_it(web):
    assert "--allow-host evil.example" in web.get("/", Host="evil.example").text


def test_allowed_host_names_and_their_subdomains_are_answered(store):
    app = make_app(store, allowed_hosts=["jobs.example.org", ".lab.example.org"])
    running = Served(app)
    try:
        client = Client(running.base)
        assert client.get("/", Host="jobs.example.org").status == 200
        assert client.get("/", Host="node7.lab.example.org:8080").status == 200
        assert client.get("/", Host="127.0.0.1").status == 400
        assert client.get("/", Host="example.org").status == 400
    finally:
        running.stop()


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Origin": "http://127.0.0.1:1"}, {"Sec-Fetch-Site": "cross-site"},
                                     {"Sec-Fetch-Site": "same-site"}])
def test_cross_origin_writes_are_refused_even_with_the_token(web, store, headers):
    answer = web.post("/create", "jobid=csrf", **headers)
    assert answer.status == 403 and "cross-origin" in answer.json()["error"]
    assert store.job("csrf") is None


def test_same_origin_and_trusted_origin_writes_go_through(web, store):
    assert web.post("/create", "jobid=same", Origin=web.base, Sec_Fetch_Site="same-origin").status == 200
    app = make_app(store, token=TOKEN, trusted_origins=["https://clowder.example.org"])
    running = Served(app)
    try:
        client = Client(running.base)
        assert client.post("/create", "jobid=trusted", Origin="https://clowder.example.org").status == 200
        assert client.post("/create", "jobid=other", Origin="https://other.example.org").status == 403
    finally:
        running.stop()
    assert store.job("same") is not None and store.job("trusted") is not None


def test_the_app_works_mounted_under_a_prefix_in_fastapi(store):
    parent = FastAPI()
    jobs = make_app(store, token=TOKEN)
    parent.mount("/jobs", jobs)

    @parent.get("/api/v2/status")
    def status():
        return {"clowder": "ok"}

    running = Served(parent, site=jobs.state.site)
    try:
        client = Client(running.base)
        assert client.get("/api/v2/status").json() == {"clowder": "ok"}
        index = client.get("/jobs/")
        assert index.status == 200
        assert 'href="/jobs/static/app.css"' in index.text and 'data-live="/jobs/live?' in index.text
        assert 'href="/jobs/jobs/%s"' % JOB in index.text
        page = client.get("/jobs/jobs/" + JOB)
        assert page.status == 200 and 'href="/jobs/jobs/%s/chart.svg"' % JOB in page.text
        assert client.get("/jobs/static/live.js").status == 200
        assert client.get("/jobs/jobs/%s/chart.svg" % JOB).headers["Content-Type"].startswith("image/svg+xml")
        assert client.post("/jobs/update", "jobid=mounted&workid=w&current=1&total=2").status == 200
        assert client.get("/jobs/nowhere").status == 404
        assert 'href="/jobs/"' in client.get("/jobs/nowhere").text
    finally:
        running.stop()
    assert store.job("mounted")["workers"] == ["w"]


def test_requests_run_concurrently_a_slow_one_holds_no_other(web, monkeypatch):
    release = threading.Event()
    original = Store.job

    def slow(self, job_id, **kwargs):
        if job_id == "slow":
            release.wait(20)
        return original(self, job_id, **kwargs)
    monkeypatch.setattr(Store, "job", slow)
    waiting = threading.Thread(target=web.get, args=("/jobs/slow",))
    waiting.start()
    try:
        time.sleep(0.2)
        begin = time.monotonic()
        for target in ("/", "/jobs/" + JOB, "/api/jobs.json"):
            assert web.get(target).status == 200
        assert time.monotonic() - begin < 5
        assert waiting.is_alive()
    finally:
        release.set()
        waiting.join(20)


def test_a_kept_alive_request_is_not_held_back_by_nagles_algorithm(web):
    host, port = web.base[len("http://"):].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    times = []
    for _ in range(30):
        begin = time.perf_counter()
        connection.request("GET", "/static/app.css")
        answer = connection.getresponse()
        answer.read()
        times.append(time.perf_counter() - begin)
        assert answer.status == 200
    connection.close()
    assert statistics.median(times) < 0.02  # delayed ACKs against Nagle's algorithm cost 40 ms a request


def events_of(answer: http.client.HTTPResponse, wanted: set, timeout: float = 15.0) -> dict:
    """Read Server-Sent Events from ``answer`` until each name in ``wanted`` came: {name: (id, data)}."""
    found: dict = {}
    deadline = time.monotonic() + timeout
    block: dict = {}
    while not wanted <= set(found):
        assert time.monotonic() < deadline, "no %s event within %s s" % (wanted - set(found), timeout)
        line = answer.fp.readline().decode("utf-8")
        assert line, "the stream ended"
        line = line.rstrip("\n")
        if not line:
            if "event" in block:
                found[block["event"]] = (int(block["id"]), json.loads(block["data"]))
            block = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            block[name] = value
    return found


def stream(web: Client, target: str, **headers: str) -> http.client.HTTPResponse:
    host, port = web.base[len("http://"):].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=20)
    connection.request("GET", target, headers=headers)
    answer = connection.getresponse()
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/event-stream")
    return answer


def test_the_index_stream_sends_the_jobs_when_events_arrive(web, store):
    answer = stream(web, "/live?status=SUBMITTED&after=%d" % store.last_seq())
    store.add_events([submitted(60, job="fresh-job", resource="r-new")])
    (seq, data), = events_of(answer, {"jobs"}).values()
    assert seq == store.last_seq()
    assert 'data-job-id="fresh-job"' in data["html"] and 'data-job-id="%s"' % JOB not in data["html"]
    answer.close()


def test_the_job_stream_sends_new_log_lines_and_the_changed_job(web, store):
    answer = stream(web, "/jobs/%s/live?after=%d" % (JOB, store.last_seq()))
    store.add_events([log(30, "counting words", level="DEBUG"), log(30, "other job", job=JOB2)])
    first = events_of(answer, {"logs"})
    assert "counting words" in first["logs"][1]["html"] and "other job" not in first["logs"][1]["html"]
    assert 'class="log level-debug"' in first["logs"][1]["html"]
    store.add_events([reply("StatusMessage.done", "Done.", 31)])
    second = events_of(answer, {"job"})
    assert "status-succeeded" in second["job"][1]["html"]
    answer.close()


def test_a_reconnected_stream_resumes_after_the_last_event_it_had(web, store):
    store.add_events([log(30, "before")])
    resumed = store.last_seq()
    store.add_events([log(31, "after")])
    answer = stream(web, "/jobs/%s/live?after=0" % JOB, **{"Last-Event-ID": str(resumed)})
    html = events_of(answer, {"logs"})["logs"][1]["html"]
    assert "after" in html and "before" not in html
    answer.close()
