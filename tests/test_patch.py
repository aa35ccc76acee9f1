"""Turning tracking on and off: idempotent exact inverses, and pyClowder is left whole when it fails."""

import contextlib
import gc
import io
import logging
import subprocess
import sys

import pyclowder.connectors
import pyclowder.extractors
import pytest

import pyclowder_jobs
from pyclowder_jobs.extractor import logs, patch
from pyclowder_jobs.extractor.connector import TrackedRabbitMQConnector

ORIGINAL = pyclowder.connectors.RabbitMQConnector
SETUP_LOGGING = pyclowder.extractors.setup_logging


@pytest.fixture(autouse=True)
def restore():
    yield
    pyclowder_jobs.disable()
    pyclowder.extractors.RabbitMQConnector = ORIGINAL
    pyclowder.extractors.setup_logging = SETUP_LOGGING


@pytest.fixture
def pyclowder_handler():
    """A root handler with pyClowder's default format, as ``setup_logging`` leaves it."""
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter(logs.PYCLOWDER_FORMAT))
    logging.getLogger().addHandler(handler)
    yield handler
    logging.getLogger().removeHandler(handler)


@contextlib.contextmanager
def bare_root():
    """The root logger without handlers, as in a new extractor process; put back as it was afterwards.

    Used inside a test: pytest puts its own handlers on the root logger after the fixtures are set up.
    """
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers[:] = []
    try:
        yield root
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def process_state():
    """Everything ``enable()`` may change in the process, and the garbage collector's settings."""
    root = logging.getLogger()
    return {
        "connector": pyclowder.extractors.RabbitMQConnector,
        "make_record": logging.Logger.makeRecord,
        "handlers": [(handler, handler.formatter) for handler in root.handlers],
        "setup_logging": pyclowder.extractors.setup_logging,
        "gc": (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count()),
    }


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


def test_enable_then_disable_leaves_the_process_as_it_was(pyclowder_handler):
    before = process_state()
    pyclowder_jobs.enable()
    assert process_state() != before
    pyclowder_jobs.disable()
    assert process_state() == before


def test_enabling_twice_then_disabling_once_leaves_the_process_as_it_was(pyclowder_handler):
    before = process_state()
    pyclowder_jobs.enable()
    pyclowder_jobs.enable()
    pyclowder_jobs.disable()
    assert process_state() == before


@pytest.mark.parametrize("step", ["install", "show_job_id", "wrap_setup_logging"])
def test_a_failure_at_any_step_of_enable_leaves_the_process_as_it_was(mocker, pyclowder_handler, step):
    target, name = {"install": (logs, "install"), "show_job_id": (logs, "show_job_id"),
                    "wrap_setup_logging": (patch, "_setup_logging_showing_job_id")}[step]
    mocker.patch.object(target, name, side_effect=RuntimeError("broken"))
    before = process_state()
    assert pyclowder_jobs.enable() is False
    assert process_state() == before
    assert not pyclowder_jobs.is_enabled()


def test_enable_shows_the_job_id_in_a_format_pyclowder_already_set_up(pyclowder_handler):
    pyclowder_jobs.enable()
    assert pyclowder_handler.formatter._fmt == logs.DEFAULT_FORMAT


def test_while_enabled_pyclowders_logging_set_up_shows_the_job_id_until_disable():
    with bare_root() as root:
        pyclowder_jobs.enable()
        pyclowder.extractors.setup_logging(None)
        handler = root.handlers[0]
        assert handler.formatter._fmt == logs.DEFAULT_FORMAT
        pyclowder_jobs.disable()
        assert handler.formatter._fmt == logs.PYCLOWDER_FORMAT


def test_a_copy_of_the_logging_set_up_kept_past_disable_is_pyclowders_own():
    with bare_root() as root:
        pyclowder_jobs.enable()
        kept = pyclowder.extractors.setup_logging
        pyclowder_jobs.disable()
        kept(None)
        assert root.handlers[0].formatter._fmt == logs.PYCLOWDER_FORMAT


def test_disable_leaves_a_format_the_application_set_meanwhile(pyclowder_handler):
    pyclowder_jobs.enable()
    mine = logging.Formatter("%(job_id)s %(message)s")
    pyclowder_handler.setFormatter(mine)
    pyclowder_jobs.disable()
    assert pyclowder_handler.formatter is mine


def test_a_tracking_connector_leaves_the_root_loggers_handlers_and_formatters_alone(pyclowder_handler):
    root = logging.getLogger()
    before = [(handler, handler.formatter) for handler in root.handlers]
    connector = TrackedRabbitMQConnector(extractor_name="q", extractor_info={"name": "q"},
                                         rabbitmq_uri="amqp://127.0.0.1", rabbitmq_queue="q")
    assert [(handler, handler.formatter) for handler in root.handlers] == before
    assert logging.getLogger("test").makeRecord("x", logging.INFO, __file__, 1, "m", (), None).job_id == "-"
    del connector


def test_a_tracking_connector_holds_the_log_record_hook_until_it_is_collected():
    gc.collect()
    before = logging.Logger.makeRecord
    pyclowder_jobs.enable()
    connector = TrackedRabbitMQConnector(extractor_name="q", extractor_info={"name": "q"},
                                         rabbitmq_uri="amqp://127.0.0.1", rabbitmq_queue="q")
    pyclowder_jobs.disable()
    assert logging.Logger.makeRecord is logs._make_record
    del connector
    gc.collect()
    assert logging.Logger.makeRecord is before


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
