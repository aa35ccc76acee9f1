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
    """(worker label, job id) of each run that started on report.csv."""
    return set(re.findall(r"([0-9a-f]{8})\s+([0-9a-f]{24})\s+report\.csv\s+START", output))


@pytest.mark.broker
def test_the_live_demo_tells_apart_two_replicas_working_on_the_same_file(tmp_path):
    finished = run_demo(tmp_path)
    assert finished.returncode == 0, finished.stderr
    runs = report_csv_runs(finished.stdout)
    assert len(runs) == 2
    assert len({replica for replica, _ in runs}) == 2 and len({job for _, job in runs}) == 2
    assert "heartbeat from " in finished.stdout and "log: working on report.csv" in finished.stdout
    assert "RETRY" in finished.stdout and "(attempt 2)" in finished.stdout
    assert "7 jobs" in finished.stdout and "Per worker" in finished.stdout
    assert (tmp_path / "pyclowder-jobs-demo.sqlite").exists()


def test_the_narration_names_each_worker_as_the_tables_do(tmp_path):
    finished = run_demo(tmp_path, "--rabbitmq-uri", "amqp://guest:guest@127.0.0.1:1/%2f")
    narrated = {worker for worker, _ in report_csv_runs(finished.stdout)}
    per_worker = finished.stdout[finished.stdout.index("Per worker"):]

    assert len(narrated) == 2
    assert all(re.search(r"^│ %s │" % worker, per_worker, re.M) for worker in narrated)
    assert "replica 1" not in finished.stdout


def test_the_demo_tells_the_follow_up_commands_with_its_own_database(tmp_path):
    finished = run_demo(tmp_path, "--rabbitmq-uri", "amqp://guest:guest@127.0.0.1:1/%2f")
    follow_ups = re.findall(r"^  (pyclowder-jobs .*)$", finished.stdout, re.M)

    assert [line.split()[1] for line in follow_ups] == ["jobs", "show", "stats", "serve"]
    assert all(line.endswith("--db pyclowder-jobs-demo.sqlite") for line in follow_ups)
    for line in follow_ups[:-1]:  # serve runs until Ctrl-C
        found = subprocess.run([CONSOLE_SCRIPT] + line.split()[1:], cwd=tmp_path, capture_output=True, text=True,
                               timeout=60)
        assert found.returncode == 0, found.stderr


def test_the_demo_at_80_columns_prints_tables_that_fit(tmp_path):
    finished = subprocess.run([CONSOLE_SCRIPT, "demo", "--rabbitmq-uri", "amqp://guest:guest@127.0.0.1:1/%2f"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=240,
                              env=dict(os.environ, COLUMNS="80"))
    tables = finished.stdout[finished.stdout.index("7 jobs"):finished.stdout.index("Look further")]

    assert max(len(line) for line in tables.splitlines()) <= 80
    assert "┃ job                      ┃ status    ┃" in tables and "┃ ok ┃" in tables


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
