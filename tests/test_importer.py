"""Importing Clowder exports: mongoexport JSON lines or arrays, extended JSON, v1 and v2 documents."""
import json

import pytest

from pyclowder_jobs.tools.importer import import_file
from pyclowder_jobs.store import Store
from tools_builders import FIXTURES, at, fixture_events, folded_jobs, stored_jobs

NOW = at(3600)
V2_JOB = {"_id": {"$oid": "6b02ce12be89bcb317f632cf"}, "listener_id": "ncsa.wordcount",
          "resource_ref": {"collection": "files", "resource_id": {"$oid": "65a1b2c3d4e5f60718293a4b"}, "version": 1},
          "creator": {"email": "ann@example.org"}, "created": {"$date": "2024-01-12T10:00:00.000Z"},
          "started": {"$date": "2024-01-12T10:00:02.000Z"}, "updated": {"$date": "2024-01-12T10:00:09.000Z"},
          "finished": {"$date": "2024-01-12T10:00:09.000Z"}, "duration": 7, "status": "SUCCEEDED",
          "latest_message": "Done."}
V2_UPDATES = [{"_id": {"$oid": "6b02ce12be89bcb317f63200"}, "job_id": "6b02ce12be89bcb317f632cf",
               "timestamp": {"$date": "2024-01-12T10:00:02.000Z"}, "status": "StatusMessage.start: Started processing."},
              {"_id": {"$oid": "6b02ce12be89bcb317f63201"}, "job_id": "6b02ce12be89bcb317f632cf",
               "timestamp": {"$date": {"$numberLong": "1705053605000"}}, "status": "PROCESSING: half way"}]


@pytest.fixture
def store(tmp_path):
    opened = Store(tmp_path / "jobs.sqlite")
    yield opened
    opened.close()


def write_lines(path, documents):
    path.write_text("".join(json.dumps(document) + "\n" for document in documents))
    return path


def test_json_lines_are_imported_and_fold_like_the_documents_themselves(store, tmp_path):
    events = fixture_events()
    distinct = len({json.dumps(event, sort_keys=True) for event in events})  # plain replies repeat in a second
    summary = import_file(store, write_lines(tmp_path / "extractions.json", events))
    assert (summary.read, summary.imported, summary.duplicates, summary.refused_count) == (
        len(events), distinct, len(events) - distinct, 0)
    assert stored_jobs(store, NOW) == folded_jobs(events, NOW)


def test_a_json_array_as_mongoexport_jsonarray_writes_it(store, tmp_path):
    path = tmp_path / "extractions.json"
    path.write_text(json.dumps(fixture_events()))
    assert import_file(store, path).imported == len({json.dumps(event, sort_keys=True) for event in fixture_events()})


def test_a_pretty_printed_array_is_read_too(store, tmp_path):
    path = tmp_path / "modern.json"
    path.write_text((FIXTURES / "modern_retry.events.json").read_text())
    summary = import_file(store, path)
    assert summary.imported == 5
    assert store.job("b40f64cb5de4e066bb80db0e", now=NOW)["attempts"] == 2


def test_extended_json_dates_as_numberlong_are_read(store, tmp_path):
    document = {"_id": {"$oid": "5c8a6c70a1b2c3d4e5000099"}, "file_id": {"$oid": "b6fcd3e0c7b8a5d2dde54158"},
                "extractor_id": "ncsa.wordcount", "job_id": {"$oid": "b40f64cb5de4e066bb80db99"},
                "status": "StatusMessage.start: Started processing.",
                "start": {"$date": {"$numberLong": "1552575600000"}}}
    import_file(store, write_lines(tmp_path / "one.json", [document]))
    assert store.job("b40f64cb5de4e066bb80db99", now=NOW)["started"] == "2019-03-14T15:00:00.000Z"


def test_a_bad_line_is_reported_with_its_number_and_the_rest_is_imported(store, tmp_path):
    events = fixture_events()[:4]
    path = tmp_path / "extractions.json"
    lines = [json.dumps(event) for event in events]
    lines.insert(2, '{"_id": {"$oid": "5c8a6c70a1b2c3d4e50000ff"}, "status": ')
    path.write_text("\n".join(lines) + "\n")
    summary = import_file(store, path)
    assert summary.imported == 4
    assert summary.refused == [(3, "not JSON (Expecting value)")]


def test_a_line_nested_too_deeply_to_read_is_reported_and_the_rest_is_imported(store, tmp_path):
    path = tmp_path / "extractions.json"
    lines = [json.dumps(event) for event in fixture_events()[:2]]
    lines.insert(1, "[" * 100000)
    path.write_text("\n".join(lines) + "\n")
    summary = import_file(store, path)
    assert summary.imported == 2
    assert [number for number, _ in summary.refused] == [2]


def test_a_bad_element_of_an_array_is_reported_with_its_line(store, tmp_path):
    events = fixture_events()[:3]
    path = tmp_path / "extractions.json"
    path.write_text("[\n" + ",\n".join([json.dumps(events[0]), "{oops}", json.dumps(events[1]),
                                         json.dumps(events[2])]) + "\n]\n")
    summary = import_file(store, path)
    assert summary.imported == 3
    assert [line for line, _ in summary.refused] == [3]


def test_documents_the_fold_cannot_use_are_refused_with_the_reason(store, tmp_path):
    summary = import_file(store, write_lines(tmp_path / "odd.json", [{"hello": "world"}, ["a list"]]))
    assert summary.imported == 0
    assert summary.refused == [(1, "neither an extraction event, a job document nor a heartbeat"),
                               (2, "not a document (a dict), but a list")]


def test_importing_the_same_export_twice_adds_nothing(store, tmp_path):
    path = write_lines(tmp_path / "extractions.json", fixture_events())
    import_file(store, path)
    before = store.jobs(now=NOW)
    again = import_file(store, path)
    assert (again.imported, again.duplicates) == (0, len(fixture_events()))
    assert store.jobs(now=NOW) == before


def test_clowder_v2_listener_jobs_and_their_updates_make_one_job(store, tmp_path):
    import_file(store, write_lines(tmp_path / "listener_jobs.json", [V2_JOB]))
    import_file(store, write_lines(tmp_path / "listener_job_updates.json", V2_UPDATES))
    job = store.job("6b02ce12be89bcb317f632cf", now=NOW)
    assert (job["status"], job["user"], job["extractor"]) == ("SUCCEEDED", "ann@example.org", "ncsa.wordcount")
    assert job["resource_id"] == "65a1b2c3d4e5f60718293a4b"
    assert job["run_time"] == 7
    assert len(store.raw_events("6b02ce12be89bcb317f632cf")) == 3


def test_progress_is_reported_up_to_the_whole_file(store, tmp_path):
    path = write_lines(tmp_path / "extractions.json", fixture_events())
    seen = []
    import_file(store, path, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (path.stat().st_size, path.stat().st_size)
