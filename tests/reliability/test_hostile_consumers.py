"""Hostile documents for every consumer: a hostile value (all of Unicode with lone surrogates and
non-characters, integers beyond 64 bits, NaN and Infinity, very long strings, deep nesting) at every
field of every input shape, through the real recorder and ``import``, the store, the progress API
and ``watch``. Nothing stops: what cannot be stored or folded is rejected with its reason, and the
good documents around it are stored."""

import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
from rich.console import Console

import hostile
from pyclowder_jobs.server import group_events
from pyclowder_jobs.store import Store
from pyclowder_jobs.tools.watch import Watcher
from pyclowder_jobs.tools.web.progress_api import PARAMETERS, Conflict, ParameterError, ProgressAPI

CONSOLE_SCRIPT = shutil.which("pyclowder-jobs", path=os.path.dirname(sys.executable)) or "pyclowder-jobs"
#: Words every kind of refusal's reason holds: the reasons name the real cause.
CAUSES = ["lone surrogate", "beyond SQLite's 64 bits", "which JSON cannot carry", "nests deeper than",
          "not UTF-8", "not JSON"]


def counts(soak):
    """(hostile documents, good events) per consumer."""
    return (6000, 1000) if soak else (len(hostile.plan()) * 3, 200)


def stream(soak, seed):
    """Hostile bodies and good tap events, mixed: (bodies, good events)."""
    bad, good = counts(soak)
    rng = random.Random(seed)
    bodies = [hostile.encode(document, rng) for _, _, document in hostile.documents(bad, seed=seed)]
    events = hostile.good(good, seed=seed)
    bodies += [json.dumps(event).encode() for event in events]
    rng.shuffle(bodies)
    return bodies, events


def assert_valid_everywhere(store):
    """What the store gives back is JSON without NaN and encodes as UTF-8: a page or a terminal can show it."""
    jobs = store.jobs()
    json.dumps(jobs, allow_nan=False).encode("utf-8")
    json.dumps(store.heartbeats(), allow_nan=False).encode("utf-8")
    json.dumps(store.rejected(limit=100000), allow_nan=False).encode("utf-8")
    return jobs


def assert_good_ones_stored(jobs, events):
    succeeded = {job["resource_id"] for job in jobs if job["status"] == "SUCCEEDED"}
    assert {event["file_id"] for event in events} <= succeeded


def test_the_hostile_documents_try_every_field_of_every_shape():
    plan = hostile.plan()
    tried = {(shape, path) for shape, path, _ in hostile.documents(len(plan))}
    assert tried == set(plan) and len(hostile.SHAPES) == 7


@pytest.mark.broker
def test_the_recorder_rejects_hostile_tap_events_with_their_reasons_and_stores_the_good_ones_around_them(
        broker, tmp_path, soak):
    bodies, events = stream(soak, seed=21)
    database = tmp_path / "tap.sqlite"
    queue = "test.recorder." + broker.queue[-12:]
    process = subprocess.Popen([CONSOLE_SCRIPT, "record", "--db", str(database), "--queue", queue,
                                "--bind", broker.queue + ".#", "--batch-size", "500"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        broker.collect(lambda b: b.channel.queue_declare(queue=queue, durable=True).method.consumer_count > 0)
        for body in bodies:
            broker.channel.basic_publish(exchange="pyclowder.jobs", routing_key=broker.queue + ".status", body=body)
        broker.collect(lambda b: b.channel.queue_declare(queue=queue, durable=True).method.message_count == 0,
                       timeout=120)
        time.sleep(1.0)
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        broker.channel.queue_delete(queue=queue)

    assert process.returncode == 0, err
    assert "Traceback" not in err
    with Store(database, create=False) as store:
        jobs = assert_valid_everywhere(store)
        assert_good_ones_stored(jobs, events)
        found = store.counts()
        rejected = store.rejected(limit=100000)
    stored = sum(count for kind, count in found.items() if kind not in ("jobs", "rejected"))
    new, duplicates, refused = map(int, re.search(r"recorded (\d+) new .* \((\d+) duplicates, (\d+) rejected\)",
                                                  out).groups())
    assert new + duplicates + refused == len(bodies)  # every message accounted for
    assert new == stored and refused >= found["rejected"]  # the same rejected text is kept once
    assert all(row["source"] == "recorder" and row["reason"] for row in rejected)
    assert all(any(cause in row["reason"] for row in rejected) for cause in CAUSES)


def test_import_rejects_hostile_documents_with_their_line_and_imports_the_rest(tmp_path, soak):
    bodies, events = stream(soak, seed=22)
    lines = tmp_path / "extractions.json"
    lines.write_bytes(b"\n".join(bodies) + b"\n")
    documents = [document for _, _, document in hostile.documents(counts(soak)[0], seed=23)] + events
    array = tmp_path / "extractions-array.json"
    array.write_text(json.dumps(documents, indent=1))
    database = tmp_path / "imported.sqlite"

    found = subprocess.run([CONSOLE_SCRIPT, "import", str(lines), str(array), "--db", str(database), "--json"],
                           capture_output=True, text=True, timeout=300)

    assert found.returncode == 0, found.stderr
    assert "Traceback" not in found.stderr
    for summary in json.loads(found.stdout):
        assert summary["read"] == summary["imported"] + summary["duplicates"] + summary["refused"] > 0
        assert summary["refused"] > 0
    with Store(database, create=False) as store:
        jobs = assert_valid_everywhere(store)
        assert_good_ones_stored(jobs, events)
        rejected = store.rejected(limit=100000)
    assert {row["source"] for row in rejected} == {"import"}
    assert any(row["reason"].startswith("line ") and " of extractions-array.json: " in row["reason"]
               for row in rejected)


def test_the_store_rejects_hostile_objects_given_to_it_and_keeps_the_good_ones(tmp_path, soak):
    bad, good = counts(soak)
    documents = [document for _, _, document in hostile.documents(bad, seed=24)]
    events = hostile.good(good, seed=24)
    mixed = documents + events
    random.Random(24).shuffle(mixed)
    with Store(tmp_path / "objects.sqlite") as store:
        for start in range(0, len(mixed), 250):
            store.add_events(mixed[start:start + 250], source="test")
        jobs = assert_valid_everywhere(store)
        assert_good_ones_stored(jobs, events)
        assert store.counts()["rejected"] > 0


def test_the_progress_api_answers_hostile_parameters_with_a_reason_and_stores_only_what_it_can_show(tmp_path,
                                                                                                    soak):
    rng = random.Random(25)
    with Store(tmp_path / "progress.sqlite") as store:
        api = ProgressAPI(store, clock=lambda: 1_700_000_000.0)
        answered = refused = 0
        for _ in range(3000 if soak else 400):
            call = rng.choice(["create", "update"])
            params = {name: [_hostile_parameter(rng)] for name in PARAMETERS[call] if rng.random() < 0.8}
            if rng.random() < 0.5:
                params["jobid"] = ["job-%d" % rng.randrange(20)]
            try:
                getattr(api, call)(params, client="127.0.0.1")
                answered += 1
            except (ParameterError, Conflict):
                refused += 1
        assert answered and refused
        assert_valid_everywhere(store)


def _hostile_parameter(rng):
    value = hostile.hostile_value(rng)
    if rng.random() < 0.3:
        return rng.choice(["1", "0", "2.5", "10", "job-1", "w-1", "yes"])
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def test_the_fold_never_raises_on_hostile_documents_and_accounts_for_each(soak):
    documents = [document for _, _, document in hostile.documents(counts(soak)[0], seed=27)]
    jobs = group_events(documents)
    assert jobs.rejected and all(rejection.reason for rejection in jobs.rejected)
    assert len(jobs.rejected) + jobs.ignored < len(documents) and all(job.to_dict()["events"] for job in jobs)


def test_watch_counts_hostile_tap_events_as_rejected_and_goes_on_drawing(soak):
    bodies, events = stream(soak, seed=26)
    watcher = Watcher("amqp://guest:guest@127.0.0.1:5672/%2f")
    for body in bodies:
        watcher.take(body)
    console = Console(file=io.StringIO(), width=200)
    console.print(watcher.frame(finished=len(events)))
    frame = console.file.getvalue()
    frame.encode("utf-8")
    assert "rejected" in frame
    assert all(cause in " ".join(watcher.rejected) for cause in ("lone surrogate", "64 bits", "not JSON"))
