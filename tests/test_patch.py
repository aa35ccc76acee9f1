"""Turning tracking on and off: idempotent, and pyClowder is left whole when it fails."""

import subprocess
import sys

import pyclowder.connectors
import pyclowder.extractors
import pytest

import pyclowder_jobs
from pyclowder_jobs.extractor.connector import TrackedRabbitMQConnector

ORIGINAL = pyclowder.connectors.RabbitMQConnector


@pytest.fixture(autouse=True)
def restore():
    yield
    pyclowder_jobs.disable()
    pyclowder.extractors.RabbitMQConnector = ORIGINAL


def test_enable_rebinds_only_the_name_extractor_start_looks_up():
    assert pyclowder_jobs.enable() is True
    assert pyclowder.extractors.RabbitMQConnector is TrackedRabbitMQConnector
    assert pyclowder.connectors.RabbitMQConnector is ORIGINAL


def test_enable_and_disable_are_idempotent():
    pyclowder_jobs.enable()
    pyclowder_jobs.enable()
    assert pyclowder_jobs.is_enabled()
    pyclowder_jobs.disable()
    pyclowder_jobs.disable()
    assert not pyclowder_jobs.is_enabled()
    assert pyclowder.extractors.RabbitMQConnector is ORIGINAL


def test_a_failure_to_enable_leaves_pyclowder_as_it_was(monkeypatch):
    import pyclowder_jobs.extractor.logs as logcontext

    def broken():
        raise RuntimeError("broken")

    monkeypatch.setattr(logcontext, "install", broken)
    assert pyclowder_jobs.enable() is False
    assert pyclowder.extractors.RabbitMQConnector is ORIGINAL
    assert not pyclowder_jobs.is_enabled()


def test_the_tracked_connector_is_a_pyclowder_connector_built_with_keywords():
    connector = TrackedRabbitMQConnector(extractor_name="q", extractor_info={"name": "q"},
                                         rabbitmq_uri="amqp://127.0.0.1", rabbitmq_queue="q")
    assert isinstance(connector, ORIGINAL)
    assert connector.rabbitmq_queue == "q"


def test_the_decorator_turns_tracking_on_when_the_extractor_starts():
    class Extractor:
        def start(self):
            return pyclowder.extractors.RabbitMQConnector

    decorated = pyclowder_jobs.track_jobs(Extractor)
    assert decorated is Extractor
    assert Extractor().start() is TrackedRabbitMQConnector


def run_python(code, **env):
    import os

    return subprocess.run([sys.executable, "-c", code], env=dict(os.environ, **env), capture_output=True,
                          text=True, check=True).stdout.strip()


def test_importing_auto_turns_tracking_on():
    assert run_python("import pyclowder_jobs.auto, pyclowder_jobs; print(pyclowder_jobs.is_enabled())") == "True"


@pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
def test_the_environment_variable_turns_auto_off(value):
    code = "import pyclowder_jobs.auto, pyclowder_jobs; print(pyclowder_jobs.is_enabled())"
    assert run_python(code, PYCLOWDER_JOBS_DISABLE=value) == "False"


def test_the_package_imports_without_loading_pyclowder():
    code = "import sys, pyclowder_jobs; print('pyclowder' in sys.modules, 'pika' in sys.modules)"
    assert run_python(code) == "False False"
