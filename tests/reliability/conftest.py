"""Fixtures of the reliability suite: a RabbitMQ node of the suite's own, to restart at will."""

import os

import pytest

import private_broker


@pytest.fixture(scope="module")
def rabbit(tmp_path_factory):
    """A private RabbitMQ node (own ports, data folder and cookie), started for the module and stopped after it."""
    if not private_broker.available():
        message = "rabbitmq-server is not installed: the broker-restart tests need a node of their own"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    node = private_broker.PrivateRabbit(tmp_path_factory.mktemp("rabbit"))
    node.start()
    yield node
    try:
        node.stop()
    except AssertionError:
        pass
