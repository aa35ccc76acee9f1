"""``serve`` as a process: it starts on the store, answers, and stops cleanly on Ctrl-C."""
import signal
import subprocess
import sys
import urllib.request

import pytest
from web_events import JOB, sample_events

from pyclowder_jobs.tools.cli import main
from pyclowder_jobs.store import Store


COMMANDS = [[sys.executable, "-m", "pyclowder_jobs.tools.cli"], [sys.executable, "-m", "pyclowder_jobs.tools.web"]]


@pytest.mark.parametrize("command", COMMANDS, ids=["pyclowder-jobs", "python -m pyclowder_jobs.web"])
def test_serve_runs_until_interrupted(tmp_path, command):
    path = str(tmp_path / "jobs.db")
    with Store(path) as store:
        store.add_events(sample_events())
    process = subprocess.Popen(command + ["serve", "--db", path, "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("pyclowder-jobs: serving %s on http://127.0.0.1:" % path), line
        url = line.split(" on ")[1].split()[0]
        with urllib.request.urlopen(url + "jobs/" + JOB, timeout=10) as reply:
            assert reply.status == 200
        with urllib.request.urlopen(url + "update?jobid=cli&workid=w&current=1&total=2", timeout=10) as reply:
            assert reply.status == 200
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    with Store(path, create=False) as store:
        assert store.job("cli")["workers"] == ["w"]


@pytest.mark.parametrize("command", COMMANDS, ids=["pyclowder-jobs", "python -m pyclowder_jobs.web"])
def test_serve_refuses_a_missing_store_unless_asked_to_create_it(tmp_path, command):
    path = str(tmp_path / "missing.db")
    result = subprocess.run(command + ["serve", "--db", path, "--port", "0"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "no database at %s" % path in result.stderr and "--create" in result.stderr


def test_serve_is_listed_by_the_command_line(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "serve" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    help_text = capsys.readouterr().out
    for option in ("--db", "--host", "--port", "--create"):
        assert option in help_text
