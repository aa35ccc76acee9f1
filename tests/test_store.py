"""The SQLite store: raw events kept once, and a jobs table equal to the fold of all of them."""
import json
import random
import sqlite3
import threading

import pytest

from pyclowder_jobs.store import Store, StoreError
from tools_builders import (at, finished_job, fixture_events, folded_jobs, iso, stored_jobs, tap_heartbeat, tap_log,
                            tap_status)

NOW = at(3600)


@pytest.fixture
def store(tmp_path):
    opened = Store(tmp_path / "jobs.sqlite")
    yield opened
    opened.close()


def folded(store, now=NOW):
    """What group_events makes of every raw event in the store, as the store shows a job."""
    return folded_jobs(list(store.all_events()), now)


def stored(store, now=NOW):
    return stored_jobs(store, now)


def mixed_stream():
    """Legacy v1 documents without ids, modern tap events with retries, progress, logs and heartbeats."""
    events = fixture_events()
    for number in range(30):
        job = "job-%02d" % number
        worker = "worker-%s" % "abc"[number % 3]
        start = 10 * number
        events.append(tap_status(job, "StatusMessage.start", start, worker=worker, resource="file-%d" % (number % 7)))
        events.append(tap_status(job, "StatusMessage.processing", start + 1, worker=worker,
                                 resource="file-%d" % (number % 7), progress={"done": 1, "total": 2, "unit": "steps"}))
        if number % 5 == 0:
            events.append(tap_status(job, "StatusMessage.retry", start + 2, worker=worker,
                                     resource="file-%d" % (number % 7)))
            events.append(tap_status(job, "StatusMessage.start", start + 3, worker=worker, attempt=2,
                                     resource="file-%d" % (number % 7)))
        if number % 4 != 3:  # every fourth job never finishes
            events.append(tap_status(job, "StatusMessage.done", start + 4, worker=worker,
                                     resource="file-%d" % (number % 7)))
        events.append(tap_log(job, start + 1, worker=worker))
    events.append(tap_status("job-redo", "StatusMessage.start", 500, resource="file-3", redelivered=True))
    events.append(tap_heartbeat("worker-a", 400, interval=10))
    events.append(tap_heartbeat("worker-b", 3590, interval=10))
    return events


def test_a_missing_database_is_an_error_that_names_the_fix(tmp_path):
    with pytest.raises(StoreError, match="no database at .*missing.sqlite: run `pyclowder-jobs record --db"):
        Store(tmp_path / "missing.sqlite", create=False)
    assert not (tmp_path / "missing.sqlite").exists()


def test_the_database_uses_wal_with_synchronous_normal(store):
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 1


def test_add_events_returns_how_many_were_new_and_skips_duplicates(store):
    events = finished_job("job-1", 0, 5)
    assert store.add_events(events, now=NOW) == 2
    assert store.add_events(events + finished_job("job-2", 10, 5), now=NOW) == 2
    assert store.counts()["status"] == 4


def test_a_redelivered_tap_event_is_the_same_event_by_worker_and_seq(store):
    event = tap_status("job-1", "StatusMessage.start", 0, seq=7)
    copy = json.loads(json.dumps(event))
    copy["start"] = "2026-03-14T15:00:01+00:00"  # even if its text differs, (worker, seq) decides
    store.add_events([event], now=NOW)
    assert store.add_events([copy], now=NOW) == 0


def test_documents_are_the_same_by_their_id_in_either_spelling(store):
    document = fixture_events()[0]
    plain = dict(document, _id=document["_id"]["$oid"])
    store.add_events([document], now=NOW)
    assert store.add_events([plain], now=NOW) == 0


def test_events_without_id_or_seq_are_the_same_by_their_content(store):
    event = {"file_id": "f", "extractor_id": "x", "status": "DONE", "start": "2019-03-14T15:00:00Z"}
    store.add_events([event], now=NOW)
    assert store.add_events([dict(reversed(list(event.items())))], now=NOW) == 0


def test_the_jobs_table_equals_group_events_of_all_raw_events(store):
    store.add_events(mixed_stream(), now=NOW)
    assert stored(store) == folded(store)


def test_the_jobs_table_equals_group_events_whatever_the_batches_and_their_order(store):
    events = mixed_stream()
    random.Random(7).shuffle(events)
    position = 0
    chooser = random.Random(11)
    while position < len(events):
        size = chooser.randint(1, 40)
        replayed = events[max(0, position - 3):position]  # redeliveries mixed into the next batch
        store.add_events(events[position:position + size] + replayed, now=NOW)
        position += size
    assert stored(store) == folded(store)
    assert len(store.jobs(now=NOW)) > 30


def test_an_id_less_event_that_arrives_late_regroups_its_key(store):
    legacy = [event for event in fixture_events() if "job_id" not in event]
    store.add_events(legacy[1:], now=NOW)
    store.add_events(legacy[:1], now=NOW)
    assert stored(store) == folded(store)


def test_duplicates_change_nothing(store):
    events = mixed_stream()
    store.add_events(events, now=NOW)
    before = store.jobs(now=NOW)
    assert store.add_events(events, now=NOW) == 0
    assert store.jobs(now=NOW) == before


def test_unfinished_jobs_are_judged_as_of_the_moment_of_reading(store):
    store.add_events([tap_status("job-1", "StatusMessage.start", 0, worker="worker-a"),
                      tap_heartbeat("worker-a", 5, jobs=["job-1"], interval=10)], now=at(6))
    assert store.job("job-1", now=at(6))["status"] == "STARTED"
    assert store.job("job-1", now=at(60))["status"] == "LOST"  # no heartbeat for more than 3 intervals
    assert store.jobs(status="LOST", now=at(60))[0]["job_id"] == "job-1"
    assert store.jobs(status="LOST", now=at(6)) == []


def test_a_running_jobs_elapsed_time_grows_until_it_finishes(store):
    store.add_events([tap_status("job-1", "StatusMessage.start", 0)], now=at(1))
    assert store.job("job-1", now=at(30))["elapsed"] == 30
    store.add_events([tap_status("job-1", "StatusMessage.done", 40)], now=at(41))
    assert store.job("job-1", now=at(500))["elapsed"] == 40


def test_jobs_filters_by_status_extractor_user_resource_and_since(store):
    store.add_events(finished_job("job-1", 0, 5, resource="file-1")
                     + finished_job("job-2", 100, 5, resource="file-2", final="StatusMessage.error")
                     + finished_job("job-3", 200, 5, resource="file-3", extractor="ncsa.image.preview")
                     + [{"file_id": "file-4", "extractor_id": "ncsa.wordcount", "job_id": "job-4",
                         "status": "SUBMITTED", "start": at(300).isoformat(), "user_id": "a" * 24}], now=NOW)
    ids = lambda **filters: [job["job_id"] for job in store.jobs(now=NOW, **filters)]
    assert ids() == ["job-4", "job-3", "job-2", "job-1"]
    assert ids(status="FAILED") == ["job-2"]
    assert ids(extractor="ncsa.image.preview") == ["job-3"]
    assert ids(user="a" * 24) == ["job-4"]
    assert ids(resource="file-1") == ["job-1"]
    assert ids(since=at(150)) == ["job-4", "job-3"]
    assert ids(since="2026-03-14T15:03:00Z") == ["job-4", "job-3"]
    assert ids(limit=2) == ["job-4", "job-3"]


def test_job_returns_one_job_or_none(store):
    store.add_events(finished_job("job-1", 0, 5), now=NOW)
    assert store.job("job-1", now=NOW)["status"] == "SUCCEEDED"
    assert store.job("no-such-job") is None


def test_raw_events_are_a_jobs_own_documents_in_arrival_order_logs_included(store):
    events = [tap_status("job-1", "StatusMessage.start", 0), tap_log("job-1", 1),
              tap_status("job-2", "StatusMessage.start", 1), tap_status("job-1", "StatusMessage.done", 2)]
    store.add_events(events[:2], now=NOW)
    store.add_events(events[2:], now=NOW)
    assert store.raw_events("job-1") == [events[0], events[1], events[3]]


def test_job_events_are_numbered_and_chosen_by_kind_by_what_came_after_and_by_number(store):
    events = [tap_status("job-1", "StatusMessage.start", 0), tap_log("job-1", 1, message="one"),
              tap_status("job-2", "StatusMessage.start", 1), tap_log("job-1", 2, message="two"),
              tap_status("job-1", "StatusMessage.done", 3)]
    store.add_events(events, now=NOW)
    every = store.job_events("job-1")
    assert [(kind, event) for _, kind, event in every] == [("status", events[0]), ("log", events[1]),
                                                          ("log", events[3]), ("status", events[4])]
    seqs = [seq for seq, _, _ in every]
    assert seqs == sorted(seqs)
    assert [event for _, _, event in store.job_events("job-1", kinds=("log",))] == [events[1], events[3]]
    assert [event for _, _, event in store.job_events("job-1", after=seqs[1])] == [events[3], events[4]]
    assert [event for _, _, event in store.job_events("job-1", kinds=("log",), limit=1)] == [events[1]]
    assert [event for _, _, event in store.job_events("job-1", kinds=("log",), limit=1, newest=True)] == [events[3]]
    assert store.job_events("no-such-job") == []


def test_last_seq_is_the_number_of_the_latest_event(store):
    assert store.last_seq() == 0
    store.add_events([tap_status("job-1", "StatusMessage.start", 0), tap_log("job-1", 1)], now=NOW)
    assert store.last_seq() == max(seq for seq, _, _ in store.job_events("job-1"))
    before = store.last_seq()
    store.add_events([tap_heartbeat("worker-a", 2)], now=NOW)
    assert store.last_seq() > before


def test_heartbeats_keeps_the_latest_of_each_worker(store):
    beats = [tap_heartbeat("worker-a", 20), tap_heartbeat("worker-a", 10), tap_heartbeat("worker-b", 5)]
    store.add_events(beats[:1], now=NOW)
    store.add_events(beats[1:], now=NOW)
    assert store.heartbeats() == [beats[0], beats[2]]


def test_documents_the_fold_refuses_are_kept_raw_in_the_rejected_table_with_its_reason(store):
    assert store.add_events([{"something": "else"}, *finished_job("job-1", 0, 1)], now=NOW, source="import") == 2
    assert store.counts()["rejected"] == 1
    assert [job["job_id"] for job in store.jobs(now=NOW)] == ["job-1"]
    [rejected] = store.rejected()
    assert json.loads(rejected["raw"]) == {"something": "else"}
    assert rejected["source"] == "import"
    assert rejected["reason"] == "neither an extraction event, a job document nor a heartbeat"


def test_raw_texts_that_are_not_utf8_json_objects_are_counted_and_what_is_stored_parses(store):
    good = json.dumps(finished_job("job-1", 0, 1)[0]).encode()
    bodies = [b"not json", b"[1, 2]", '{"a": 1}'.encode("utf-16"), b'\xef\xbb\xbf{"a": 1}', b'{"a": "\xff"}', good]
    assert store.add_raw(bodies, now=NOW) == (1, 5)
    assert [json.loads(json.dumps(event)) for event in store.all_events()] == [json.loads(good)]


def test_a_batch_is_one_transaction(store, tmp_path):
    class Unwritable:
        def __iter__(self):
            yield from finished_job("job-1", 0, 1)
            raise RuntimeError("the source broke half way")

    with pytest.raises(RuntimeError):
        store.add_events(Unwritable(), now=NOW)
    assert store.counts() == {"jobs": 0}


def test_a_reader_sees_whole_batches_while_a_writer_writes(tmp_path):
    path = tmp_path / "jobs.sqlite"
    writer = Store(path)
    reader = Store(path, create=False)
    seen, failures = [], []

    def write():
        for batch in range(40):
            writer.add_events([event for job in range(5)
                               for event in finished_job("job-%d-%d" % (batch, job), batch, 1)], now=NOW)

    thread = threading.Thread(target=write)
    thread.start()
    while thread.is_alive():
        try:
            seen.append(len(reader.jobs(now=NOW)))
        except sqlite3.OperationalError as exc:  # pragma: no cover - would be the failure
            failures.append(exc)
    thread.join()
    assert failures == []
    assert all(count % 5 == 0 for count in seen)
    assert len(reader.jobs(now=NOW)) == 200
    writer.close()
    reader.close()


def test_one_store_may_be_shared_by_a_writing_and_a_reading_thread(store):
    failures = []

    def write():
        for batch in range(30):
            store.add_events(finished_job("job-%d" % batch, batch, 1), now=NOW)

    thread = threading.Thread(target=write)
    thread.start()
    while thread.is_alive():
        try:
            store.jobs(now=NOW)
            store.job("job-0", now=NOW)
        except Exception as exc:  # pragma: no cover - would be the failure
            failures.append(exc)
    thread.join()
    assert failures == []
    assert len(store.jobs(now=NOW)) == 30


def test_a_file_that_is_not_a_database_is_an_error_that_says_so(tmp_path):
    path = tmp_path / "extractions.json"
    path.write_text('{"not": "a database"}\n' * 100)
    with pytest.raises(StoreError, match="cannot open the database .*extractions.json .*file is not a database"):
        Store(path, create=False)


def long_job_events(count):
    """A running tracked job that reports its progress once a second, ``count`` events in all."""
    return [tap_status("job-long", "StatusMessage.start", 0, seq=1)] + [
        tap_status("job-long", "StatusMessage.processing", number, seq=number + 1,
                   progress={"done": number, "total": count, "unit": "s"}) for number in range(1, count)]


def test_a_job_of_100000_events_keeps_a_small_row_and_pages_its_events(store):
    events = long_job_events(100000)
    for start in range(0, len(events), 5000):
        store.add_events(events[start:start + 5000], now=NOW)

    row = store._db.execute("SELECT * FROM jobs WHERE job_id = 'job-long'").fetchone()
    assert sum(len(str(value)) for value in row) < 16384
    job = store.job("job-long", now=NOW)
    assert (job["status"], job["event_count"], job["progress"]["done"]) == ("PROCESSING", 100000, 99999)
    page = store.job_history("job-long", offset=50000, limit=3)
    assert [event["ts"] for event in page] == [iso(50000), iso(50001), iso(50002)]
    assert [event["ts"] for event in store.job_history("job-long", limit=2, newest=True)] == [iso(99998), iso(99999)]


def test_a_late_event_of_a_long_job_folds_that_job_again_and_only_it(store):
    events = long_job_events(2000)
    store.add_events(events[:1000] + events[1001:] + finished_job("job-other", 5, 1, resource="file-9"), now=NOW)
    store.add_events([events[1000]], now=NOW)

    assert stored(store) == folded(store)
    assert [event["ts"] for event in store.job_history("job-long", offset=999, limit=3)] == [
        iso(999), iso(1000), iso(1001)]


def test_prune_deletes_old_finished_jobs_with_their_events_and_keeps_running_ones(store):
    store.add_events(finished_job("job-old", 0, 5) + [tap_log("job-old", 2)]
                     + finished_job("job-new", 3000, 5)
                     + [tap_status("job-running", "StatusMessage.start", 10)], now=NOW)

    assert store.prune(at(1000)) == {"jobs": 1, "events": 3}

    assert sorted(job["job_id"] for job in store.jobs(now=NOW)) == ["job-new", "job-running"]
    assert store.raw_events("job-old") == []
    assert store.job_history("job-old") == []


def test_prune_keeps_failed_jobs_when_asked(store):
    store.add_events(finished_job("job-ok", 0, 5) + finished_job("job-bad", 10, 5, final="StatusMessage.error"),
                     now=NOW)

    store.prune(at(1000), keep_failed=True)

    assert [job["job_id"] for job in store.jobs(now=NOW)] == ["job-bad"]


def test_after_prune_the_jobs_table_equals_the_fold_of_what_remains(store):
    store.add_events(mixed_stream(), now=NOW)

    store.prune(at(150))

    assert stored(store) == folded(store)
    assert 0 < len(store.jobs(now=NOW)) < len(folded_jobs(mixed_stream(), NOW))


def test_prune_frees_pages_that_new_events_reuse(store):
    for batch in range(20):
        store.add_events([event for job in range(50) for event in
                          finished_job("job-%d-%d" % (batch, job), batch, 1, resource="file-%d" % job)], now=NOW)
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]

    store.prune(at(1000))
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert store._db.execute("PRAGMA freelist_count").fetchone()[0] > 0
    store.add_events([event for job in range(200) for event in finished_job("job-again-%d" % job, 2000, 1)], now=NOW)
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    assert store._db.execute("PRAGMA page_count").fetchone()[0] <= pages


def test_prune_with_vacuum_shrinks_the_file(store, tmp_path):
    store.add_events([event for job in range(500) for event in finished_job("job-%d" % job, job, 1)], now=NOW)
    store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = (tmp_path / "jobs.sqlite").stat().st_size

    store.prune(at(100000), vacuum=True)

    assert (tmp_path / "jobs.sqlite").stat().st_size < before
