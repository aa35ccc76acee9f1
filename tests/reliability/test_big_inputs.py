"""Big inputs: ``import`` streams JSON arrays and long lines in constant memory, and a huge resource id
in a request is not copied whole into every heartbeat while its job runs."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from pyclowder_jobs.extractor.worker import MAX_HEARTBEAT_TEXT, Job
from pyclowder_jobs.store import Store
from pyclowder_jobs.testing.clowder import file_request
from pyclowder_jobs.tools import importer
from pyclowder_jobs.tools.importer import import_file
from tools_builders import at, fixture_events

CONSOLE_SCRIPT = shutil.which("pyclowder-jobs", path=os.path.dirname(sys.executable)) or "pyclowder-jobs"
NOW = at(3600)
MB = 2 ** 20


def layouts(events):
    """The same documents as mongoexport may write them: JSON lines, an array on one line, a pretty array."""
    return {"lines": "".join(json.dumps(event) + "\n" for event in events),
            "one-line array": json.dumps(events) + "\n",
            "pretty array": "  \n" + json.dumps(events, indent=2)}


@pytest.mark.parametrize("layout", ["lines", "one-line array", "pretty array"])
@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_read_a_few_characters_at_a_time_every_layout_gives_the_documents_of_the_whole(tmp_path, monkeypatch, layout,
                                                                                        chunk):
    events = fixture_events()
    path = tmp_path / "export.json"
    path.write_text(layouts(events)[layout])
    whole = Store(tmp_path / "whole.sqlite")
    stored = whole.add_events(events, now=NOW)
    monkeypatch.setattr(importer, "CHUNK", chunk)

    with Store(tmp_path / "chunked.sqlite") as store:
        summary = import_file(store, path)
        assert (summary.read, summary.imported, summary.refused_count) == (len(events), stored, 0)
        assert store.jobs(now=NOW) == whole.jobs(now=NOW)
    whole.close()


@pytest.mark.parametrize("layout", ["lines", "one-line array", "pretty array"])
def test_a_document_longer_than_the_limit_is_rejected_with_its_start_kept_and_the_rest_imported(tmp_path,
                                                                                                 monkeypatch, layout):
    events = fixture_events()[:3]
    huge = dict(events[1], status="DONE", message="x" * 3000, _id={"$oid": "5c8a6c70a1b2c3d4e50000ee"})
    path = tmp_path / "export.json"
    path.write_text(layouts([events[0], huge, events[1], events[2]])[layout])
    monkeypatch.setattr(importer, "CHUNK", 100)
    monkeypatch.setattr(importer, "MAX_DOCUMENT", 1000)
    monkeypatch.setattr(importer, "KEPT_OF_LONGER", 50)

    with Store(tmp_path / "jobs.sqlite") as store:
        summary = import_file(store, path)
        [rejected] = store.rejected()
    assert summary.imported == 3
    [(line, reason)] = summary.refused
    assert reason.startswith("longer than 0 MiB, MongoDB's limit for a document")
    assert rejected["reason"] == "line %d of export.json: %s" % (line, reason)
    assert rejected["raw"].startswith("{") and len(rejected["raw"]) == 50


def peak_memory_of_import(path, database):
    """The largest resident size of ``pyclowder-jobs import`` (bytes), and its summary."""
    measure = ("import resource, subprocess, sys; found = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
               "print(found.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024);"
               "print(found.stdout, found.stderr)")
    out = subprocess.run([sys.executable, "-c", measure, CONSOLE_SCRIPT, "import", str(path), "--db", str(database),
                          "--json"], capture_output=True, text=True, timeout=1800, check=True).stdout
    code, peak = map(int, out.split("\n", 1)[0].split())
    assert code == 0, out
    return peak, json.loads(out.split("\n", 1)[1].strip())[0]


def write_array(path, megabytes):
    """A --jsonArray export on one line, of v1 documents of jobs of three documents each."""
    with open(path, "w") as out:
        out.write("[")
        written = number = 0
        while written < megabytes * MB:
            document = {"_id": {"$oid": "%024x" % number}, "file_id": {"$oid": "%024x" % (number // 3)},
                        "extractor_id": "ncsa.wordcount", "job_id": {"$oid": "%024x" % (10 ** 12 + number // 3)},
                        "status": ("StatusMessage.start: Started.", "StatusMessage.processing: Working.",
                                   "DONE")[number % 3],
                        "start": {"$date": "2024-01-12T10:%02d:%02d.000Z" % (number // 60 % 60, number % 60)}}
            text = ("," if number else "") + json.dumps(document)
            out.write(text)
            written += len(text)
            number += 1
        out.write("]\n")
    return number


def test_one_line_longer_than_mongodbs_limit_is_rejected_without_being_held_in_memory(tmp_path, soak):
    megabytes = 150 if soak else 40
    path = tmp_path / "long-line.json"
    with open(path, "w") as out:
        out.write(json.dumps({"_id": {"$oid": "%024x" % 1}, "file_id": "f", "extractor_id": "e", "status": "DONE",
                              "start": "2024-01-12T10:00:00Z", "message": "x" * (megabytes * MB)}) + "\n")
        out.write(json.dumps({"_id": {"$oid": "%024x" % 2}, "file_id": "f", "extractor_id": "e", "status": "DONE",
                              "start": "2024-01-12T10:00:01Z"}) + "\n")

    peak, summary = peak_memory_of_import(path, tmp_path / "jobs.sqlite")

    assert (summary["imported"], summary["refused"]) == (1, 1)
    assert peak < 200 * MB, "%.0f MB" % (peak / MB)


def test_a_big_json_array_is_imported_in_constant_memory(tmp_path, soak):
    if not soak:
        pytest.skip("the 300 MB export runs in the soak (tox -e soak); the short run reads arrays in small chunks")
    path = tmp_path / "array.json"
    count = write_array(path, 300)

    peak, summary = peak_memory_of_import(path, tmp_path / "jobs.sqlite")

    assert summary["imported"] == count
    assert peak < 200 * MB, "%.0f MB" % (peak / MB)


def test_a_huge_resource_id_is_cut_in_heartbeats():
    for resource_id in ("r" * (5 * MB), {"nested": ["x" * MB] * 10}, 10 ** 30, float("nan"), "a\ud800b"):
        listed = Job("job-1", resource_id).summary()
        text = json.dumps(listed, allow_nan=False)
        text.encode("utf-8")
        assert len(text) < 2 * MAX_HEARTBEAT_TEXT


@pytest.mark.broker
def test_a_running_job_with_a_5_mb_resource_id_adds_little_to_each_heartbeat(broker, start_extractor):
    start_extractor("behave/with_mixin.py")
    huge = "r" * (5 * MB)
    broker.publish(file_request(1, "http://127.0.0.1:9/", huge, queue=broker.queue, secret_key="k" * 10,
                                parameters={"seconds": 2.5, "steps": 1}))
    broker.collect(lambda b: any(e["tracking"]["jobs"] for _, e in b.heartbeats))
    broker.collect(broker.finished(huge), timeout=60)

    listing = [json.dumps(beat) for _, beat in broker.heartbeats if beat["tracking"]["jobs"]]
    assert listing and max(len(text) for text in listing) < 3000
