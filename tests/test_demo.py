"""``pyclowder-jobs demo``: the quick start's first command, live on the broker and replayed without one."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from pyclowder_jobs.tools.demo import run as demo

CONSOLE_SCRIPT = shutil.which("pyclowder-jobs", path=os.path.dirname(sys.executable)) or "pyclowder-jobs"


def run_demo(tmp_path, *arguments):
    return subprocess.run([CONSOLE_SCRIPT, "demo", *arguments], cwd=tmp_path, capture_output=True, text=True,
                          timeout=240, env=dict(os.environ, COLUMNS="220"))


def report_csv_runs(output):
    """(replica, job id) of each run that started on report.csv."""
    return set(re.findall(r"(replica \d)\s+([0-9a-f]{24})\s+report\.csv\s+START", output))


@pytest.mark.broker
def test_the_live_demo_tells_apart_two_replicas_working_on_the_same_file(tmp_path):
    finished = run_demo(tmp_path)
    assert finished.returncode == 0, finished.stderr
    runs = report_csv_runs(finished.stdout)
    assert len(runs) == 2
    assert len({replica for replica, _ in runs}) == 2 and len({job for _, job in runs}) == 2
    assert "heartbeat: " in finished.stdout and "log: working on report.csv" in finished.stdout
    assert "RETRY" in finished.stdout and "(attempt 2)" in finished.stdout
    assert "7 jobs" in finished.stdout and "Per worker" in finished.stdout
    assert (tmp_path / "pyclowder-jobs-demo.sqlite").exists()


def test_without_a_broker_the_demo_replays_its_recording_through_the_same_code(tmp_path):
    finished = run_demo(tmp_path, "--rabbitmq-uri", "amqp://guest:guest@127.0.0.1:1/%2f")
    assert finished.returncode == 0, finished.stderr
    assert "replaying a recording" in finished.stdout
    assert len(report_csv_runs(finished.stdout)) == 2
    assert "7 jobs" in finished.stdout and "FAILED" in finished.stdout and "SKIPPED" in finished.stdout


def test_the_demo_will_not_overwrite_a_database_it_did_not_make(tmp_path):
    (tmp_path / "mine.sqlite").write_text("precious")
    finished = run_demo(tmp_path, "--db", "mine.sqlite", "--rabbitmq-uri", "amqp://guest:guest@127.0.0.1:1/%2f")
    assert finished.returncode == 2
    assert "mine.sqlite exists" in finished.stderr
    assert (tmp_path / "mine.sqlite").read_text() == "precious"


def test_the_bundled_recording_carries_no_secret_key():
    assert demo.SECRET_KEY not in demo.RECORDING.read_text()
