"""The pyclowder-jobs command line, through cli.main and through the installed console script."""
import json
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from pyclowder_jobs.tools import cli
from pyclowder_jobs.store import Store
from tools_builders import fixture_events, tap_heartbeat, tap_log, tap_status


@pytest.fixture
def db(tmp_path):
    """A database with a finished job, a failed one, and a job retried on a second worker."""
    path = tmp_path / "jobs.sqlite"
    store = Store(path)
    store.add_events([
        tap_status("job-ok", "StatusMessage.start", 0, worker="worker-a1"),
        tap_status("job-ok", "StatusMessage.processing", 1, worker="worker-a1",
                   progress={"done": 2, "total": 2, "unit": "steps"}),
        tap_log("job-ok", 1, worker="worker-a1"),
        tap_status("job-ok", "StatusMessage.done", 2, worker="worker-a1"),
        tap_status("job-bad", "StatusMessage.start", 10, worker="worker-a1", resource="file-2"),
        tap_status("job-bad", "StatusMessage.error", 11, worker="worker-a1", resource="file-2"),
        tap_status("job-retry", "StatusMessage.start", 20, worker="worker-a1", resource="file-3"),
        tap_status("job-retry", "StatusMessage.retry", 21, worker="worker-a1", resource="file-3"),
        tap_status("job-retry", "StatusMessage.start", 22, worker="worker-b2", resource="file-3", attempt=2),
        tap_status("job-retry", "StatusMessage.done", 25, worker="worker-b2", resource="file-3", attempt=2),
        tap_heartbeat("worker-a1", 30),
    ])
    store.close()
    return str(path)


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_jobs_json_lists_every_job_newest_first(db, capsys):
    code, out, _ = run(capsys, "jobs", "--db", db, "--json")
    assert code == 0
    assert [job["job_id"] for job in json.loads(out)] == ["job-retry", "job-bad", "job-ok"]


def test_jobs_filters_by_status_case_insensitively(db, capsys):
    _, out, _ = run(capsys, "jobs", "--db", db, "--json", "--status", "failed")
    assert [job["job_id"] for job in json.loads(out)] == ["job-bad"]


def test_jobs_filters_by_resource_and_extractor(db, capsys):
    _, out, _ = run(capsys, "jobs", "--db", db, "--json", "--resource", "file-3", "--extractor", "ncsa.wordcount")
    assert [job["job_id"] for job in json.loads(out)] == ["job-retry"]


def test_jobs_since_takes_a_duration_or_a_date(db, capsys):
    _, recent, _ = run(capsys, "jobs", "--db", db, "--json", "--since", "1h")
    _, all_of_them, _ = run(capsys, "jobs", "--db", db, "--json", "--since", "2026-03-14")
    assert json.loads(recent) == []  # the events are from 2026-03-14, long before "now"
    assert len(json.loads(all_of_them)) == 3


def test_a_bad_since_is_a_usage_error_that_shows_the_forms(db, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["jobs", "--db", db, "--since", "yesterday"])
    assert exit_info.value.code == 2
    assert "give 30m, 2h, 7d, 1w, or a date" in capsys.readouterr().err


def test_parse_since_reads_durations_back_from_now():
    now = datetime(2026, 1, 2, tzinfo=timezone.utc)
    assert cli.parse_since("90m", now) == now - timedelta(minutes=90)
    assert cli.parse_since("2d", now) == now - timedelta(days=2)
    assert cli.parse_since("2026-01-01T12:00:00Z", now) == datetime(2026, 1, 1, 12, tzinfo=timezone.utc)


def test_jobs_table_shows_ids_statuses_and_human_durations(db, capsys):
    code, out, _ = run(capsys, "jobs", "--db", db)
    assert code == 0
    for text in ("job-retry", "job-bad", "job-ok", "SUCCEEDED", "FAILED", "3.0 s", "worker-a", "2/2 steps"):
        assert text in out


def test_a_missing_database_is_one_line_naming_the_fix(tmp_path, capsys):
    code, out, err = run(capsys, "jobs", "--db", str(tmp_path / "none.sqlite"))
    assert code == 2
    assert out == ""
    assert err.strip() == ("pyclowder-jobs jobs: no database at %s: run `pyclowder-jobs record --db %s` or "
                           "`import` first" % (tmp_path / "none.sqlite", tmp_path / "none.sqlite"))
    assert not (tmp_path / "none.sqlite").exists()


def test_show_gives_attempts_events_workers_and_progress(db, capsys):
    code, out, _ = run(capsys, "show", "job-retry", "--db", db)
    assert code == 0
    for text in ("job-retry", "SUCCEEDED", "attempts", "worker-a1", "worker-b2", "node-1", "node-2", "RESUBMITTED"):
        assert text in out


def test_show_json_has_the_job_and_its_raw_events(db, capsys):
    _, out, _ = run(capsys, "show", "job-ok", "--db", db, "--json")
    shown = json.loads(out)
    assert shown["job"]["progress"] == {"done": 2, "total": 2, "unit": "steps"}
    assert [event["tracking"]["kind"] for event in shown["raw_events"]] == ["status", "progress", "log", "status"]


def test_show_of_an_unknown_job_is_a_usage_problem_that_says_how_to_list_them(db, capsys):
    code, _, err = run(capsys, "show", "no-such-job", "--db", db)
    assert code == 2
    assert "no job no-such-job" in err and "pyclowder-jobs jobs --db" in err


def test_stats_json_has_rows_per_extractor_and_per_worker(db, capsys):
    _, out, _ = run(capsys, "stats", "--db", db, "--json")
    figures = json.loads(out)
    assert [(row["extractor"], row["jobs"], row["failed"]) for row in figures["extractors"]] == [
        ("ncsa.wordcount", 3, 1)]
    assert [(row["worker"], row["host"], row["jobs"]) for row in figures["workers"]] == [
        ("worker-a1", "node-1", 3), ("worker-b2", None, 1)]


def test_stats_table_shows_success_rate_and_percentiles(db, capsys):
    code, out, _ = run(capsys, "stats", "--db", db)
    assert code == 0
    for text in ("Per extractor", "Per worker", "66.7 %", "run p95", "worker-a", "node-1"):
        assert text in out


def test_import_reports_counts_and_bad_lines_by_number(tmp_path, capsys):
    export = tmp_path / "extractions.json"
    lines = [json.dumps(event) for event in fixture_events()[:3]]
    export.write_text("\n".join(lines[:1] + ["not json at all"] + lines[1:]) + "\n")
    code, out, _ = run(capsys, "import", str(export), "--db", str(tmp_path / "new.sqlite"))
    assert code == 0
    assert "4 read, 3 imported, 0 duplicates, 1 refused" in out
    assert "line 2: not JSON" in out


def test_import_of_a_missing_file_names_it(tmp_path, capsys):
    code, _, err = run(capsys, "import", str(tmp_path / "nope.json"), "--db", str(tmp_path / "x.sqlite"))
    assert code == 2
    assert "no such file: %s" % (tmp_path / "nope.json") in err


def test_record_with_an_unreachable_broker_is_one_line_without_the_password(tmp_path, capsys):
    code, _, err = run(capsys, "record", "--db", str(tmp_path / "x.sqlite"),
                       "--rabbitmq-uri", "amqp://guest:s3cret@127.0.0.1:1/%2f")
    assert code == 2
    assert "cannot reach the broker at amqp://guest@127.0.0.1:1/%2f" in err
    assert "--rabbitmq-uri or RABBITMQ_URI" in err
    assert "s3cret" not in err
    assert len(err.strip().splitlines()) == 2  # the "recording ..." line, then the error


def test_without_rich_the_tools_say_how_to_install_it(db, capsys, monkeypatch):
    for name in [name for name in sys.modules if name == "rich" or name.startswith("rich.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "rich", None)
    code, _, err = run(capsys, "jobs", "--db", db)
    assert code == 2
    assert "pip install 'pyclowder-jobs[tools]'" in err


def test_a_new_subcommand_is_one_registered_function(capsys, monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", dict(cli.COMMANDS))
    cli.command("hello", "say hello", lambda parser: parser.add_argument("--name", default="you"))(
        lambda args: print("hello %s" % args.name) or 0)
    assert run(capsys, "hello", "--name", "Ann")[:2] == (0, "hello Ann\n")


def test_the_console_script_is_installed_and_runs(db):
    script = shutil.which("pyclowder-jobs", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert script is not None
    found = subprocess.run([script, "jobs", "--db", db, "--json", "--status", "SUCCEEDED"], capture_output=True,
                           text=True, timeout=60, check=True)
    assert [job["job_id"] for job in json.loads(found.stdout)] == ["job-retry", "job-ok"]


def test_no_subcommand_prints_the_help_and_exits_2(capsys):
    code, out, _ = run(capsys)
    assert code == 2
    assert "submit" in out and "watch" in out


def test_an_unknown_option_exits_2(db, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["jobs", "--db", db, "--no-such-option"])
    assert exit_info.value.code == 2


def test_the_exit_codes_are_documented_in_the_module():
    for told in ("* 0:", "* 1: ``submit`` only", "* 2: a usage problem", "unknown job", "* 130:"):
        assert told in cli.__doc__


# Tables that fit the terminal ----------------------------------------------------------------

def lines_of(out):
    return [line for line in out.splitlines() if line.strip()]


def header_row(out, first):
    """The first line of column headers that begins with the column ``first``."""
    return next(line for line in out.splitlines() if line.startswith("┃ %s " % first))


@pytest.mark.parametrize("command", [["jobs"], ["stats"], ["show", "job-retry"]])
def test_at_80_columns_every_line_fits(db, capsys, monkeypatch, command):
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = run(capsys, *command, "--db", db)
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80


def columns_of(out, first):
    return [cell.strip() for cell in header_row(out, first).split("┃") if cell.strip()]


def test_jobs_at_80_columns_shows_the_most_important_columns_whole_and_names_the_others(db, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    _, out, _ = run(capsys, "jobs", "--db", db)
    assert columns_of(out, "job") == ["job", "status", "extractor", "att.", "run time"]
    assert "job-retry" in out and "SUCCEEDED" in out and "ncsa.wordcount" in out and "3.0 s" in out
    assert "not shown: progress, workers, started, resource (--wide)" in out
    assert "…" not in out


def test_jobs_at_120_columns_adds_progress_and_workers(db, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    _, out, _ = run(capsys, "jobs", "--db", db)
    assert columns_of(out, "job") == ["job", "status", "extractor", "att.", "run time", "progress", "workers"]
    assert "2/2 steps" in out and "worker-a, worker-b" in out
    assert "not shown: started, resource (--wide)" in out
    assert max(len(line) for line in out.splitlines()) <= 120


def test_stats_at_80_columns_keeps_jobs_ok_failed_and_success_whole(db, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    _, out, _ = run(capsys, "stats", "--db", db)
    assert columns_of(out, "extractor") == ["extractor", "jobs", "ok", "failed", "lost", "success", "run p50",
                                            "run p95"]
    assert columns_of(out, "worker") == ["worker", "host", "jobs", "ok", "failed", "lost", "success", "run p50",
                                         "run p95"]
    assert "66.7 %" in out and "…" not in out
    assert out.count("not shown: wait p50, wait p95, jobs/min (--wide)") == 2


def test_stats_at_120_columns_shows_every_column(db, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    _, out, _ = run(capsys, "stats", "--db", db)
    assert columns_of(out, "worker")[-3:] == ["wait p50", "wait p95", "jobs/min"]
    assert "not shown" not in out


def test_wide_shows_every_column_however_narrow_the_terminal(db, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    _, out, _ = run(capsys, "jobs", "--db", db, "--wide")
    headers = [cell.strip() for cell in header_row(out, "job").split("┃") if cell.strip()]
    assert headers == ["job", "status", "extractor", "att.", "run time", "progress", "workers", "started", "resource"]
    assert "not shown" not in out and max(len(line) for line in out.splitlines()) > 80


def test_stats_wide_shows_throughput_and_queue_waits(db, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    _, out, _ = run(capsys, "stats", "--db", db, "--wide")
    assert "jobs/min" in out and "wait p95" in out and "not shown" not in out


# Stored text is printed as text ----------------------------------------------------------------

HOSTILE = ["[/bold]", "[i]x[/i]", "[data]", "\x1b]52;c;ZXZpbA==\x07", "\x1b]0;title\x07", "\x1b[2J",
           "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "\x9b31m"]
ESCAPES = ("\x1b", "\x07", "\x9b", "\x9c")


@pytest.fixture
def hostile_db(tmp_path):
    """Jobs whose extractor names, workers, resources and messages hold markup and escape sequences."""
    path = tmp_path / "hostile.sqlite"
    store = Store(path)
    events = []
    for number, value in enumerate(HOSTILE):
        job, worker = "job-h%d" % number, "wk%d%s" % (number, value)
        events += [tap_status(job, "StatusMessage.start", number, worker=worker, extractor="x" + value,
                              resource="file" + value, message=value),
                   tap_log(job, number, worker=worker, message="log " + value),
                   tap_status(job, "StatusMessage.error", number + 1, worker=worker, extractor="x" + value,
                              resource="file" + value, message="failed " + value,
                              progress={"done": 1, "total": 2, "unit": value})]
    store.add_events(events)
    store.close()
    return str(path)


@pytest.mark.parametrize("command", [["jobs", "--wide"], ["stats", "--wide"], ["show", "job-h1"], ["show", "job-h6"],
                                     ["jobs"], ["stats"]])
def test_stored_markup_and_escape_sequences_are_printed_as_inert_text(hostile_db, capsys, command):
    code, out, _ = run(capsys, *command, "--db", hostile_db)
    assert code == 0
    assert not any(escape in out for escape in ESCAPES)
    if command[0] != "show":
        assert "[/bold]" in out and "[i]x[/i]" in out


def test_show_prints_the_brackets_of_a_message_it_used_to_drop(hostile_db, capsys):
    _, out, _ = run(capsys, "show", "job-h1", "--db", hostile_db, "--wide")
    assert "failed [i]x[/i]" in out and "x[i]x[/i]" in out
    assert "failed [data]" in run(capsys, "show", "job-h2", "--db", hostile_db)[1]
    assert "failed link" in run(capsys, "show", "job-h6", "--db", hostile_db)[1]


def test_a_lone_surrogate_in_a_job_is_replaced_not_a_crash(db, capsys, monkeypatch):
    job = dict(Store(db, create=False).job("job-ok"), job_id="job-\ud800", extractor="x\ud800",
               workers=["w\ud800"], message="m\ud800")
    monkeypatch.setattr(Store, "jobs", lambda *args, **kwargs: [job])
    code, out, _ = run(capsys, "jobs", "--db", db, "--wide")
    assert code == 0
    assert "job-\ufffd" in out and "x\ufffd" in out and "w\ufffd" in out
    out.encode("utf-8")


def test_prune_deletes_finished_jobs_older_than_the_cut_and_says_how_many(db, capsys):
    code, out, _ = run(capsys, "prune", "--db", db, "--older-than", "2026-03-14T15:00:15Z")

    assert code == 0
    assert out.startswith("pruned 2 jobs and 6 events whose last update was before 2026-03-14T15:00:15+00:00")
    _, out, _ = run(capsys, "jobs", "--db", db, "--json")
    assert [job["job_id"] for job in json.loads(out)] == ["job-retry"]


def test_prune_keep_failed_keeps_failed_jobs(db, capsys):
    code, out, _ = run(capsys, "prune", "--db", db, "--older-than", "1d", "--keep-failed", "--json")

    assert code == 0 and json.loads(out)["jobs"] == 2
    _, out, _ = run(capsys, "jobs", "--db", db, "--json")
    assert [job["job_id"] for job in json.loads(out)] == ["job-bad"]


def test_prune_needs_the_age_it_cuts_at(db, capsys):
    with pytest.raises(SystemExit) as exit_:
        run(capsys, "prune", "--db", db)
    assert exit_.value.code == 2
