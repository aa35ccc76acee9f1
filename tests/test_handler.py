"""The tracked handler in one process, with a stand-in channel: progress, and falling back safely.

These drive the connector exactly as pyClowder's ``listen`` loop does (``on_message``, then
``process_messages`` until the job is finished), without a broker.
"""

import inspect
import json
import logging
import time
from types import SimpleNamespace

import pyclowder.connectors

import pyclowder_jobs
from clowder_rules import v1_reply_problems, v2_reply_problems
from pyclowder_jobs.extractor import request
from pyclowder_jobs.protocol import tracking as wire
from pyclowder_jobs.extractor.connector import TrackedRabbitMQConnector


class Channel:
    """Records what the connector publishes and acknowledges."""

    def __init__(self):
        self.published = []
        self.acked = []
        self.wakes = 0
        self.connection = SimpleNamespace(add_callback_threadsafe=self._wake)

    def _wake(self, callback):
        self.wakes += 1
        callback()

    def basic_publish(self, exchange, routing_key, body, properties=None):
        self.published.append((routing_key, json.loads(body) if body[:1] in ("{", b"{") else body))

    def basic_ack(self, delivery_tag):
        self.acked.append(delivery_tag)

    def replies(self):
        return [body for key, body in self.published if key == "clowder.replies"]


def make_connector(process_message, check_message=None, connector_class=TrackedRabbitMQConnector):
    return connector_class(extractor_name="q", extractor_info={"name": "q", "process": {"file": ["*"]}},
                           rabbitmq_uri="amqp://127.0.0.1", rabbitmq_queue="q",
                           check_message=check_message or (lambda *args: pyclowder.utils.CheckMessage.bypass),
                           process_message=process_message)


def deliver(connector, channel, body, tag=1):
    connector.connection = channel.connection
    method = SimpleNamespace(delivery_tag=tag, routing_key="q", redelivered=False)
    header = SimpleNamespace(reply_to="clowder.replies", correlation_id="c1")
    connector.on_message(channel, method, header, json.dumps(body).encode() if isinstance(body, dict) else body)
    worker = connector.worker
    if worker is None:
        return
    worker.thread.join(10)
    while not worker.is_finished():
        worker.process_messages(channel, "q")


BODY = {"id": "f1", "host": "http://127.0.0.1:9/", "secretKey": "k", "routing_key": "*.file.text"}


def test_quick_progress_calls_are_coalesced_and_the_last_is_sent_before_done():
    def process(connector, host, key, resource, parameters):
        for step in range(1, 11):
            connector.progress(resource, step, 10, "files")

    channel = Channel()
    deliver(make_connector(process), channel, BODY)
    messages = [reply["message"] for reply in channel.replies()]
    assert messages == ["Started processing.", "1/10 files (10%)", "10/10 files (100%)", "Done processing."]


def test_a_pending_progress_is_sent_by_the_connector_thread_once_due(monkeypatch):
    monkeypatch.setenv("PYCLOWDER_JOBS_PROGRESS_INTERVAL", "0.05")
    sent = []

    def process(connector, host, key, resource, parameters):
        connector.progress(resource, 1, 3)
        connector.progress(resource, 2, 3)
        time.sleep(0.1)
        connector.process_messages(channel, "q")
        sent.extend(reply["message"] for reply in channel.replies())

    channel = Channel()
    deliver(make_connector(process), channel, BODY)
    assert sent == ["Started processing.", "1/3 (33%)", "2/3 (66%)"]


def test_progress_with_values_that_are_not_numbers_is_ignored_with_a_warning(caplog):
    def process(connector, host, key, resource, parameters):
        connector.progress(resource, "three", 10)

    channel = Channel()
    with caplog.at_level(logging.WARNING, logger="pyclowder_jobs"):
        deliver(make_connector(process), channel, BODY)
    assert [reply["message"] for reply in channel.replies()] == ["Started processing.", "Done processing."]
    assert "must be numbers" in caplog.text


def test_the_progress_helper_works_on_a_plain_pyclowder_connector():
    def process(connector, host, key, resource, parameters):
        pyclowder_jobs.progress(connector, resource, 2, 4, "files")

    channel = Channel()
    deliver(make_connector(process, connector_class=pyclowder.connectors.RabbitMQConnector), channel, BODY)
    assert "2/4 files (50%)" in [reply["message"] for reply in channel.replies()]


def test_each_queued_status_wakes_the_connector_thread():
    channel = Channel()
    deliver(make_connector(lambda *args: None), channel, BODY)
    assert channel.wakes >= 2


def test_a_message_pyclowder_would_leave_unacknowledged_goes_to_the_error_queue(caplog):
    channel = Channel()
    with caplog.at_level(logging.WARNING, logger="pyclowder_jobs"):
        deliver(make_connector(lambda *args: None), channel, dict(BODY, host=""))
    assert channel.acked == [1]
    assert [key for key, _ in channel.published][-1] == "error.q"
    assert "without acknowledging" in caplog.text


def test_a_job_that_raises_outside_pyclowders_handling_is_still_acknowledged():
    def process(connector, host, key, resource, parameters):
        raise RuntimeError("pyClowder compares retry_count with max_retry to handle this")

    channel = Channel()
    deliver(make_connector(process), channel, dict(BODY, retry_count="not a number"))
    assert channel.acked == [1]
    assert [key for key, _ in channel.published][-1] == "error.q"


def test_when_tracking_a_status_fails_pyclowders_own_status_is_sent(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("broken")

    monkeypatch.setattr(wire, "status_reply", broken)
    channel = Channel()
    deliver(make_connector(lambda *args: None), channel, BODY)
    replies = channel.replies()
    assert [reply["message"] for reply in replies] == ["Started processing.", "Done processing."]
    assert "tracking" not in replies[0] and replies[0]["job_id"]
    assert channel.acked == [1]


def test_when_reading_the_request_fails_unexpectedly_pyclowder_handles_the_message(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("broken")

    monkeypatch.setattr(request, "read", broken)
    channel = Channel()
    deliver(make_connector(lambda *args: None), channel, BODY)
    assert channel.acked == [1]
    assert "tracking" not in channel.replies()[0]


def test_a_body_that_is_not_json_is_moved_to_the_error_queue_and_acknowledged():
    channel = Channel()
    deliver(make_connector(lambda *args: None), channel, b"\x00 not json")
    assert channel.published == [("error.q", b"\x00 not json")]
    assert channel.acked == [1]


def test_the_handler_arguments_the_connector_passes_by_position_are_pyclowders():
    parameters = list(inspect.signature(pyclowder.connectors.RabbitMQHandler.__init__).parameters)
    assert parameters[1:12] == ["extractor_name", "extractor_info", "job_id", "check_message", "process_message",
                                "ssl_verify", "mounted_paths", "clowder_url", "method", "header", "body"]


class Tap:
    """Records what the connector publishes to the event tap."""

    def __init__(self):
        self.events = []

    def publish(self, kind, body):
        self.events.append((kind, json.loads(body)))


def test_each_record_of_the_jobs_thread_at_or_above_its_loggers_level_reaches_the_tap_once():
    alone = logging.getLogger("test.handler.alone")
    alone.propagate = False  # no root handler is needed to see its records
    alone.setLevel(logging.INFO)

    def process(connector, host, key, resource, parameters):
        alone.info("counted %s", "once")
        alone.debug("below the level")

    connector, channel = make_connector(process), Channel()
    connector.tap = Tap()
    deliver(connector, channel, dict(BODY, filename="report.csv"))
    logs = [event for kind, event in connector.tap.events if kind == "log" and event["logger"] == alone.name]
    assert [event["message"] for event in logs] == ["counted once"]
    assert logs[0]["tracking"]["resource_name"] == "report.csv"


def test_a_jobs_replies_carry_the_requests_file_name_and_are_still_accepted_by_both_clowders():
    channel = Channel()
    deliver(make_connector(lambda *args: None), channel, dict(BODY, filename="r\u00e9sum\u00e9 " + "n" * 300))
    replies = channel.replies()
    assert {reply["tracking"]["resource_name"] for reply in replies} == {"r\u00e9sum\u00e9 " + "n" * 193}
    for reply in replies:
        assert v1_reply_problems(reply) == [] and v2_reply_problems(reply) == []


def test_a_request_without_a_name_gets_replies_without_one():
    channel = Channel()
    deliver(make_connector(lambda *args: None), channel, BODY)
    assert all("resource_name" not in reply["tracking"] for reply in channel.replies())
