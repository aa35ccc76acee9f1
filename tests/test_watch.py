"""The live view's frame, drawn from folded jobs and heartbeats (no broker needed)."""
import json

from rich.console import Console

from pyclowder_jobs.server import group_events
from pyclowder_jobs.tools.watch import Watcher, render
from tools_builders import at, finished_job, tap_heartbeat, tap_log, tap_status


def draw(events, beats=(), now=at(100), finished=10):
    jobs = [job.to_dict() for job in group_events(events, now=now)]
    console = Console(width=200, record=True)
    console.print(render(jobs, {beat["id"]: beat for beat in beats}, now=now, finished=finished))
    text = console.export_text()
    return (text[text.index("Running"):text.index("Finished")], text[text.index("Finished"):text.index("Workers")],
            text[text.index("Workers"):])


def test_a_running_job_shows_a_progress_bar_with_its_steps():
    running, _, _ = draw([tap_status("job-1", "StatusMessage.start", 90),
                          tap_status("job-1", "StatusMessage.processing", 95,
                                     progress={"done": 2, "total": 5, "unit": "files"})])
    assert "job-1" in running and "2/5 files" in running and "━" in running
    assert "10 s" in running  # elapsed since its start


def test_finished_jobs_are_newest_first_and_limited():
    events = []
    for number in range(5):
        events += finished_job("job-%d" % number, 10 * number, 1, resource="file-%d" % number)
    _, finished, _ = draw(events, finished=3)
    assert "last 3 of 5" in finished
    assert finished.index("job-4") < finished.index("job-3") < finished.index("job-2")
    assert "job-1" not in finished


def test_workers_show_host_queue_and_the_age_of_their_last_heartbeat():
    _, _, workers = draw([], beats=[tap_heartbeat("worker-a", 96, jobs=["job-1"])])
    assert "worker-a" in workers and "node-a" in workers and "4.0 s ago" in workers


def test_the_watcher_counts_what_is_not_json_and_folds_the_rest():
    watcher = Watcher("amqp://guest:secret@127.0.0.1:5672/%2f")
    for body in (b"not json", b"[]", *(json_bytes(event) for event in finished_job("job-1", 0, 1)),
                 json_bytes(tap_log("job-1", 0)), json_bytes(tap_heartbeat("worker-a", 1))):
        watcher.take(body)
    assert (watcher.events, sum(watcher.rejected.values())) == (4, 2)
    assert [job.status for job in watcher.index.jobs(at(5))] == ["SUCCEEDED"]
    assert list(watcher.heartbeats) == ["worker-a"]
    console = Console(width=200, record=True)
    console.print(watcher.frame())
    frame = console.export_text()
    assert "2 rejected" in frame and "guest@127.0.0.1" in frame and "secret" not in frame


def json_bytes(event):
    return json.dumps(event).encode()
