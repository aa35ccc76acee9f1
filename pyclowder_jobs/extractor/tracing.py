"""OpenTelemetry traces of jobs, when OpenTelemetry is installed and configured (the ``otel`` extra).

Each attempt of a job is one span that follows OpenTelemetry's messaging conventions for RabbitMQ
(``process <queue>``, kind CONSUMER), with every status the job sends as a span event. The trace
context in the request's headers (W3C ``traceparent`` and ``tracestate`` with the default
propagator) is the span's parent, and a retry carries it on, so that all attempts of a job are in
one trace. Described in ``docs/tracing.rst``.

OpenTelemetry is imported when a connector is made, never by importing this module. Without it a
connector has no tracing at all; with it but no tracer provider configured, the global provider
is looked at no more than once a second. A failure in here never reaches the job: it is logged once per
connector and the job goes on.
"""

from __future__ import annotations

import logging
import sys
import time
from types import SimpleNamespace
from typing import Any, Dict, List, Optional
from urllib.parse import urlparse

from pyclowder_jobs import __version__

logger = logging.getLogger("pyclowder_jobs")

#: The instrumentation scope of the spans, and the semantic conventions they follow.
SCOPE = "pyclowder_jobs"
SCHEMA_URL = "https://opentelemetry.io/schemas/1.44.0"

# Attributes of OpenTelemetry's messaging, server and error conventions.
MESSAGING_SYSTEM = "messaging.system"
OPERATION_NAME = "messaging.operation.name"
OPERATION_TYPE = "messaging.operation.type"
DESTINATION_NAME = "messaging.destination.name"
ROUTING_KEY = "messaging.rabbitmq.destination.routing_key"
DELIVERY_TAG = "messaging.rabbitmq.message.delivery_tag"
MESSAGE_ID = "messaging.message.id"
CONVERSATION_ID = "messaging.message.conversation_id"
CLIENT_ID = "messaging.client.id"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
ERROR_TYPE = "error.type"
#: ``error.type`` of a failure whose exception is not known.
OTHER_ERROR = "_OTHER"

# Attributes of this library: on the span, then on each status event.
JOB_ID = "pyclowder_jobs.job_id"
ATTEMPT = "pyclowder_jobs.attempt"
RESOURCE_ID = "pyclowder_jobs.resource_id"
MESSAGE = "pyclowder_jobs.message"
KIND = "pyclowder_jobs.kind"
PROGRESS_DONE = "pyclowder_jobs.progress.done"
PROGRESS_TOTAL = "pyclowder_jobs.progress.total"
PROGRESS_UNIT = "pyclowder_jobs.progress.unit"

#: Final statuses (as on the wire) that end an attempt as failed: an error, or a retry after one.
FAILED_STATUSES = frozenset({"StatusMessage.error", "StatusMessage.retry"})
#: Longest resource id put on a span; a longer one (hostile input) is cut.
MAX_RESOURCE_ID = 256


def connector_tracing(queue: str, rabbitmq_uri: str, worker_id: str) -> Optional["Tracing"]:
    """The tracing of one connector's jobs, or None when OpenTelemetry cannot be imported."""
    try:
        from opentelemetry import context, propagate, trace  # pylint: disable=import-outside-toplevel
        from opentelemetry.trace import Status, StatusCode  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    except Exception:  # pylint: disable=broad-except
        logger.exception("OpenTelemetry could not be imported: jobs are not traced")
        return None
    api = SimpleNamespace(context=context, propagate=propagate, trace=trace, Status=Status, StatusCode=StatusCode,
                          unconfigured=(trace.ProxyTracerProvider, trace.NoOpTracerProvider))
    try:
        return Tracing(api, queue, rabbitmq_uri, worker_id)
    except Exception:  # pylint: disable=broad-except
        logger.exception("Could not set up tracing: jobs are not traced")
        return None


class Tracing:
    """Makes the span of each job attempt of one connector, while a tracer provider is configured."""

    def __init__(self, api: SimpleNamespace, queue: str, rabbitmq_uri: str, worker_id: str) -> None:
        self.api = api
        self.queue = queue
        self.span_name = "process " + queue
        self.attributes: Dict[str, Any] = {MESSAGING_SYSTEM: "rabbitmq", OPERATION_NAME: "process",
                                           OPERATION_TYPE: "process", CLIENT_ID: worker_id}
        self.attributes.update(server_attributes(rabbitmq_uri))
        self._tracer: Any = None
        self._next_look = 0.0
        self._failed = False

    def start(self, handler: Any) -> Optional["JobSpan"]:
        """Start the span of the attempt ``handler`` runs, current in the calling thread (the job's
        thread) until :meth:`JobSpan.end`; None while no tracer provider is configured.

        A provider configured after the connector was made is used within a second.
        """
        try:
            tracer = self._tracer
            if tracer is None:
                # Speed: while no provider is configured, ask the API at most once a second. Asking
                # costs 2 us (it looks the environment up), 1 % of a no-op job's CPU in the harness of
                # benchmarks/bench_extractor.py; a provider, once set, cannot be replaced.
                now = time.monotonic()
                if now < self._next_look:
                    return None
                self._next_look = now + 1.0
                provider = self.api.trace.get_tracer_provider()
                if isinstance(provider, self.api.unconfigured):
                    return None
                tracer = self._tracer = provider.get_tracer(SCOPE, __version__, schema_url=SCHEMA_URL)
            return JobSpan(self, tracer, handler)
        except Exception:  # pylint: disable=broad-except
            self.failed("start a job's span")
            return None

    def failed(self, what: str) -> None:
        """Log a failure of tracing with its traceback, the first time only."""
        if not self._failed:
            self._failed = True
            logger.exception("Tracing could not %s; the job goes on (later tracing failures are not logged)", what)


class JobSpan:
    """The span of one job attempt: statuses as events, the outcome, and the trace context of a retry."""

    def __init__(self, tracing: Tracing, tracer: Any, handler: Any) -> None:
        api = tracing.api
        self._tracing = tracing
        self._api = api
        job, method, header = handler.tracking_job, handler.method, handler.header
        headers = getattr(header, "headers", None)
        carrier = headers if isinstance(headers, dict) else {}
        parent = api.propagate.extract(carrier, getter=HEADER_GETTER)
        creation = api.trace.get_current_span(parent).get_span_context()
        #: The request's trace-context headers when they hold a usable context, for a retry to carry on.
        self._received = {key: carrier[key] for key in api.propagate.get_global_textmap().fields
                          if key in carrier} if creation.is_valid else {}
        attributes = dict(tracing.attributes)
        attributes.update(message_attributes(method, header, tracing.queue))
        attributes[JOB_ID] = job.job_id
        attributes[ATTEMPT] = job.attempt
        if job.resource_id is not None:
            attributes[RESOURCE_ID] = str(job.resource_id)[:MAX_RESOURCE_ID]
        links = [api.trace.Link(creation)] if creation.is_valid else None
        self.span = tracer.start_span(tracing.span_name, context=parent, kind=api.trace.SpanKind.CONSUMER,
                                      attributes=attributes, links=links)
        self._failed = False
        self._error_type: Optional[str] = None
        self._error_description = ""
        self._retry_headers: Optional[Dict[str, Any]] = None
        #: The request's context (its baggage included) with this span in it: the job thread's context.
        self._context = api.trace.set_span_in_context(self.span, parent)
        self._token = api.context.attach(self._context)

    def status(self, status: Any, message: str, kind: str, progress: Optional[Dict[str, Any]], timestamp: float,
               final: bool) -> None:
        """Add a status the job sends as an event named as its ``message_type`` on the wire, at the
        time it was emitted; ``final`` is true while the job sends its final status (and the
        progress that goes out just before it)."""
        try:
            name = "%s" % status
            attributes: Dict[str, Any] = {MESSAGE: str(message), KIND: kind}
            if progress is not None:
                attributes.update(progress_attributes(progress))
            self.span.add_event(name, attributes, timestamp=int(timestamp * 1e9))
            if final and name in FAILED_STATUSES:
                self._failure(_handled_exception_type(), message)
                if name == "StatusMessage.retry":
                    self._retry_headers = self._headers_for_retry()
        except Exception:  # pylint: disable=broad-except
            self._tracing.failed("record a status")

    def exception(self, error: BaseException) -> None:
        """Record the exception that ended the job outside pyClowder's own error handling."""
        try:
            self._failure(type(error).__qualname__, str(error))
        except Exception:  # pylint: disable=broad-except
            self._tracing.failed("record an exception")

    def end(self) -> None:
        """End the span, with status ERROR and ``error.type`` when the attempt failed (status left
        unset otherwise, as the conventions ask), and leave the job thread's context."""
        try:
            if self._failed:
                self.span.set_attribute(ERROR_TYPE, self._error_type or OTHER_ERROR)
                self.span.set_status(self._api.Status(self._api.StatusCode.ERROR, self._error_description))
            self.span.end()
        except Exception:  # pylint: disable=broad-except
            self._tracing.failed("end a job's span")
        finally:
            try:
                self._api.context.detach(self._token)
            except Exception:  # pylint: disable=broad-except
                self._tracing.failed("leave a job's trace context")

    def publishing(self, channel: Any, queue: str) -> Any:
        """``channel``, or once this attempt has asked for a retry, a channel that puts the trace
        context on the retry's message (pyClowder publishes it with no headers)."""
        if self._retry_headers is None:
            return channel
        return _RetryChannel(channel, queue, self._retry_headers, self._tracing)

    def _failure(self, error_type: Optional[str], description: str) -> None:
        """Note why the attempt failed: the first description, and the first exception type known."""
        if not self._failed:
            self._failed = True
            self._error_description = description
        if self._error_type is None:
            self._error_type = error_type

    def _headers_for_retry(self) -> Dict[str, Any]:
        """The request's trace context when it had one, else this attempt's: every attempt of a job
        is then in the same trace."""
        if self._received:
            return dict(self._received)
        headers: Dict[str, Any] = {}
        self._api.propagate.inject(headers, context=self._context)
        return headers


class _HeaderGetter:
    """Reads trace-context headers from an AMQP message's headers table (text or UTF-8 bytes)."""

    def get(self, carrier: Dict[str, Any], key: str) -> Optional[List[str]]:
        value = carrier.get(key)
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("utf-8", "replace")
        return [value] if isinstance(value, str) else None

    def keys(self, carrier: Dict[str, Any]) -> List[str]:
        return [key for key in carrier if isinstance(key, str)]


HEADER_GETTER = _HeaderGetter()


class _RetryChannel:
    """A channel that adds trace-context headers to what is published to ``queue`` on the default
    exchange, which is pyClowder's retry (replies and the error queue have other routing keys)."""

    def __init__(self, channel: Any, queue: str, headers: Dict[str, Any], tracing: Tracing) -> None:
        self._channel = channel
        self._queue = queue
        self._headers = headers
        self._tracing = tracing

    def basic_publish(self, exchange: str, routing_key: str, body: Any, properties: Any = None, **more: Any) -> Any:
        if exchange == "" and routing_key == self._queue and properties is not None:
            try:
                properties.headers = {**(properties.headers or {}), **self._headers}
            except Exception:  # pylint: disable=broad-except
                self._tracing.failed("put the trace context on a retry")
        return self._channel.basic_publish(exchange=exchange, routing_key=routing_key, body=body,
                                           properties=properties, **more)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._channel, name)


def destination_name(exchange: str, routing_key: str, queue: str) -> str:
    """``messaging.destination.name`` for RabbitMQ: ``exchange:routing key:queue`` without the empty
    parts, and the routing key once when it is the queue's name (the default exchange)."""
    parts = [exchange, routing_key] if routing_key == queue else [exchange, routing_key, queue]
    return ":".join(part for part in parts if part) or queue


def message_attributes(method: Any, header: Any, queue: str) -> Dict[str, Any]:
    """The attributes a delivered message gives its span: destination, routing key, delivery tag and ids."""
    exchange = getattr(method, "exchange", "") or ""
    routing_key = getattr(method, "routing_key", "") or ""
    attributes: Dict[str, Any] = {DESTINATION_NAME: destination_name(exchange, routing_key, queue)}
    if routing_key:
        attributes[ROUTING_KEY] = routing_key
    delivery_tag = getattr(method, "delivery_tag", None)
    if isinstance(delivery_tag, int):
        attributes[DELIVERY_TAG] = delivery_tag
    for key, name in ((MESSAGE_ID, "message_id"), (CONVERSATION_ID, "correlation_id")):
        value = getattr(header, name, None)
        if isinstance(value, str) and value:
            attributes[key] = value
    return attributes


def server_attributes(rabbitmq_uri: str) -> Dict[str, Any]:
    """``server.address`` and ``server.port`` of the broker (never its credentials), as far as the URI tells."""
    try:
        address = urlparse(rabbitmq_uri)
        host, port = address.hostname, address.port
    except ValueError:
        return {}
    if not host:
        return {}
    return {SERVER_ADDRESS: host, SERVER_PORT: port or (5671 if address.scheme == "amqps" else 5672)}


def progress_attributes(progress: Dict[str, Any]) -> Dict[str, Any]:
    """A progress status's numbers as event attributes: ints stay ints, other numbers become floats."""
    attributes: Dict[str, Any] = {}
    for key, value in ((PROGRESS_DONE, progress.get("done")), (PROGRESS_TOTAL, progress.get("total"))):
        if value is not None:
            attributes[key] = value if isinstance(value, int) else float(value)
    if progress.get("unit") is not None:
        attributes[PROGRESS_UNIT] = str(progress["unit"])
    return attributes


def _handled_exception_type() -> Optional[str]:
    """The type name of the exception being handled where a failed status is sent (pyClowder sends
    its error and retry statuses from its ``except`` blocks), or None."""
    error = sys.exc_info()[1]
    return None if error is None else type(error).__qualname__
