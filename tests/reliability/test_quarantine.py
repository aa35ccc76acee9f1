"""The rejected table: what the store cannot keep or the fold cannot use is kept there with its
reason and the text as received, counted, listed, and never stops the batch around it; only a fault
of the database itself stops a write, with its own cause named."""

import json
import sqlite3

import pytest

from pyclowder_jobs.store import Store, StoreError
from pyclowder_jobs.tools import cli
from pyclowder_jobs.tools.quarantine import parse_whole, problem, storable_text
from tools_builders import at, finished_job, tap_heartbeat

NOW = at(3600)


@pytest.fixture
def store(tmp_path):
    opened = Store(tmp_path / "jobs.sqlite")
    yield opened
    opened.close()


def nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


def status_bytes(job, **changes):
    event = dict(finished_job(job, 0, 1)[0], **changes)
    return json.dumps(event).encode()


@pytest.mark.parametrize("body, cause", [
    (status_bytes("job-x", file_id="\ud800"), "the field file_id holds a lone surrogate ('\\ud800')"),
    (status_bytes("job-x", extractor_id="a\udfffb"), "the field extractor_id holds a lone surrogate"),
    (json.dumps(tap_heartbeat("w", 1)).replace('"seq": ', '"seq": 1000000000000000000000000').encode(),
     "the field tracking.seq holds the integer 1000000000000000000000000"),
    (status_bytes("job-x", message=float("nan")), "the field message holds nan, which JSON cannot carry"),
    (status_bytes("job-x", message=1e400), "the field message holds inf"),
    (status_bytes("job-x", message=nested(70)), "the field message[0][0][0][0][0][0][0][0][0][0][0][0][0]"),
    (b'{"file_id": "\xed\xa0\x80"}', "not UTF-8 (invalid continuation byte at byte 13)"),
    (b'{"file_id": ', "not JSON (Expecting value)"),
    (b"[1, 2]", "a JSON array, not an object"),
    (b'{"something": "else"}', "neither an extraction event, a job document nor a heartbeat"),
])
def test_a_document_that_cannot_be_stored_is_rejected_with_its_cause_and_the_good_ones_around_it_stored(
        store, body, cause):
    good = [json.dumps(event).encode() for event in finished_job("job-good", 0, 1)]

    assert store.add_raw([good[0], body, good[1]], now=NOW, source="recorder") == (2, 1)

    assert [job["status"] for job in store.jobs(now=NOW)] == ["SUCCEEDED"]
    [rejected] = store.rejected()
    assert cause in rejected["reason"]
    assert rejected["source"] == "recorder"
    assert rejected["raw"] == storable_text(body)
    assert store.counts()["rejected"] == 1


def test_bytes_that_are_not_utf8_are_kept_as_escapes(store):
    store.add_raw([b'{"id": "\xff\xfe"}'], now=NOW)
    assert store.rejected()[0]["raw"] == '{"id": "\\xff\\xfe"}'


def test_a_document_rejected_again_is_kept_once(store):
    store.add_raw([b"not json"], now=NOW)
    assert store.add_raw([b"not json"], now=NOW) == (0, 1)
    assert store.counts()["rejected"] == 1


def test_objects_given_to_the_store_are_checked_too(store):
    event = dict(finished_job("job-x", 0, 1)[0], job_id="j\ud800")
    assert store.add_events([event, *finished_job("job-good", 0, 1)], now=NOW) == 2
    assert "lone surrogate" in store.rejected()[0]["reason"]
    assert json.loads(store.rejected()[0]["raw"])["job_id"] == "j\ud800"


def test_a_batch_that_fails_as_a_whole_is_written_one_document_at_a_time(store, mocker):
    from pyclowder_jobs.server.fold import Fold
    feed_all = Fold.feed_all

    def fails_on_job_x(fold, records):
        records = list(records)
        if any("job-x" in record for record in records):
            raise RuntimeError("the fold broke on job-x")
        return feed_all(fold, records)

    mocker.patch.object(Fold, "feed_all", autospec=True, side_effect=fails_on_job_x)
    events = finished_job("job-a", 0, 1) + finished_job("job-x", 0, 1)[:1] + finished_job("job-b", 0, 1)

    assert store.add_events(events, now=NOW) == 4

    assert sorted(job["job_id"] for job in store.jobs(now=NOW)) == ["job-a", "job-b"]
    [rejected] = store.rejected()
    assert rejected["reason"] == "the store could not write it (RuntimeError: the fold broke on job-x)"


def test_a_fault_of_the_database_itself_stops_the_write_and_names_its_cause(store, mocker):
    mocker.patch.object(Store, "_write", side_effect=sqlite3.OperationalError("database or disk is full"))
    with pytest.raises(StoreError, match=r"could not write to .*jobs.sqlite \(OperationalError: database or disk "
                                         r"is full\): check the disk and the file"):
        store.add_events(finished_job("job-a", 0, 1), now=NOW)
    assert store.counts() == {"jobs": 0}


def test_quarantine_keeps_what_a_caller_could_not_use_and_rejected_lists_it_newest_first(store):
    assert store.quarantine([("first", "one reason"), (b"\xff", "another")], source="progress-api", now=NOW) == 2
    listed = store.rejected(limit=1)
    assert [(row["raw"], row["reason"], row["source"]) for row in listed] == [("\\xff", "another", "progress-api")]
    assert listed[0]["received"] == "2026-03-14T16:00:00.000Z"
    assert [row["raw"] for row in store.rejected(limit=5, offset=1)] == ["first"]


def test_the_checks_pass_what_can_be_stored_as_it_is():
    text = json.dumps(dict(finished_job("job-1", 0, 1)[0], message="café \U0001f600 \uffff", seq=2 ** 63 - 1))
    document, reason = parse_whole(text)
    assert reason is None and problem(document) is None and document["seq"] == 2 ** 63 - 1


def test_the_rejected_command_lists_them_with_control_characters_escaped(store, capsys):
    store.add_raw([b"\x1b[31mred", b'{"a": "\\ud800"}'], now=NOW)
    store.close()

    assert cli.main(["rejected", "--db", store.path]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 rejected documents" in out and "\x1b" not in out and "\\x1b[31mred" in out
    assert cli.main(["rejected", "--db", store.path, "--json"]) == 0
    assert [row["raw"] for row in json.loads(capsys.readouterr().out)] == ['{"a": "\\ud800"}', "\x1b[31mred"]


def test_stats_counts_the_rejected_documents(store, capsys):
    store.add_events(finished_job("job-1", 0, 1) + [{"something": "else"}], now=NOW)
    store.close()

    assert cli.main(["stats", "--db", store.path, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rejected"] == 1
    assert cli.main(["stats", "--db", store.path]) == 0
    assert "rejected documents (not stored or folded): 1; `pyclowder-jobs rejected --db" in capsys.readouterr().out


def test_the_recorders_writer_reports_a_fault_of_the_database_with_its_own_cause(tmp_path, mocker):
    from multiprocessing import Pipe

    from pyclowder_jobs.tools import recorder
    mocker.patch.object(Store, "_write", side_effect=sqlite3.OperationalError("database or disk is full"))
    inbox, to_writer = Pipe(duplex=False)
    from_writer, outbox = Pipe(duplex=False)
    to_writer.send([json.dumps(event).encode() for event in finished_job("job-a", 0, 1)])
    to_writer.close()

    recorder._write(str(tmp_path / "jobs.sqlite"), inbox, outbox)

    assert from_writer.recv() == ("could not write to %s (OperationalError: database or disk is full): check the "
                                  "disk and the file" % (tmp_path / "jobs.sqlite"))
