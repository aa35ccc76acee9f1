"""Shared fixtures. Broker tests need RabbitMQ: in CI they fail when it cannot be reached, never skip."""

import os
import socket
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest

from broker import RABBITMQ_URI, Broker, ExtractorProcess

# The server's event builders serve the store's tests too.
sys.path.insert(0, str(Path(__file__).resolve().parent / "server"))


def _broker_reachable():
    address = urlparse(RABBITMQ_URI)
    try:
        socket.create_connection((address.hostname or "127.0.0.1", address.port or 5672), timeout=2).close()
        return True
    except OSError:
        return False


def pytest_addoption(parser):
    parser.addoption("--soak", action="store_true",
                     help="run the reliability tests at full size (3 x 1,000 messages, 2,000 bad bodies)")


@pytest.fixture
def soak(request):
    """True when the run asked for the full-size reliability tests."""
    return request.config.getoption("--soak")


def pytest_collection_modifyitems(config, items):
    if not any(item.get_closest_marker("broker") for item in items) or _broker_reachable():
        return
    message = ("RabbitMQ is not reachable at %s: start it (rabbitmq-server -detached) or set RABBITMQ_URI"
               % RABBITMQ_URI.split("@")[-1])
    if os.environ.get("CI"):
        pytest.exit(message + "; in CI the broker tests must run", returncode=3)
    skip = pytest.mark.skip(reason=message)
    for item in items:
        if item.get_closest_marker("broker"):
            item.add_marker(skip)


@pytest.fixture
def queue_name():
    return "test.pyclowder-jobs." + uuid.uuid4().hex[:12]


@pytest.fixture
def broker(queue_name):
    connection = Broker(queue_name)
    yield connection
    connection.close()


@pytest.fixture
def start_extractor(broker, tmp_path):
    """Start an example extractor on the test's queue; it is stopped when the test ends."""
    started = []

    def start(script, heartbeat=1, env=None):
        process = ExtractorProcess(script, broker.queue, tmp_path / ("extractor-%d.log" % len(started)),
                                   heartbeat=heartbeat, env=env)
        started.append(process)
        process.wait_until_consuming(broker)
        return process

    yield start
    for process in started:
        process.stop()
