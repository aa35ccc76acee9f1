"""OpenTelemetry spans of jobs, in one process: a real SDK ``TracerProvider`` with its in-memory
exporter, and a stand-in channel driven as pyClowder's ``listen`` loop drives it.

The provider is handed to the code under test through ``opentelemetry.trace.get_tracer_provider``
(patched for each test), since the API lets a process set its global provider only once.
"""

import json
import logging
import sys
import time
from types import SimpleNamespace

import pika
import pytest
import pyclowder.connectors
from opentelemetry import baggage, trace
from opentelemetry.sdk.trace import Span as SdkSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pyclowder.connectors import PyClowderExtractionAbort
from pyclowder.utils import CheckMessage

from pyclowder_jobs.extractor import tracing
from pyclowder_jobs.extractor.connector import TrackedRabbitMQConnector

QUEUE = "wordcount"
SECRET = "s3cr3t-" + "k3y" * 6
BODY = {"id": "file-1", "host": "http://127.0.0.1:9/", "secretKey": SECRET, "jobid": "5c8a6c70a1b2c3d4e5000010"}
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = "00-%s-%s-01" % (TRACE_ID, PARENT_ID)


class Channel:
    """Records what the connector publishes (with its properties) and acknowledges."""

    def __init__(self):
        self.published = []
        self.acked = []
        self.connection = SimpleNamespace(add_callback_threadsafe=lambda callback: callback())

    def basic_publish(self, exchange, routing_key, body, properties=None, mandatory=False):
        self.published.append((routing_key, properties, json.loads(body)))

    def basic_ack(self, delivery_tag):
        self.acked.append(delivery_tag)

    def replies(self):
        return [(body["message_type"], body["message"]) for key, _, body in self.published if key == "clowder.replies"]

    def retries(self):
        return [(properties, body) for key, properties, body in self.published if key == QUEUE]


@pytest.fixture
def exporter(mocker):
    """The in-memory exporter of a real SDK tracer provider, which the code under test sees as the global one."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    mocker.patch.object(trace, "get_tracer_provider", return_value=provider)
    yield memory
    provider.shutdown()


def make_connector(process_message=None, check_message=None):
    return TrackedRabbitMQConnector(
        extractor_name=QUEUE, extractor_info={"name": QUEUE, "process": {"file": ["*"]}},
        rabbitmq_uri="amqp://guest:guest@broker.example:5673/%2f", rabbitmq_queue=QUEUE,
        check_message=check_message or (lambda *args: CheckMessage.bypass),
        process_message=process_message or (lambda *args: None))


def deliver(connector, channel, body, headers=None, tag=1):
    """One message through ``on_message``, its job thread, then ``process_messages`` until it is finished."""
    connector.connection = channel.connection
    method = pika.spec.Basic.Deliver(consumer_tag="ctag", delivery_tag=tag, redelivered=False, exchange="",
                                     routing_key=QUEUE)
    header = pika.BasicProperties(delivery_mode=2, reply_to="clowder.replies", correlation_id="corr-1",
                                  headers=headers)
    connector.on_message(channel, method, header, json.dumps(body).encode())
    worker = connector.worker
    worker.thread.join(10)
    while not worker.is_finished():
        worker.process_messages(channel, QUEUE)


def fail_first_attempt(connector, host, key, resource, parameters):
    if not parameters.get("retry_count"):
        raise RuntimeError("asked to fail on the first attempt")


def deliver_with_retry(connector, channel, headers=None):
    """A job that fails once and is retried: the retry pyClowder publishes is delivered as the next message."""
    deliver(connector, channel, BODY, headers)
    properties, body = channel.retries()[0]
    deliver(connector, channel, body, properties.headers, tag=2)


def test_a_job_attempt_is_one_consumer_span_named_for_the_queue_with_messaging_and_job_attributes(exporter):
    connector = make_connector()
    deliver(connector, Channel(), BODY)
    (span,) = exporter.get_finished_spans()
    assert span.name == "process wordcount"
    assert span.kind is SpanKind.CONSUMER
    assert span.instrumentation_scope.name == "pyclowder_jobs"
    assert dict(span.attributes) == {
        "messaging.system": "rabbitmq",
        "messaging.operation.name": "process",
        "messaging.operation.type": "process",
        "messaging.destination.name": QUEUE,
        "messaging.rabbitmq.destination.routing_key": QUEUE,
        "messaging.rabbitmq.message.delivery_tag": 1,
        "messaging.message.conversation_id": "corr-1",
        "messaging.client.id": connector.tracking_worker.id,
        "server.address": "broker.example",
        "server.port": 5673,
        "pyclowder_jobs.job_id": BODY["jobid"],
        "pyclowder_jobs.attempt": 1,
        "pyclowder_jobs.resource_id": "file-1",
    }


def test_a_message_through_an_exchange_names_exchange_routing_key_and_queue_as_its_destination():
    method = SimpleNamespace(exchange="clowder", routing_key="extractors.wordcount", delivery_tag=7)
    attributes = tracing.message_attributes(method, SimpleNamespace(), QUEUE)
    assert attributes["messaging.destination.name"] == "clowder:extractors.wordcount:wordcount"
    assert attributes["messaging.rabbitmq.destination.routing_key"] == "extractors.wordcount"


def test_each_status_and_progress_the_job_sends_is_a_span_event_with_its_message(exporter):
    def process(connector, host, key, resource, parameters):
        connector.status_update(pyclowder.utils.StatusMessage.processing, resource, "reading")
        connector.progress(resource, 3, 10, "files")

    deliver(make_connector(process), Channel(), BODY)
    (span,) = exporter.get_finished_spans()
    assert [(event.name, event.attributes["pyclowder_jobs.message"]) for event in span.events] == [
        ("StatusMessage.start", "Started processing."),
        ("StatusMessage.processing", "reading"),
        ("StatusMessage.processing", "3/10 files (30%)"),
        ("StatusMessage.done", "Done processing.")]
    progress = dict(span.events[2].attributes)
    assert progress["pyclowder_jobs.kind"] == "progress"
    assert (progress["pyclowder_jobs.progress.done"], progress["pyclowder_jobs.progress.total"],
            progress["pyclowder_jobs.progress.unit"]) == (3, 10, "files")
    assert span.events[1].attributes["pyclowder_jobs.kind"] == "status"
    assert span.start_time <= span.events[0].timestamp <= span.events[-1].timestamp <= span.end_time


def test_the_secret_key_is_masked_in_span_events(exporter):
    def process(connector, host, key, resource, parameters):
        raise PyClowderExtractionAbort("could not log in with " + key)

    deliver(make_connector(process), Channel(), BODY)
    (span,) = exporter.get_finished_spans()
    assert SECRET not in json.dumps([dict(event.attributes) for event in span.events])
    assert SECRET not in span.status.description


def test_a_successful_job_leaves_its_span_status_unset(exporter):
    deliver(make_connector(), Channel(), BODY)
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.UNSET
    assert "error.type" not in span.attributes


def test_a_skipped_job_is_not_an_error(exporter):
    deliver(make_connector(check_message=lambda *args: CheckMessage.ignore), Channel(), BODY)
    (span,) = exporter.get_finished_spans()
    assert [event.name for event in span.events] == ["StatusMessage.start", "StatusMessage.skip", "StatusMessage.done"]
    assert span.status.status_code is StatusCode.UNSET


def test_a_failed_job_ends_its_span_with_error_status_and_the_exception_type(exporter):
    def process(connector, host, key, resource, parameters):
        raise PyClowderExtractionAbort("the file is empty")

    deliver(make_connector(process), Channel(), BODY)
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "Aborting message: the file is empty"
    assert span.attributes["error.type"] == "PyClowderExtractionAbort"
    assert span.events[-1].name == "StatusMessage.error"


def test_a_job_that_fails_outside_pyclowders_handling_has_an_error_span_with_the_exception_type(exporter):
    def process(connector, host, key, resource, parameters):
        raise RuntimeError("pyClowder compares retry_count with max_retry to handle this")

    channel = Channel()
    deliver(make_connector(process), channel, dict(BODY, retry_count="not a number"))
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "TypeError"
    assert channel.acked == [1]


def test_an_attempt_that_asks_for_a_retry_ends_its_span_with_error_status(exporter):
    deliver(make_connector(fail_first_attempt), Channel(), BODY)
    (span,) = exporter.get_finished_spans()
    assert span.events[-1].name == "StatusMessage.retry"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "RuntimeError"


def test_a_requests_traceparent_makes_the_span_its_child_in_its_trace_and_links_it(exporter):
    deliver(make_connector(), Channel(), BODY, headers={"traceparent": TRACEPARENT, "tracestate": "vendor=1"})
    (span,) = exporter.get_finished_spans()
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert format(span.parent.span_id, "016x") == PARENT_ID and span.parent.is_remote
    assert [format(link.context.span_id, "016x") for link in span.links] == [PARENT_ID]
    assert span.context.trace_state.get("vendor") == "1"


def test_a_traceparent_in_binary_header_value_is_read(exporter):
    deliver(make_connector(), Channel(), BODY, headers={"traceparent": TRACEPARENT.encode()})
    (span,) = exporter.get_finished_spans()
    assert format(span.context.trace_id, "032x") == TRACE_ID


@pytest.mark.parametrize("headers", [None, {}, {"traceparent": "00-not-a-trace-01"}, {"traceparent": 12}],
                         ids=["no headers", "empty", "malformed", "not text"])
def test_a_request_without_a_usable_traceparent_starts_a_new_trace(exporter, headers):
    channel = Channel()
    deliver(make_connector(), channel, BODY, headers=headers)
    (span,) = exporter.get_finished_spans()
    assert span.parent is None and not span.links
    assert channel.replies()[-1] == ("StatusMessage.done", "Done processing.")


def test_a_retried_job_gives_one_span_per_attempt_both_children_of_the_requests_traceparent(exporter):
    deliver_with_retry(make_connector(fail_first_attempt), Channel(), {"traceparent": TRACEPARENT})
    first, second = exporter.get_finished_spans()
    assert [span.attributes["pyclowder_jobs.attempt"] for span in (first, second)] == [1, 2]
    assert {format(span.context.trace_id, "032x") for span in (first, second)} == {TRACE_ID}
    assert {format(span.parent.span_id, "016x") for span in (first, second)} == {PARENT_ID}
    assert first.attributes["pyclowder_jobs.job_id"] == second.attributes["pyclowder_jobs.job_id"]
    assert second.status.status_code is StatusCode.UNSET


def test_the_retry_of_a_request_without_trace_context_carries_the_first_attempts(exporter):
    channel = Channel()
    deliver_with_retry(make_connector(fail_first_attempt), channel)
    first, second = exporter.get_finished_spans()
    assert first.parent is None
    assert second.context.trace_id == first.context.trace_id
    assert second.parent.span_id == first.context.span_id
    assert set(channel.retries()[0][0].headers) == {"traceparent"}


def test_the_retry_of_a_request_with_a_malformed_traceparent_carries_the_first_attempts_context(exporter):
    channel = Channel()
    deliver_with_retry(make_connector(fail_first_attempt), channel, {"traceparent": "00-not-a-trace-01"})
    first, second = exporter.get_finished_spans()
    assert second.parent.span_id == first.context.span_id


def test_the_requests_baggage_is_in_the_jobs_context(exporter):
    seen = []

    def process(connector, host, key, resource, parameters):
        seen.append(baggage.get_baggage("tenant"))

    deliver(make_connector(process), Channel(), BODY, headers={"traceparent": TRACEPARENT, "baggage": "tenant=ncsa"})
    assert seen == ["ncsa"]


def test_spans_the_job_makes_are_children_of_its_attempts_span(exporter):
    def process(connector, host, key, resource, parameters):
        with trace.get_tracer_provider().get_tracer("extractor").start_as_current_span("count words"):
            pass

    deliver(make_connector(process), Channel(), BODY)
    inner, attempt = exporter.get_finished_spans()
    assert inner.name == "count words"
    assert inner.parent.span_id == attempt.context.span_id


def test_without_a_tracer_provider_the_job_replies_the_same_and_no_span_is_started(exporter, mocker):
    traced = Channel()
    deliver(make_connector(), traced, BODY, headers={"traceparent": TRACEPARENT})
    mocker.patch.object(trace, "get_tracer_provider", return_value=trace.ProxyTracerProvider())
    job_span = mocker.spy(tracing.JobSpan, "__init__")
    untraced = Channel()
    deliver(make_connector(), untraced, BODY, headers={"traceparent": TRACEPARENT})
    assert job_span.call_count == 0
    assert untraced.replies() == traced.replies()
    assert untraced.acked == traced.acked == [1]


def test_a_tracer_provider_configured_after_the_connector_was_made_is_used_within_a_second(exporter, mocker):
    configured = trace.get_tracer_provider()
    mocker.patch.object(trace, "get_tracer_provider", return_value=trace.ProxyTracerProvider())
    connector = make_connector()
    deliver(connector, Channel(), BODY)
    trace.get_tracer_provider.return_value = configured
    time.sleep(1.05)
    deliver(connector, Channel(), BODY, tag=2)
    (span,) = exporter.get_finished_spans()
    assert span.attributes["messaging.rabbitmq.message.delivery_tag"] == 2


def test_without_opentelemetry_a_connector_has_no_tracing_and_its_jobs_run(mocker):
    mocker.patch.dict(sys.modules, {"opentelemetry": None})
    connector, channel = make_connector(), Channel()
    deliver(connector, channel, BODY, headers={"traceparent": TRACEPARENT})
    assert connector.tracing is None
    assert channel.replies() == [("StatusMessage.start", "Started processing."),
                                 ("StatusMessage.done", "Done processing.")]


def test_a_failure_in_tracing_is_logged_once_and_the_jobs_go_on(exporter, mocker, caplog):
    mocker.patch.object(SdkSpan, "add_event", side_effect=RuntimeError("broken span"))
    connector, channel = make_connector(), Channel()
    with caplog.at_level(logging.ERROR, logger="pyclowder_jobs"):
        deliver(connector, channel, BODY)
        deliver(connector, channel, BODY, tag=2)
    assert channel.acked == [1, 2]
    assert channel.replies().count(("StatusMessage.done", "Done processing.")) == 2
    assert [record.getMessage().split(";")[0] for record in caplog.records] == ["Tracing could not record a status"]
    assert len(exporter.get_finished_spans()) == 2


def test_when_a_span_cannot_be_started_the_job_runs_untraced(exporter, mocker, caplog):
    mocker.patch.object(TracerProvider, "get_tracer", side_effect=RuntimeError("broken provider"))
    channel = Channel()
    with caplog.at_level(logging.ERROR, logger="pyclowder_jobs"):
        deliver(make_connector(), channel, BODY)
    assert channel.replies()[-1] == ("StatusMessage.done", "Done processing.")
    assert "Tracing could not start a job's span" in caplog.text
    assert exporter.get_finished_spans() == ()
