"""A real Prometheus scrapes ``serve`` and ``record --metrics-port`` after a real extractor run, and its
query API gives the series the store holds."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pika
import pytest

from broker import RABBITMQ_URI
from pyclowder_jobs.protocol.ids import objectid
from pyclowder_jobs.store import Store, StoreError
from pyclowder_jobs.testing.clowder import file_request

pytestmark = pytest.mark.broker


def tool(name):
    """The path of a Prometheus program; in CI a missing one fails the test, elsewhere skips it."""
    found = shutil.which(name)
    if found is None:
        message = "%s is not installed (Debian's prometheus package brings it)" % name
        if os.environ.get("CI"):
            pytest.fail(message + "; in CI the Prometheus tests must run")
        pytest.skip(message)
    return found


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def command(*argv):
    return [sys.executable, "-m", "pyclowder_jobs.tools.cli", *argv]


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as reply:
        return reply.read().decode("utf-8")


def wait_for(condition, what, timeout=90.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = condition()
        except (OSError, ValueError, StoreError) as exc:  # not up yet
            last = exc
        else:
            if last:
                return last
        time.sleep(0.3)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


class Processes:
    """Subprocesses of a test, their output in files, all stopped at the end."""

    def __init__(self, folder):
        self.folder = folder
        self.running = []

    def start(self, name, argv):
        out = open(self.folder / (name + ".out"), "w")
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, text=True)
        self.running.append((process, out))
        return process

    def stop(self):
        for process, out in reversed(self.running):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            out.close()


@pytest.fixture
def processes(tmp_path):
    found = Processes(tmp_path)
    yield found
    found.stop()


@pytest.fixture
def recorder_queue():
    name = "test.pyclowder-jobs.recorder." + uuid.uuid4().hex[:10]
    yield name
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URI))
    connection.channel().queue_delete(queue=name)
    connection.close()


class Prometheus:
    """Queries of the Prometheus server's HTTP API."""

    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port

    def query(self, expression):
        """The instant vector of ``expression``: {frozenset of labels: value}."""
        found = json.loads(get(self.base + "/api/v1/query?" + urllib.parse.urlencode({"query": expression})))
        assert found["status"] == "success", found
        return {frozenset(sample["metric"].items()): float(sample["value"][1]) for sample in found["data"]["result"]}

    def values(self, expression, label):
        """``{value of label: sample value}`` of ``expression``."""
        return {dict(labels).get(label): value for labels, value in self.query(expression).items()}


def finished_jobs(db, job_ids):
    with Store(db, create=False) as store:
        jobs = [store.job(job_id) for job_id in job_ids]
    return jobs if all(job is not None and job["finished"] for job in jobs) else None


def test_prometheus_scrapes_serve_and_record_after_a_real_extractor_run(tmp_path, broker, start_extractor,
                                                                          processes, recorder_queue):
    prometheus, promtool = tool("prometheus"), tool("promtool")
    db = str(tmp_path / "jobs.sqlite")
    record_port, serve_port, prometheus_port = free_port(), free_port(), free_port()
    processes.start("record", command("record", "--db", db, "--queue", recorder_queue, "--bind", broker.queue + ".#",
                                      "--rabbitmq-uri", RABBITMQ_URI, "--metrics-port", str(record_port)))
    wait_for(lambda: get("http://127.0.0.1:%d/metrics" % record_port), "record's metrics")
    processes.start("serve", command("serve", "--db", db, "--port", str(serve_port)))
    wait_for(lambda: get("http://127.0.0.1:%d/metrics" % serve_port), "serve's metrics")
    start_extractor("behave/with_auto.py")
    ids = [objectid() for _ in range(4)]
    for number, job_id in enumerate(ids):
        parameters = {"fail": True} if number == 3 else {"seconds": 0.2, "steps": 2}
        broker.publish(file_request(1, "http://127.0.0.1:9/", "file-%d" % number, queue=broker.queue,
                                    secret_key="s3cr3t", job_id=job_id, parameters=parameters))
    jobs = wait_for(lambda: finished_jobs(db, ids), "four finished jobs")
    extractor = jobs[0]["extractor"]
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: serve\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
        "  - job_name: record\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % (serve_port, record_port))
    processes.start("prometheus", [prometheus, "--config.file=%s" % config,
                                   "--storage.tsdb.path=%s" % (tmp_path / "prometheus-data"),
                                   "--web.listen-address=127.0.0.1:%d" % prometheus_port])
    server = Prometheus(prometheus_port)
    finished = 'pyclowder_jobs_jobs_finished_total{job="%s", extractor="%s"}'

    wait_for(lambda: server.values('up{job=~"serve|record"}', "job") == {"serve": 1.0, "record": 1.0},
             "both targets up")
    for job in ("serve", "record"):
        assert wait_for(lambda: server.values(finished % (job, extractor), "status") or None, "finished jobs") == {
            "SUCCEEDED": 3.0, "FAILED": 1.0}
    assert server.values('pyclowder_jobs_job_run_time_seconds_count{job="serve"}', "extractor") == {extractor: 4.0}
    assert server.values('pyclowder_jobs_job_run_time_seconds_bucket{job="serve", le="+Inf"}', "extractor") == {
        extractor: 4.0}
    assert server.values('pyclowder_jobs_workers_up{job="serve"}', "extractor")[broker.queue] == 1.0
    assert server.values('pyclowder_jobs_jobs_unclaimed{job="serve"}', "extractor")[extractor] == 0.0
    assert wait_for(lambda: server.values('pyclowder_jobs_queue_consumers{job="record"}', "queue") or None,
                    "the queue gauges") == {broker.queue: 1.0}
    assert server.values('pyclowder_jobs_queue_messages_ready{job="record"}', "queue") == {broker.queue: 0.0}
    series = server.query('{__name__=~"pyclowder_jobs_.+", job="serve"}')
    assert {name for labels in series for name, _ in labels} == {"__name__", "job", "instance", "extractor",
                                                                  "status", "le"}
    exposition = get("http://127.0.0.1:%d/metrics" % serve_port)
    done = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout + done.stderr == "", done.stdout + done.stderr
