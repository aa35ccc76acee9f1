"""Properties over generated event histories (hypothesis)."""
import json

from hypothesis import given, settings, strategies as st

from pyclowder_jobs.server import JobIndex, group_events
from server_builders import DATASET, FILE, JOB, JOB2, NOW, at, heartbeat, new_oid, reply, v1

TEXTS = ["SUBMITTED", "StatusMessage.start: Started processing", "Started processing file",
         "StatusMessage.processing: Downloading file.", "DONE", "Error processing",
         "StatusMessage.error: boom", "StatusMessage.skip: nothing", "StatusMessage.retry: (#1) x",
         "Cancel Requested", "Cancel Success", "Tiling 3/9"]


@st.composite
def histories(draw):
    """Events of a few jobs on two resources: v1 documents with and without ids, raw replies."""
    count = draw(st.integers(min_value=1, max_value=25))
    events = []
    for _ in range(count):
        text = draw(st.sampled_from(TEXTS))
        seconds = draw(st.integers(min_value=0, max_value=120)) + draw(st.sampled_from([0, 0.5]))
        resource = draw(st.sampled_from([FILE, DATASET]))
        job = draw(st.sampled_from([None, None, JOB, JOB2]))
        if draw(st.booleans()):
            events.append(v1(text, seconds, job=job, resource=resource, oid=new_oid(seconds)))
        else:
            events.append(reply(text, seconds, job=job, resource=resource,
                                worker=draw(st.sampled_from(["w-1", "w-2"])),
                                tracking=draw(st.booleans()), redelivered=draw(st.booleans())))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        events.append(heartbeat(draw(st.sampled_from(["w-1", "w-2"])),
                                draw(st.integers(min_value=0, max_value=200)),
                                jobs=draw(st.lists(st.sampled_from([JOB, JOB2]), max_size=2))))
    return events


NOW_FOR_HEARTBEATS = at(150)


def dicts(jobs):
    return [job.to_dict() for job in jobs]


@settings(max_examples=150, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_any_permutation_gives_the_same_jobs_with_the_same_ids(events, rng):
    shuffled = events[:]
    rng.shuffle(shuffled)

    assert dicts(group_events(shuffled, now=NOW)) == dicts(group_events(events, now=NOW))
    assert (dicts(group_events(shuffled, now=NOW_FOR_HEARTBEATS))
            == dicts(group_events(events, now=NOW_FOR_HEARTBEATS)))


@settings(max_examples=150, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_duplicated_events_change_nothing(events, rng):
    doubled = events + [dict(rng.choice(events)) for _ in events]
    rng.shuffle(doubled)

    assert dicts(group_events(doubled, now=NOW)) == dicts(group_events(events, now=NOW))


@settings(max_examples=150, deadline=None)
@given(histories())
def test_every_valid_event_lands_in_exactly_one_job(events):
    statuses = [event for event in events if "extractor_info" not in event]
    distinct = {json.dumps(event, sort_keys=True) for event in statuses}  # same content: a duplicate
    jobs = group_events(events, now=NOW)
    placed = [event for job in jobs for event in job.events]

    assert not jobs.rejected
    assert len(placed) == len(distinct)


@settings(max_examples=100, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_job_index_in_any_arrival_order_matches_group_events(events, rng):
    index = JobIndex()
    shuffled = events[:]
    rng.shuffle(shuffled)
    for event in shuffled:
        index.add(event)

    assert dicts(index.jobs(now=NOW)) == dicts(group_events(events, now=NOW))


JUNK = st.one_of(st.none(), st.integers(), st.floats(), st.text(), st.lists(st.integers()))
FIELDS = st.sampled_from(["_id", "file_id", "extractor_id", "status", "start", "job_id", "tracking",
                          "listener_id", "resource_ref", "created", "finished", "timestamp", "id",
                          "queue", "extractor_info"])
INNER = st.sampled_from(["$oid", "$date", "$numberLong", "ts", "kind", "seq", "jobs", "worker",
                         "interval", "attempt", "progress", "resource_id", "email"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(JUNK, st.dictionaries(FIELDS, st.one_of(JUNK, st.dictionaries(INNER, JUNK))))))
def test_arbitrary_input_never_raises_and_every_job_serialises(events):
    jobs = group_events(events, heartbeats=events, now=NOW)

    assert all(isinstance(rejected.reason, str) and rejected.reason for rejected in jobs.rejected)
    assert json.loads(json.dumps([job.to_dict() for job in jobs])) is not None
