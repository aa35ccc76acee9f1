"""pyClowder's unmodified sample extractor, tracked by one import, against a stand-in Clowder."""

import re

import pytest

from clowder_rules import v1_reply_problems, v2_reply_problems
from pyclowder_jobs.testing.clowder import StandInClowder, file_request

pytestmark = pytest.mark.broker

SECRET = "wordcount-secret-" + "9" * 16


@pytest.fixture
def clowder():
    with StandInClowder() as server:
        yield server


def test_the_sample_extractor_processes_files_and_every_reply_carries_the_job_id(broker, start_extractor, clowder):
    extractor = start_extractor("wordcount/wordcount.py")
    file_id = clowder.add_file(b"one two three\nfour five\n")
    broker.publish(file_request(1, clowder.url, file_id, queue=broker.queue, secret_key=SECRET))
    broker.collect(broker.finished(file_id))
    replies = broker.replies_for(file_id)
    assert replies[0]["message_type"] == "StatusMessage.start"
    assert replies[-1]["message_type"] == "StatusMessage.done"
    assert len({r["job_id"] for r in replies}) == 1
    for reply in replies:
        assert v1_reply_problems(reply) == [] and v2_reply_problems(reply) == []
    assert clowder.metadata[0]["metadata"]["content"] == {"lines": "2", "words": "5", "characters": "24"}
    job_id = replies[0]["job_id"]
    assert re.search(r"DEBUG   \[%s\] : __main__ - " % job_id, extractor.log())


def test_with_the_environment_variable_set_the_sample_extractor_is_plain_pyclowder(broker, start_extractor, clowder):
    start_extractor("wordcount/wordcount.py", env={"PYCLOWDER_JOBS_DISABLE": "1"})
    file_id = clowder.add_file(b"a b c\n")
    broker.publish(file_request(1, clowder.url, file_id, queue=broker.queue, secret_key=SECRET))
    broker.collect(broker.finished(file_id))
    replies = broker.replies_for(file_id)
    assert all("tracking" not in reply and reply["job_id"] is None for reply in replies)
