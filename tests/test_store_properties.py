"""The store folds as it goes, and always holds what group_events makes of all its events (hypothesis)."""
from hypothesis import given, settings, strategies as st

from pyclowder_jobs.server import group_events
from pyclowder_jobs.store import Store
from server_builders import NOW
from test_properties import histories


def folded(events):
    jobs = [dict(job.to_dict(), event_count=len(job.events)) for job in group_events(events, now=NOW)]
    return sorted(jobs, key=lambda job: job["job_id"])


def stored(store):
    jobs = [store.job(job["job_id"], events=True, now=NOW) for job in store.jobs(now=NOW)]
    return sorted(jobs, key=lambda job: job["job_id"])


@settings(max_examples=120, deadline=None)
@given(histories(), st.randoms(use_true_random=False), st.data())
def test_any_batches_in_any_order_give_the_jobs_of_group_events(tmp_path_factory, events, rng, data):
    shuffled = events[:]
    rng.shuffle(shuffled)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(shuffled)), max_size=6)))
    with Store(tmp_path_factory.mktemp("store") / "jobs.sqlite") as store:
        for start, end in zip([0] + cuts, cuts + [len(shuffled)]):
            store.add_events(shuffled[start:end])

        assert stored(store) == folded(list(store.all_events()))
        assert stored(store) == folded(events)


@settings(max_examples=60, deadline=None)
@given(histories(), st.randoms(use_true_random=False))
def test_events_one_at_a_time_give_the_jobs_of_group_events(tmp_path_factory, events, rng):
    shuffled = events[:]
    rng.shuffle(shuffled)
    with Store(tmp_path_factory.mktemp("store") / "jobs.sqlite") as store:
        for event in shuffled:
            store.add_events([event])

        assert stored(store) == folded(events)
