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


HOSTILE = ["[/bold]", "[i]x[/i]", "\x1b]52;c;ZXZpbA==\x07", "\x1b]0;title\x07", "\x1b[2J",
           "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "\ud800", "\x9b31m"]


def frame_text(jobs, beats, width=None, console_width=200):
    console = Console(width=console_width, record=True)
    console.print(render(jobs, beats, now=at(100), width=width))
    return console.export_text()


def test_stored_markup_and_escape_sequences_in_a_frame_are_printed_as_text():
    template = [job.to_dict() for job in group_events(finished_job("job-1", 0, 1)
                                                      + [tap_status("job-2", "StatusMessage.start", 95)], now=at(100))]
    jobs, beats = [], {}
    for value in HOSTILE:
        for job in template:
            jobs.append(dict(job, job_id=job["job_id"] + value, extractor="x" + value, message="m " + value,
                             workers=["w" + value], progress={"done": 1, "total": 2, "unit": value}))
        beat = tap_heartbeat("worker-a", 96)
        beat["queue"], beat["tracking"]["host"] = "q" + value, "h" + value
        beats["w" + value] = beat
    out = frame_text(jobs, beats)

    assert not any(escape in out for escape in ("\x1b", "\x07", "\x9b", "\ud800"))
    assert "x[/bold]" in out and "m [i]x[/i]" in out and "job-1[i]x[/i]" in out and "qlink" in out
    assert "job-2\ufffd" in out


def test_without_a_heartbeat_the_frame_says_pyclowder_beats_every_300_seconds_by_default():
    _, _, workers = draw([tap_status("job-1", "StatusMessage.start", 90)])

    assert "Workers (0)" in workers
    assert "every 300 s" in workers and "--heartbeat" in workers


def test_with_a_heartbeat_the_frame_says_nothing_of_the_default_interval():
    _, _, workers = draw([], beats=[tap_heartbeat("worker-a", 96)])

    assert "300 s" not in workers


def test_a_frame_fits_80_columns_and_keeps_ids_whole():
    events = [tap_status("6b02dcb63b85bf8de0f68fdc", "StatusMessage.start", 90),
              tap_status("6b02dcb63b85bf8de0f68fdc", "StatusMessage.processing", 95,
                         progress={"done": 2, "total": 5, "unit": "files"})]
    events += finished_job("6b02dcb63b85bf8de0f68fdd", 10, 3)
    jobs = [job.to_dict() for job in group_events(events, now=at(100))]
    out = frame_text(jobs, {"a759b638-1b8a": tap_heartbeat("a759b638-1b8a", 96)}, width=80, console_width=80)

    assert max(len(line) for line in out.splitlines()) <= 80
    assert "6b02dcb63b85bf8de0f68fdc" in out and "6b02dcb63b85bf8de0f68fdd" in out
    assert "2/5 files" in out and "a759b638" in out


def test_the_watcher_says_one_job_and_one_event():
    watcher = Watcher("amqp://guest:guest@127.0.0.1:5672/%2f")
    watcher.take(json_bytes(tap_status("job-1", "StatusMessage.start", 0)))
    console = Console(width=200, record=True)
    console.print(watcher.frame())

    assert "1 event, 1 job" in console.export_text()
