"""The fold's fast paths give exactly what its general paths give (DESIGN 5.5: same results)."""
from datetime import datetime, timezone

from hypothesis import given, settings, strategies as st

from pyclowder_jobs.server import events
from pyclowder_jobs.server.events import status_reply
from server_builders import ANONYMOUS, DATASET, JOB, USER, ObjectId, reply, v1

TEXTS = ["SUBMITTED", "StatusMessage.start: Started processing", "Started processing file",
         "StatusMessage.processing: Downloading file.", "DONE", "Error processing",
         "StatusMessage.error: boom", "StatusMessage.skip: nothing", "StatusMessage.retry: (#1) x",
         "Cancel Requested", "Tiling 3/9", "the free text of a non-Python extractor"]
ODD_VALUES = [None, "", 0, -1, 7, True, 1.5, "x", "a-b:c", "é", [], {}, {"$oid": None}, {"$oid": ""},
              {"$oid": JOB}, {"$date": "2019-03-14T15:00:00.412Z"}, {"$date": 1552575600412},
              "2019-03-14T15:00:00.412Z", "2019-03-14T15:00:00+02:00", "2019-03-14T15:00:00.41Z",
              ObjectId(JOB), datetime(2019, 3, 14, 15, 0, tzinfo=timezone.utc), "log", "status",
              {"done": 1, "total": 3, "unit": "pages"}, "x" * 65]
EVENT_FIELDS = ["_id", "file_id", "extractor_id", "status", "start", "job_id", "user_id", "tracking"]
TRACKING_FIELDS = ["ts", "seq", "worker", "attempt", "kind", "redelivered", "progress"]


def _general(event):
    """The reader of every shape, whatever the fast readers would have said."""
    return events._any_status_reply(event)


def _fast_reader_takes(event):
    """True when one of the fast readers produced the record (it did not hand the event on)."""
    reader = events._tracked_reply if "tracking" in event else events._extended_json_document
    try:
        return reader(event) is not events._UNUSUAL
    except KeyError:
        return False


def _common_events():
    """Events of the two common shapes, each read twice: caches are cold, then warm."""
    found = [v1("SUBMITTED", 0, job=JOB, user=USER), v1("SUBMITTED", 0, job=JOB, user=ANONYMOUS),
             v1("SUBMITTED", 1), v1("DONE", 2, job=JOB), v1("Started processing file", 3, resource=DATASET),
             v1("StatusMessage.error: boom", 4, extractor="private.key.ncsa.wordcount")]
    for text in TEXTS[1:]:
        found.append(reply(text, 5, progress={"done": 1, "total": 3, "unit": "pages"}))
        found.append(reply(text, 6.5, job=JOB, attempt=2, redelivered=True))
    found.append(reply("StatusMessage.processing: log line", 7, kind="log"))
    return found


def test_the_fast_readers_take_the_common_shapes_and_agree_with_the_general_reader():
    common = _common_events()
    for event in common:
        status_reply(event)  # warms the caches of texts, extractor names and seconds
    assert all(_fast_reader_takes(event) for event in common)
    assert [status_reply(event) for event in common] == [_general(event) for event in common]


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(_common_events()), st.sampled_from(EVENT_FIELDS + TRACKING_FIELDS),
       st.sampled_from(ODD_VALUES + ["drop"]), st.sampled_from(EVENT_FIELDS + TRACKING_FIELDS),
       st.sampled_from(ODD_VALUES + ["drop"]))
def test_a_common_event_with_any_field_changed_or_missing_reads_as_the_general_reader_reads_it(
        event, field, value, other_field, other_value):
    event = dict(event)
    if type(event.get("tracking")) is dict:
        event["tracking"] = dict(event["tracking"])
    for name, new in ((field, value), (other_field, other_value)):
        inside = name in TRACKING_FIELDS and type(event.get("tracking")) is dict
        target = event["tracking"] if inside else event
        if new == "drop":
            target.pop(name, None)
        else:
            target[name] = new
    status_reply(event)  # once to warm the caches, then compare

    assert status_reply(event) == _general(event)
