"""Where plain pyClowder stalls or stops on a bad request, the tracked extractor goes on.

Each case runs the same request through plain pyClowder and through the tracked extractor, then
sends a good request: the tracked extractor must process it; plain pyClowder, as measured here,
does not.
"""

import pytest

from pyclowder_jobs.testing.clowder import file_request

pytestmark = pytest.mark.broker

HOST = "http://127.0.0.1:9/"


def good_request(broker, file_id):
    return file_request(1, HOST, file_id, queue=broker.queue, secret_key="never-worse-key")


BAD_REQUESTS = {
    "a JSON list": lambda broker: b"[1, 2, 3]",
    "an empty host": lambda broker: dict(good_request(broker, "no-host"), host=""),
    "a failing job with a retry count that is not a number": lambda broker: dict(
        good_request(broker, "bad-count"), retry_count=[], parameters={"retry": True}),
}


@pytest.mark.parametrize("bad", sorted(BAD_REQUESTS))
def test_the_tracked_extractor_takes_the_next_message_after_a_bad_one(broker, start_extractor, bad):
    extractor = start_extractor("behave/with_mixin.py")
    broker.publish(BAD_REQUESTS[bad](broker))
    broker.publish(good_request(broker, "next"))
    broker.collect(broker.finished("next"))
    assert len(broker.error_queue()) == 1
    assert extractor.process.poll() is None


@pytest.mark.parametrize("bad", sorted(BAD_REQUESTS))
def test_plain_pyclowder_does_not_take_the_next_message_after_a_bad_one(broker, start_extractor, bad):
    start_extractor("behave/plain.py")
    broker.publish(BAD_REQUESTS[bad](broker))
    broker.publish(good_request(broker, "next"))
    with pytest.raises(AssertionError, match="timed out"):
        broker.collect(broker.finished("next"), timeout=5)
