"""The progress-service API: create, update, show, render, and a clear error for each bad parameter."""
import xml.etree.ElementTree as ElementTree

import pytest
from web_events import JOB, seconds

from pyclowder_jobs.server import group_events
from pyclowder_jobs.tools.web.chart import FAILED_COLOUR
from pyclowder_jobs.tools.web.progress_api import Conflict, NotFound, ParameterError, ProgressAPI


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock(seconds(0))


@pytest.fixture
def api(store, clock):
    return ProgressAPI(store, clock=clock)


def stored(store) -> int:
    """How many raw events the store holds."""
    return len(list(store.all_events()))


def q(**params):
    """Parameters as ``parse_qs`` gives them."""
    return {name: [str(value)] for name, value in params.items()}


def test_create_writes_a_submitted_event_the_fold_understands(api, store):
    assert api.create(q(jobid="backup-1", desc="nightly backup", maxage=3600)) == {
        "ok": True, "jobid": "backup-1", "created": True}
    job = store.job("backup-1")
    assert (job["status"], job["resource_id"], job["extractor"]) == ("SUBMITTED", "progress:backup-1",
                                                                     "nightly backup")
    assert job["submitted"] == "2026-03-14T15:00:00.000Z"
    event = store.raw_events("backup-1")[0]
    assert event["tracking"]["maxage"] == 3600
    assert not group_events(store.raw_events("backup-1")).rejected


def test_create_again_changes_nothing(api, store):
    api.create(q(jobid="backup-1"))
    assert api.create(q(jobid="backup-1", desc="other")) == {"ok": True, "jobid": "backup-1", "created": False}
    assert len(store.raw_events("backup-1")) == 1
    assert store.job("backup-1")["extractor"] == "progress-service"


def test_a_progress_job_cannot_take_over_an_extractor_job(api, store):
    before = stored(store)
    with pytest.raises(Conflict, match=JOB):
        api.create(q(jobid=JOB))
    with pytest.raises(Conflict, match=JOB):
        api.update(q(jobid=JOB, workid="w", current=1, total=2))
    assert stored(store) == before


def test_updates_become_progress_events_per_worker(api, store, clock):
    api.create(q(jobid="sync", desc="rsync"))
    clock.now += 2
    assert api.update(q(jobid="sync", workid="node1", current=3, total=10, desc="copying")) == {
        "ok": True, "jobid": "sync", "workid": "node1", "progress": "3/10 (30%)", "failed": False}
    clock.now += 1
    api.update(q(jobid="sync", workid="node2", current="2.5", total=5, ok=0))
    job = store.job("sync")
    assert (job["status"], job["extractor"], job["workers"]) == ("PROCESSING", "rsync", ["node1", "node2"])
    assert job["started"] == "2026-03-14T15:00:02.000Z"
    assert job["progress"] == {"done": 2.5, "total": 5, "unit": None}
    assert job["message"] == "StatusMessage.processing: node2: 2.5/5 (50%) (failed)"
    assert store.job_history("sync")[1]["text"] == "StatusMessage.processing: node1: 3/10 (30%) \u2013 copying"
    tracking = store.raw_events("sync")[-1]["tracking"]
    assert (tracking["kind"], tracking["worker"], tracking["ok"]) == ("progress", "node2", False)


def test_an_update_for_an_unknown_job_creates_it(api, store):
    api.update(q(jobid="adhoc", workid="w1", current=1, total=4))
    job = store.job("adhoc")
    assert (job["extractor"], job["resource_id"], job["event_count"]) == ("progress-service", "progress:adhoc", 2)


def test_show_gives_the_job_each_workers_progress_and_the_interval(api):
    api.update(q(jobid="sync", workid="node1", current=1, total=4))
    api.update(q(jobid="sync", workid="node2", current=2, total=4, ok="false"))
    job, series, interval = api.view("show", q(jobid="sync", interval=2))
    assert (job["job_id"], sorted(series), interval) == ("sync", ["node1", "node2"], 2)
    assert api.view("show", q(jobid="sync"))[2] == 5


def test_render_draws_the_failed_worker_red(api):
    api.update(q(jobid="sync", workid="node1", current=1, total=4))
    api.update(q(jobid="sync", workid="node2", current=2, total=4, ok=0))
    root = ElementTree.fromstring(api.render(q(jobid="sync")))
    groups = {group.get("data-worker"): group for group in root.iter("{http://www.w3.org/2000/svg}g")
              if group.get("data-worker")}
    assert sorted(groups) == ["node1", "node2"]
    assert groups["node2"].get("class") == "series failed"
    assert FAILED_COLOUR in ElementTree.tostring(groups["node2"]).decode()
    assert FAILED_COLOUR not in ElementTree.tostring(groups["node1"]).decode()


def test_jobs_older_than_maxage_are_hidden_from_the_progress_view(api, store, clock):
    api.create(q(jobid="short", maxage=60))
    api.update(q(jobid="short", workid="w", current=1, total=2))
    clock.now += 59
    assert api.view("show", q(jobid="short"))[0]["job_id"] == "short"
    clock.now += 2
    with pytest.raises(NotFound, match="expired: no update for 61 s, more than its maxage of 60 s"):
        api.view("show", q(jobid="short"))
    with pytest.raises(NotFound, match="expired"):
        api.render(q(jobid="short"))
    assert store.job("short") is not None


def test_show_of_an_unknown_job_is_not_found(api):
    with pytest.raises(NotFound, match="no job nothing"):
        api.view("show", q(jobid="nothing"))


BAD = [
    ("create", {}, "jobid", "is required"),
    ("create", {"jobid": ""}, "jobid", "is required"),
    ("create", {"jobid": "a b"}, "jobid", "1 to 64 of the characters"),
    ("create", {"jobid": "x" * 65}, "jobid", "1 to 64"),
    ("create", {"jobid": "j/../x"}, "jobid", "1 to 64"),
    ("create", {"jobid": "j", "jobId": "j"}, "jobId", "unknown parameter for create"),
    ("create", {"jobid": ["a", "b"]}, "jobid", "given 2 times"),
    ("create", {"jobid": "j", "desc": "d" * 201}, "desc", "longer than 200"),
    ("create", {"jobid": "j", "desc": "a\nb"}, "desc", "control characters"),
    ("create", {"jobid": "j", "maxage": "0"}, "maxage", "whole number of seconds from 1"),
    ("create", {"jobid": "j", "maxage": "-5"}, "maxage", "whole number"),
    ("create", {"jobid": "j", "maxage": "1.5"}, "maxage", "whole number"),
    ("create", {"jobid": "j", "maxage": "99999999999"}, "maxage", "whole number"),
    ("update", {"jobid": "j", "current": "1", "total": "2"}, "workid", "is required"),
    ("update", {"jobid": "j", "workid": "a;rm", "current": "1", "total": "2"}, "workid", "1 to 64"),
    ("update", {"jobid": "j", "workid": "w", "total": "2"}, "current", "is required"),
    ("update", {"jobid": "j", "workid": "w", "current": "-1", "total": "2"}, "current", "a number of at least 0"),
    ("update", {"jobid": "j", "workid": "w", "current": "nan", "total": "2"}, "current", "a number"),
    ("update", {"jobid": "j", "workid": "w", "current": "1e3", "total": "2"}, "current", "a number"),
    ("update", {"jobid": "j", "workid": "w", "current": "\u0663", "total": "2"}, "current", "a number"),
    ("update", {"jobid": "j", "workid": "w", "current": "1"}, "total", "is required"),
    ("update", {"jobid": "j", "workid": "w", "current": "1", "total": "0"}, "total", "greater than 0"),
    ("update", {"jobid": "j", "workid": "w", "current": "1", "total": "9999999999999999"}, "total", "at most"),
    ("update", {"jobid": "j", "workid": "w", "current": "1", "total": "2", "ok": "maybe"}, "ok", "1 or 0"),
    ("update", {"jobid": "j", "workid": "w", "current": "1", "total": "2", "desc": "\x00"}, "desc", "control"),
    ("update", {"jobid": "j", "workid": "w", "current": "1", "total": "2", "maxage": "5"}, "maxage", "unknown"),
    ("show", {"jobid": JOB, "interval": "0"}, "interval", "from 1 to 3600"),
    ("show", {"jobid": JOB, "interval": "x"}, "interval", "whole number"),
    ("show", {"jobid": JOB, "interval": "3601"}, "interval", "whole number"),
    ("show", {"interval": "5"}, "jobid", "is required"),
    ("render", {"jobid": JOB, "interval": "5"}, "interval", "unknown parameter for render"),
    ("render", {"jobid": "<svg>"}, "jobid", "1 to 64"),
]


@pytest.mark.parametrize("call, params, parameter, message", BAD)
def test_every_bad_parameter_is_named(api, store, call, params, parameter, message):
    before = stored(store)
    given = {name: value if isinstance(value, list) else [value] for name, value in params.items()}
    with pytest.raises(ParameterError) as raised:
        if call in ("show", "render"):
            api.view(call, given)
        else:
            getattr(api, call)(given)
    assert raised.value.parameter == parameter
    assert str(raised.value).startswith(parameter + ": ")
    assert message in str(raised.value)
    assert stored(store) == before
