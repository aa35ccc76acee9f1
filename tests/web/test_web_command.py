"""``serve`` as a process: it prints where it serves and its token, answers, and stops cleanly on Ctrl-C."""
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from web_events import JOB, sample_events

from pyclowder_jobs.store import Store
from pyclowder_jobs.tools.cli import main

COMMAND = [sys.executable, "-m", "pyclowder_jobs.tools.cli", "serve"]


def start(path, *options, env=None):
    process = subprocess.Popen(COMMAND + ["--db", path, "--port", "0", *options], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    lines = [process.stdout.readline() for _ in range(3)]
    assert lines[0].startswith("pyclowder-jobs: serving %s on http://127.0.0.1:" % path), lines
    return process, lines[0].split(" on ")[1].split()[0], lines


def update(url, token):
    request = urllib.request.Request(url + "update", data=b"jobid=cli&workid=w&current=1&total=2",
                                     headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return reply.status


def stop(process):
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0


@pytest.fixture
def path(tmp_path):
    found = str(tmp_path / "jobs.db")
    with Store(found) as store:
        store.add_events(sample_events())
    return found


def test_serve_prints_a_new_token_and_takes_writes_with_it_until_interrupted(path):
    process, url, lines = start(path)
    try:
        token = lines[1].split("token for writes: ")[1].strip()
        assert len(token) >= 24
        assert lines[2].strip() == "pyclowder-jobs: answering to the host names localhost, 127.0.0.1, ::1"
        with urllib.request.urlopen(url + "jobs/" + JOB, timeout=10) as reply:
            assert reply.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            update(url, "not-the-token")
        assert refused.value.code == 403
        assert update(url, token) == 200
    finally:
        stop(process)
    with Store(path, create=False) as store:
        assert store.job("cli")["workers"] == ["w"]


def test_serve_takes_its_token_from_the_environment_and_does_not_print_it(path):
    process, url, lines = start(path, env=dict(os.environ, PYCLOWDER_JOBS_TOKEN="from-the-environment"))
    try:
        assert lines[1].strip() == "pyclowder-jobs: token for writes: from $PYCLOWDER_JOBS_TOKEN"
        assert update(url, "from-the-environment") == 200
    finally:
        stop(process)


def test_serve_answers_to_the_host_names_it_is_told(path):
    process, url, lines = start(path, "--allow-host", "jobs.example.org")
    try:
        assert "jobs.example.org" in lines[2]
        for host, status in (("jobs.example.org", 200), ("evil.example", 400)):
            request = urllib.request.Request(url, headers={"Host": host})
            try:
                with urllib.request.urlopen(request, timeout=10) as reply:
                    assert reply.status == status
            except urllib.error.HTTPError as error:
                assert error.code == status
    finally:
        stop(process)


def test_serve_stops_while_a_page_follows_the_store(path):
    process, url, _ = start(path)
    stream = urllib.request.urlopen(url + "jobs/%s/live" % JOB, timeout=20)
    try:
        assert stream.readline().startswith(b"retry:")
    finally:
        stop(process)
        stream.close()


def test_serve_refuses_a_missing_store_unless_asked_to_create_it(tmp_path):
    path = str(tmp_path / "missing.db")
    result = subprocess.run(COMMAND + ["--db", path, "--port", "0"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "no database at %s" % path in result.stderr and "--create" in result.stderr


def test_serve_is_listed_by_the_command_line(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "serve" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    help_text = capsys.readouterr().out
    for option in ("--db", "--host", "--port", "--create", "--allow-host"):
        assert option in help_text
