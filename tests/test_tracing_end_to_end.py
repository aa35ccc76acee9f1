"""OpenTelemetry spans of jobs, end to end: real extractor processes on the real broker.

``otel_extractor.py`` runs the Behave example with the SDK writing each finished span to a file
(one JSON object a line), or with OpenTelemetry made unimportable.
"""

import json
import time
from pathlib import Path

import pytest

from pyclowder_jobs.testing.clowder import file_request

pytestmark = pytest.mark.broker

HOST = "http://127.0.0.1:9/"
SECRET = "s3cr3t-" + "k3y" * 6
SCRIPT = str(Path(__file__).resolve().parent / "otel_extractor.py")
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"


def request_for(broker, file_id, job_id=None, **parameters):
    return file_request(1, HOST, file_id, queue=broker.queue, secret_key=SECRET, job_id=job_id,
                        parameters=parameters or None)


def read_spans(path, count, timeout=10.0):
    """The first ``count`` spans the extractor wrote to ``path``, waiting for them up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count or time.monotonic() > deadline:
            return [json.loads(line) for line in lines]
        time.sleep(0.05)


def test_a_retried_job_in_a_real_extractor_is_one_span_per_attempt_in_the_requests_trace(broker, start_extractor,
                                                                                          tmp_path):
    traces = tmp_path / "spans.jsonl"
    start_extractor(SCRIPT, env={"TRACES_FILE": str(traces)})
    broker.publish(request_for(broker, "file-r", job_id="5c8a6c70a1b2c3d4e5000020", retry=True),
                   headers={"traceparent": "00-%s-%s-01" % (TRACE_ID, PARENT_ID)})
    broker.collect(broker.finished("file-r", final=("StatusMessage.done",)))
    first, second = read_spans(traces, 2)
    for attempt, span in enumerate((first, second), 1):
        assert span["name"] == "process " + broker.queue
        assert span["kind"] == "SpanKind.CONSUMER"
        assert span["context"]["trace_id"] == "0x" + TRACE_ID
        assert span["parent_id"] == "0x" + PARENT_ID
        assert span["attributes"]["messaging.system"] == "rabbitmq"
        assert span["attributes"]["messaging.destination.name"] == broker.queue
        assert span["attributes"]["pyclowder_jobs.job_id"] == "5c8a6c70a1b2c3d4e5000020"
        assert span["attributes"]["pyclowder_jobs.attempt"] == attempt
        assert span["attributes"]["pyclowder_jobs.resource_id"] == "file-r"
    assert [event["name"] for event in first["events"]] == ["StatusMessage.start", "StatusMessage.retry"]
    assert first["status"]["status_code"] == "ERROR" and first["attributes"]["error.type"] == "RuntimeError"
    assert [event["name"] for event in second["events"]] == ["StatusMessage.start", "StatusMessage.done"]
    assert second["status"]["status_code"] == "UNSET"


def test_an_extractor_where_opentelemetry_cannot_be_imported_processes_jobs_as_before(broker, start_extractor):
    extractor = start_extractor(SCRIPT, env={"BLOCK_OPENTELEMETRY": "1"})
    broker.publish(request_for(broker, "file-ok"), headers={"traceparent": "00-%s-%s-01" % (TRACE_ID, PARENT_ID)})
    broker.publish(request_for(broker, "file-retry", retry=True))
    broker.publish(request_for(broker, "file-fail", fail=True))
    broker.collect(lambda b: b.finished("file-ok")(b) and b.finished("file-retry", final=("StatusMessage.done",))(b)
                   and b.finished("file-fail")(b))
    assert [r["message_type"] for r in broker.replies_for("file-ok")] == ["StatusMessage.start", "StatusMessage.done"]
    assert [(r["message_type"], r["tracking"]["attempt"]) for r in broker.replies_for("file-retry")] == [
        ("StatusMessage.start", 1), ("StatusMessage.retry", 1), ("StatusMessage.start", 2), ("StatusMessage.done", 2)]
    assert broker.replies_for("file-fail")[-1]["message_type"] == "StatusMessage.error"
    assert len(broker.error_queue()) == 1
    assert "Tracing could not" not in extractor.log() and "OpenTelemetry could not" not in extractor.log()
