"""Each reader gives the same record, and so the same jobs, for one event in any of its encodings."""
from datetime import timedelta, timezone

from hypothesis import given, settings, strategies as st

from pyclowder_jobs.server import StatusEvent, group_events, normalise
from server_builders import ANONYMOUS, DATASET, EXTRACTOR, FILE, JOB, NOW, USER, ObjectId, at, iso, new_oid, reply, v1

TEXTS = ["SUBMITTED", "StatusMessage.start: Started processing", "Started processing file",
         "StatusMessage.processing: Downloading file.", "DONE", "Error processing",
         "StatusMessage.error: boom", "StatusMessage.skip: nothing", "StatusMessage.retry: (#1) x",
         "Cancel Requested", "Tiling 3/9", "the free text of a non-Python extractor"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(TEXTS), st.integers(min_value=0, max_value=10 ** 6), st.sampled_from([None, JOB]),
       st.sampled_from([None, USER, ANONYMOUS]), st.sampled_from([FILE, DATASET]),
       st.sampled_from([EXTRACTOR, "extractors." + EXTRACTOR, "private.k3y." + EXTRACTOR]))
def test_a_v1_document_reads_alike_in_extended_json_and_in_pymongo_types(text, millis, job, user, resource, extractor):
    oid = new_oid(0)
    documents = [v1(text, millis / 1000, job=job, user=user, resource=resource, extractor=extractor, oid=oid,
                    pymongo=pymongo) for pymongo in (False, True)]

    extended_json, pymongo = [normalise(document) for document in documents]

    assert type(extended_json) is StatusEvent and extended_json == pymongo
    assert group_events(documents[:1], now=NOW) == group_events(documents[1:], now=NOW)


def test_an_extended_json_date_reads_alike_as_text_as_milliseconds_and_as_a_number_long():
    documents = [v1("StatusMessage.start: Started processing", 1.25, job=JOB, oid=new_oid(1)) for _ in range(3)]
    millis = int(at(1.25).timestamp() * 1000)
    documents[1]["start"] = {"$date": millis}
    documents[2]["start"] = {"$date": {"$numberLong": str(millis)}}

    records = [normalise(document) for document in documents]

    assert records[0].ts == records[1].ts == records[2].ts == millis


def test_a_pymongo_datetime_reads_alike_naive_as_utc_and_aware_in_any_zone():
    naive, aware = (v1("StatusMessage.start: Started processing", 3.5, job=JOB, oid=new_oid(3), pymongo=True)
                    for _ in range(2))
    aware["start"] = at(3.5).astimezone(timezone(timedelta(hours=-5)))

    assert normalise(naive).ts == normalise(aware).ts == int(at(3.5).timestamp() * 1000)


def test_a_raw_reply_start_reads_alike_with_an_offset_with_z_and_without_either():
    replies = [reply("StatusMessage.start: Started processing", 7, tracking=False) for _ in range(3)]
    replies[1]["start"] = iso(7)
    replies[2]["start"] = iso(7)[:19]

    assert len({normalise(event) for event in replies}) == 1


def test_a_tracked_reply_reads_alike_timed_by_text_and_by_datetime():
    as_text = reply("StatusMessage.processing: half", 2.5, seq=4)
    as_datetime = reply("StatusMessage.processing: half", 2.5, seq=4)
    as_datetime["tracking"]["ts"] = at(2.5)

    assert normalise(as_text) == normalise(as_datetime)


def test_a_v2_job_document_reads_alike_in_extended_json_and_in_pymongo_types():
    extended_json = {"_id": {"$oid": JOB}, "listener_id": EXTRACTOR,
                     "resource_ref": {"collection": "files", "resource_id": {"$oid": FILE}},
                     "creator": {"email": "ada@example.org"}, "created": {"$date": iso(0)},
                     "started": {"$date": iso(2)}, "finished": {"$date": iso(9)}, "status": "SUCCEEDED"}
    pymongo = dict(extended_json, _id=ObjectId(JOB),
                   resource_ref={"collection": "files", "resource_id": ObjectId(FILE)},
                   created=at(0).replace(tzinfo=None), started=at(2).replace(tzinfo=None),
                   finished=at(9).replace(tzinfo=None))

    assert normalise(extended_json) == normalise(pymongo)
    assert group_events([extended_json], now=NOW) == group_events([pymongo], now=NOW)


def test_a_v2_job_update_reads_alike_in_extended_json_and_in_pymongo_types():
    oid = new_oid(4)
    extended_json = {"_id": {"$oid": oid}, "job_id": {"$oid": JOB}, "timestamp": {"$date": iso(4)},
                     "status": "StatusMessage.processing: half way"}
    pymongo = {"_id": ObjectId(oid), "job_id": ObjectId(JOB), "timestamp": at(4).replace(tzinfo=None),
               "status": "StatusMessage.processing: half way"}

    assert normalise(extended_json) == normalise(pymongo)
