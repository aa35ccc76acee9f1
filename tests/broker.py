"""Test helpers that talk to the real RabbitMQ broker and run real extractor processes."""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pika

RABBITMQ_URI = os.environ.get("RABBITMQ_URI", "amqp://guest:guest@127.0.0.1:5672/%2f")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class Broker:
    """A connection for a test: publishes requests and collects replies, heartbeats and errors."""

    def __init__(self, queue):
        self.queue = queue
        self.connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URI))
        self.channel = self.connection.channel()
        self.channel.queue_declare(queue=queue, durable=True)
        self.channel.queue_declare(queue="error." + queue, durable=True)
        self.replies_queue = self.channel.queue_declare(queue="clowder.test-" + uuid.uuid4().hex,
                                                        exclusive=True).method.queue
        self.channel.exchange_declare(exchange="extractors", exchange_type="fanout", durable=True)
        self.heartbeats_queue = self.channel.queue_declare(queue="", exclusive=True).method.queue
        self.channel.queue_bind(queue=self.heartbeats_queue, exchange="extractors")
        self.replies = []
        self.heartbeats = []
        self.taps = []

    def publish(self, body, *, persistent=True, correlation_id=True, headers=None):
        """Publish a request (a dict, or raw bytes) to the extractor's queue, as Clowder does (with
        ``headers`` in its properties when given)."""
        properties = pika.BasicProperties(
            delivery_mode=2 if persistent else 1, reply_to=self.replies_queue,
            correlation_id=str(uuid.uuid4()) if correlation_id else None, headers=headers)
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.channel.basic_publish(exchange="", routing_key=self.queue, body=raw, properties=properties)

    def bind_tap(self, binding_key, exchange="pyclowder.jobs"):
        """Receive the event tap's copies under ``binding_key``; returns the list they arrive in."""
        self.channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)
        queue = self.channel.queue_declare(queue="", exclusive=True).method.queue
        self.channel.queue_bind(queue=queue, exchange=exchange, routing_key=binding_key)
        self.taps.append((queue, []))
        return self.taps[-1][1]

    def collect(self, until, timeout=30.0):
        """Gather replies and heartbeats until ``until(self)`` is true; fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not until(self):
            if time.monotonic() > deadline:
                raise AssertionError("timed out: %d replies, %d heartbeats" % (len(self.replies), len(self.heartbeats)))
            if not self.drain():
                self.connection.sleep(0.02)

    def drain(self):
        """Take what has arrived on the reply, heartbeat and tap queues; returns how much."""
        got = self._drain(self.replies_queue, self.replies)
        got += self._drain(self.heartbeats_queue, self.heartbeats, only_queue=self.queue)
        for queue, events in self.taps:
            got += self._drain(queue, events, by_routing_key=True)
        return got

    def _drain(self, queue, into, by_routing_key=False, only_queue=None):
        """Move what waits on ``queue`` into ``into`` as (properties or routing key, decoded body).

        ``only_queue`` keeps only heartbeats of that extractor queue: the ``extractors`` fanout
        carries the heartbeats of every extractor on the broker.
        """
        count = 0
        while True:
            method, properties, body = self.channel.basic_get(queue, auto_ack=True)
            if method is None:
                return count
            message = json.loads(body)
            if only_queue is None or message.get("queue") == only_queue:
                into.append((method.routing_key if by_routing_key else properties, message))
                count += 1

    def replies_for(self, resource_id):
        return [reply for _, reply in self.replies if reply.get("file_id") == resource_id]

    def finished(self, resource_id, final=("StatusMessage.done", "StatusMessage.error")):
        """A predicate: the job on ``resource_id`` sent a final status (after a retry, its last)."""
        return lambda broker: any(r["message_type"] in final for r in broker.replies_for(resource_id))

    def error_queue(self):
        """Take everything on ``error.<queue>``: (properties, raw body) pairs."""
        taken = []
        while True:
            method, properties, body = self.channel.basic_get("error." + self.queue, auto_ack=True)
            if method is None:
                return taken
            taken.append((properties, body))

    def queue_depth(self):
        return self.channel.queue_declare(queue=self.queue, durable=True, passive=True).method.message_count

    def close(self):
        for queue in (self.queue, "error." + self.queue):
            self.channel.queue_delete(queue=queue)
        self.connection.close()


class ExtractorProcess:
    """An example extractor running as a subprocess on its own queue, its log written to a file."""

    def __init__(self, script, queue, log_path, heartbeat=1, env=None):
        self.script = EXAMPLES / script
        self.queue = queue
        self.log_path = log_path
        environment = dict(os.environ, RABBITMQ_URI=RABBITMQ_URI, RABBITMQ_QUEUE=queue, HEARTBEAT=str(heartbeat),
                           PYTHONUNBUFFERED="1", MAX_RETRY="3")
        environment.update(env or {})
        self._log = open(log_path, "w")
        self.process = subprocess.Popen([sys.executable, self.script.name], cwd=self.script.parent,
                                        env=environment, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_until_consuming(self, broker, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            declared = broker.channel.queue_declare(queue=self.queue, durable=True, passive=True)
            if declared.method.consumer_count > 0:
                return
            if self.process.poll() is not None:
                raise AssertionError("the extractor exited with %s:\n%s" % (self.process.returncode, self.log()))
            time.sleep(0.1)
        raise AssertionError("the extractor did not start consuming:\n" + self.log())

    def log(self):
        self._log.flush()
        return Path(self.log_path).read_text(errors="replace")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()
