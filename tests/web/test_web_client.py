"""The progress client against the real app: it reports, and never raises into the worker."""
import logging
import os
import socket
import time

import pytest
from conftest import TOKEN

from pyclowder_jobs.client import ProgressClient


@pytest.fixture
def client(served):
    with ProgressClient(served.base, TOKEN, worker="shell-1") as found:
        yield found


def test_create_and_update_reach_the_store(client, store):
    assert client.create("backup", desc="nightly backup", maxage=3600) is True
    assert client.update("backup", 3, 10) is True
    assert client.update("backup", 2.5, 10, ok=False, desc="disk full") is True
    job = store.job("backup")
    assert (job["extractor"], job["workers"], job["progress"]) == ("nightly backup", ["shell-1"],
                                                                   {"done": 2.5, "total": 10, "unit": None})
    assert job["message"] == "StatusMessage.processing: shell-1: 2.5/10 (25%) \u2013 disk full (failed)"
    assert store.raw_events("backup")[0]["tracking"]["maxage"] == 3600


def test_the_worker_is_named_host_and_pid_by_default(served, store):
    with ProgressClient(served.base, TOKEN) as client:
        assert client.update("default-name", 0.000001, 1)
        worker = client.worker
    assert worker == "%s:%d" % (socket.gethostname().split(".")[0], os.getpid())
    assert store.job("default-name")["workers"] == [worker]


def test_a_wrong_token_is_a_false_and_a_warning(served, store, caplog):
    with ProgressClient(served.base, "wrong", worker="w") as client:
        assert client.update("nope", 1, 2) is False
    assert store.job("nope") is None
    assert "refused by %s/update (403): the token is not this server's" % served.base in caplog.text


def test_a_bad_parameter_is_a_false_with_the_servers_reason(client, caplog):
    assert client.update("not a job id", 1, 2) is False
    assert "bad parameter jobid" in caplog.text


def test_an_unreachable_server_is_a_false_and_one_warning_a_minute(caplog):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    caplog.set_level(logging.DEBUG, logger="pyclowder_jobs.client")
    with ProgressClient("http://127.0.0.1:%d" % port, TOKEN, worker="w") as client:
        assert [client.update("job", number, 10) for number in range(3)] == [False] * 3
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and "could not send update of job job" in warnings[0].getMessage()


def test_a_server_that_never_answers_costs_the_timeout_and_no_more():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        with ProgressClient("http://127.0.0.1:%d" % silent.getsockname()[1], TOKEN, worker="w",
                            timeout=0.5) as client:
            begin = time.monotonic()
            assert client.create("job") is False
            assert time.monotonic() - begin < 5
    finally:
        silent.close()


def test_it_reports_again_once_the_server_is_back(served, store, caplog):
    caplog.set_level(logging.INFO, logger="pyclowder_jobs.client")
    with ProgressClient(served.base, TOKEN, worker="w") as client:
        assert client.update("bad id", 1, 2) is False
        assert client.update("good", 1, 2) is True
    assert "progress reaches %s again (1 calls failed before)" % served.base in caplog.text
