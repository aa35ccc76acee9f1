"""The pyClowder 2.x/3.x differences, detected once, and the only place that looks for them."""

import ast
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace

import pyclowder.extractors

from pyclowder_jobs.extractor import compat

EXTRACTOR = Path(compat.__file__).parent
LINE = int(version("pyclowder").split(".")[0])


def test_heartbeats_carry_an_owner_on_pyclowder_3_only():
    assert compat.HEARTBEAT_HAS_OWNER is (LINE >= 3)


def test_the_connector_binds_an_exchange_on_pyclowder_2_only():
    assert compat.CONNECTOR_BINDS_EXCHANGE is (LINE == 2)


def test_the_logging_set_up_found_is_the_one_extractor_setup_calls():
    assert compat.LOGGING_SETUP_MODULE is pyclowder.extractors
    assert compat.LOGGING_SETUP_NAME in pyclowder.extractors.Extractor.setup.__code__.co_names


def test_the_heartbeat_fields_are_pyclowders_in_its_order():
    broadcast = SimpleNamespace(id="w", rabbitmq_queue="q", clowder_email="me@example.org")
    expected = ["id", "queue", "owner"] if LINE >= 3 else ["id", "queue"]
    assert list(compat.heartbeat_fields(broadcast)) == expected


def test_binding_an_exchange_binds_each_key_and_the_extractors_name(mocker):
    mocker.patch.object(compat, "CONNECTOR_BINDS_EXCHANGE", True)
    channel = mocker.Mock()
    connector = SimpleNamespace(rabbitmq_exchange="clowder", rabbitmq_key=["*.file.#", "*.dataset.#"],
                                rabbitmq_queue="q", extractor_name="ncsa.q", channel=channel)
    compat.bind_exchange(connector)
    assert [call.kwargs["routing_key"] for call in channel.queue_bind.call_args_list] == [
        "*.file.#", "*.dataset.#", "extractors.ncsa.q"]


def test_binding_does_nothing_where_pyclowder_has_no_exchange(mocker):
    mocker.patch.object(compat, "CONNECTOR_BINDS_EXCHANGE", False)
    channel = mocker.Mock()
    compat.bind_exchange(SimpleNamespace(rabbitmq_key="k", rabbitmq_queue="q", extractor_name="q", channel=channel))
    assert channel.mock_calls == []


def test_no_other_extractor_module_inspects_pyclowder():
    inspecting = []
    for path in sorted(EXTRACTOR.glob("*.py")):
        if path.name == "compat.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, (ast.Import, ast.ImportFrom)) else []
            if "inspect" in names or getattr(node, "module", None) == "inspect":
                inspecting.append(path.name)
    assert inspecting == []
