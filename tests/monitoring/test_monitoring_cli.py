"""The command line's side of monitoring: alert-rules, ``jobs --status UNCLAIMED``, ``show`` and ``record
--metrics-port``."""
import json
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pyclowder_jobs.protocol.times import ms_to_iso
from pyclowder_jobs.store import Store
from pyclowder_jobs.tools import cli

RULES = Path(__file__).resolve().parents[2] / "pyclowder_jobs" / "tools" / "monitoring" / "alert_rules.yml"
EXTRACTOR = "ncsa.wordcount"


def recent(seconds_ago):
    moment = datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)
    return ms_to_iso(int(moment.timestamp() * 1000))


def heartbeat(worker, seconds_ago, queue=EXTRACTOR):
    return {"id": worker, "queue": queue, "extractor_info": {"name": queue},
            "tracking": {"v": 1, "host": "node", "pid": 1, "interval": 1.0, "ts": recent(seconds_ago), "seq": 1,
                         "processed": 0, "jobs": []}}


def submitted(job, extractor=EXTRACTOR):
    return {"_id": {"$oid": job}, "file_id": "file-" + job[-4:], "job_id": job, "extractor_id": extractor,
            "status": "SUBMITTED", "start": {"$date": recent(60)}}


UNCLAIMED_JOB, WAITING_JOB, UNKNOWN_JOB = "%024x" % 1, "%024x" % 2, "%024x" % 3


@pytest.fixture
def db(tmp_path):
    """A job whose extractor's worker went away, one whose extractor has a live worker, one never seen."""
    path = str(tmp_path / "jobs.sqlite")
    with Store(path) as store:
        store.add_events([submitted(UNCLAIMED_JOB), submitted(WAITING_JOB, "ncsa.busy"),
                          submitted(UNKNOWN_JOB, "ncsa.unseen"), heartbeat("w-gone", 30),
                          heartbeat("w-busy", 0, "ncsa.busy")])
    return path


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_alert_rules_prints_the_bundled_rule_file(capsys):
    code, out, _ = run(capsys, "alert-rules")

    assert code == 0
    assert out == RULES.read_text("utf-8")


def test_jobs_status_unclaimed_lists_the_waiting_jobs_no_live_worker_will_start(db, capsys):
    code, out, _ = run(capsys, "jobs", "--db", db, "--json", "--status", "unclaimed")

    assert code == 0
    assert [(job["job_id"], job["status"], job["unclaimed"]) for job in json.loads(out)] == [
        (UNCLAIMED_JOB, "SUBMITTED", True)]


def test_the_jobs_table_marks_unclaimed_jobs(db, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    _, out, _ = run(capsys, "jobs", "--db", db)
    lines = {job: line for line in out.splitlines() for job in (UNCLAIMED_JOB, WAITING_JOB, UNKNOWN_JOB)
             if job in line}

    assert "SUBMITTED (unclaimed)" in lines[UNCLAIMED_JOB]
    assert "unclaimed" not in lines[WAITING_JOB] and "unclaimed" not in lines[UNKNOWN_JOB]


@pytest.mark.parametrize("job, says", [(UNCLAIMED_JOB, "yes: no worker of its extractor is alive"),
                                       (WAITING_JOB, "no: a worker of its extractor is alive"),
                                       (UNKNOWN_JOB, "unknown: no heartbeat of its extractor was seen")])
def test_show_tells_whether_a_waiting_job_is_unclaimed(db, capsys, job, says):
    code, out, _ = run(capsys, "show", job, "--db", db)

    assert code == 0
    assert "unclaimed" in out and says in out


def test_record_with_a_metrics_port_in_use_is_one_line_naming_it(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, _, err = run(capsys, "record", "--db", str(tmp_path / "jobs.sqlite"), "--metrics-port", str(port),
                           "--rabbitmq-uri", "amqp://guest:guest@127.0.0.1:1/%2f")

    assert code == 2
    assert "cannot serve the metrics on 127.0.0.1:%d" % port in err and "--metrics-port" in err
