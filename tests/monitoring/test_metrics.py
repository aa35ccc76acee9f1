"""The store's metrics: what they count agrees with ``stats``, and the exposition follows Prometheus' rules."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pyclowder_jobs.store import Store
from pyclowder_jobs.tools.monitoring.metrics import BUCKETS, StoreCollector, exposition, registry
from tools_builders import at, finished_job, iso, tap_heartbeat, tap_status

RULES = Path(__file__).resolve().parents[2] / "pyclowder_jobs" / "tools" / "monitoring" / "alert_rules.yml"
OTHER = "ncsa.image.preview"
NOW = at(4000)


def submitted(job, seconds, extractor):
    """Clowder v1's SUBMITTED of a job, as it stores it."""
    return {"_id": {"$oid": "%024x" % abs(hash((job, seconds)))}, "file_id": {"$oid": "%024x" % 7},
            "job_id": job, "extractor_id": extractor, "status": "SUBMITTED", "start": {"$date": iso(seconds)}}


def other_heartbeat(worker, seconds):
    beat = tap_heartbeat(worker, seconds)
    beat["queue"] = beat["extractor_info"]["name"] = OTHER
    return beat


@pytest.fixture
def store(tmp_path):
    """Finished, failed, lost, running, waiting and unclaimed jobs of two extractors, and a rejected document."""
    found = Store(tmp_path / "jobs.sqlite")
    events = []
    for number, run in enumerate((0.05, 1, 60, 61, 3600 * 5)):
        events += [submitted("ok-%d" % number, 10 * number, "ncsa.wordcount")]
        events += finished_job("ok-%d" % number, 10 * number + 2, run)
    for number in range(2):
        events += finished_job("failed-%d" % number, 100 + number, 3, final="StatusMessage.error")
    events.append(tap_status("lost", "StatusMessage.start", 200, worker="worker-a"))
    events.append(tap_heartbeat("worker-a", 3000, jobs=["lost"]))  # then silent: LOST
    events.append(tap_status("running", "StatusMessage.start", 3990, worker="worker-z"))  # no heartbeats: running
    events += [submitted("waiting-%d" % number, 3900 + number, OTHER) for number in range(3)]
    events += [submitted("started", 3900, OTHER)] + finished_job("started", 3905, 2, worker="worker-o",
                                                                  extractor=OTHER)
    events.append(other_heartbeat("worker-o", 3500))  # gone since 3530: the waiting jobs are unclaimed
    found.add_events(events)
    found.add_raw([b"not json"])
    yield found
    found.close()


def metric_lines(text):
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def scraped(store, queues=None):
    collector = StoreCollector(lambda: store.metrics(now=NOW), queues)
    body, _ = exposition(registry(collector), None)
    return body.decode("utf-8")


def test_finished_jobs_agree_with_stats_for_each_extractor_and_status(store):
    figures = store.metrics()
    stats = store.stats()

    for row in stats["extractors"]:
        name = row["extractor"]
        assert figures["finished"].get((name, "SUCCEEDED"), 0) == row["succeeded"], name
        assert figures["finished"].get((name, "FAILED"), 0) == row["failed"], name
        assert figures["finished"].get((name, "LOST"), 0) == row["lost"], name
        counted = sum(count for (extractor, _), count in figures["finished"].items() if extractor == name)
        counted += sum(figures[kind].get(name, 0) for kind in ("running", "waiting"))
        assert counted == row["jobs"], name
    assert figures["rejected"] == stats["rejected"] == 1
    assert figures["lost"] == {"ncsa.wordcount": 1}


def test_histogram_counts_and_sums_agree_with_the_jobs_run_times_and_queue_waits(store):
    figures = store.metrics()
    jobs = store.jobs()

    for name in ("ncsa.wordcount", OTHER):
        runs = [job["run_time"] for job in jobs if job["extractor"] == name and job["finished"] is not None]
        waits = [job["queue_wait"] for job in jobs if job["extractor"] == name and job["queue_wait"] is not None]
        counts, seconds = figures["run_time"][name]
        assert (sum(counts), seconds) == (len(runs), pytest.approx(sum(runs)))
        counts, seconds = figures["queue_wait"][name]
        assert (sum(counts), seconds) == (len(waits), pytest.approx(sum(waits)))


def test_a_duration_on_a_bucket_bound_counts_in_that_bucket(store):
    counts, _ = store.metrics()["run_time"]["ncsa.wordcount"]
    by_bound = dict(zip(BUCKETS + (float("inf"),), counts))

    assert (by_bound[0.1], by_bound[1.0], by_bound[60.0], by_bound[300.0]) == (1, 1, 1, 1)
    assert by_bound[28800.0] == 1  # five hours


def test_waiting_jobs_are_unclaimed_as_the_jobs_list_says(store):
    figures = store.metrics(now=NOW)

    assert figures["waiting"] == figures["unclaimed"] == {OTHER: 3}
    assert len(store.jobs(status="UNCLAIMED", now=NOW)) == 3
    assert figures["running"] == {"ncsa.wordcount": 1}


def test_workers_up_counts_the_workers_alive_now_by_extractor(store):
    assert store.metrics(now=at(3510))["workers_up"] == {OTHER: 1}
    assert store.metrics(now=NOW)["workers_up"] == {}


def test_every_extractor_gets_every_gauge_zero_included(store):
    lines = metric_lines(scraped(store))

    for gauge in ("jobs_running", "jobs_waiting", "jobs_unclaimed", "jobs_lost", "workers_up"):
        for name in ("ncsa.wordcount", OTHER):
            assert any(line.startswith('pyclowder_jobs_%s{extractor="%s"} ' % (gauge, name)) for line in lines)
    assert 'pyclowder_jobs_workers_up{extractor="%s"} 0.0' % OTHER in lines


def test_the_labels_are_bounded_and_no_job_worker_or_resource_shows(store):
    text = scraped(store, lambda: {"ncsa.wordcount": (4, 0)})
    labels = set(re.findall(r'[{,]([a-z_]+)="', text))

    assert labels == {"extractor", "status", "queue", "le"}
    for word in ("ok-0", "waiting-1", "worker-a", "worker-o", "0000000000000000000007"):
        assert word not in text


def test_every_metric_the_alert_rules_use_is_exposed(store):
    exposed = {line.split("{")[0].split(" ")[0] for line in metric_lines(scraped(store, lambda: {"q": (1, 0)}))}
    used = set(re.findall(r"pyclowder_jobs_[a-z_]+", RULES.read_text()))

    assert used and used <= exposed
    assert {"pyclowder_jobs_jobs_running", "pyclowder_jobs_workers_up", "pyclowder_jobs_rejected_events_total",
            "pyclowder_jobs_job_run_time_seconds_bucket"} <= exposed


def test_the_exposition_passes_promtool_check_metrics(store):
    promtool = shutil.which("promtool")
    if promtool is None:
        message = "promtool is not installed (Debian's prometheus package brings it)"
        if os.environ.get("CI"):
            pytest.fail(message + "; in CI the exposition must be checked")
        pytest.skip(message)
    text = scraped(store, lambda: {"ncsa.wordcount": (4, 0), OTHER: (0, 1)})

    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout + done.stderr == ""


def test_an_empty_store_exposes_the_families_without_series(tmp_path):
    with Store(tmp_path / "empty.sqlite") as empty:
        text = scraped(empty)

    assert metric_lines(text) == ["pyclowder_jobs_rejected_events_total 0.0"]
    assert "# TYPE pyclowder_jobs_jobs_finished_total counter" in text
