"""A live terminal view of the event tap: running jobs with progress bars, recent finishes, workers.

It takes an exclusive, auto-deleted queue of its own on the tap exchange (never one of Clowder's
queues), folds what arrives with :class:`pyclowder_jobs.server.JobIndex`, and redraws with rich's
``Live``.  No database is involved: it shows what happens from the moment it starts.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional, Sequence

import pika.exceptions
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from pyclowder_jobs.tools.quarantine import parse_whole
from pyclowder_jobs.tools.recorder import DEFAULT_EXCHANGE, BrokerError, connect, safe_uri
from pyclowder_jobs.server import LOST, TERMINAL, JobIndex
from pyclowder_jobs.protocol.times import to_ms
from pyclowder_jobs.tools.timefmt import ago, duration

#: Colours of statuses in every table.
STYLES = {"SUCCEEDED": "green", "FAILED": "red", "LOST": "bold red", "SKIPPED": "yellow",
          "CANCELLED": "yellow", "RESUBMITTED": "magenta", "PROCESSING": "cyan", "STARTED": "cyan",
          "SUBMITTED": "blue"}


#: Columns of free text: (least, most) width; they give way first when the screen is narrow.
_TEXTS = {"progress": (24, 40), "message": (12, 50), "text": (20, 80)}
#: Columns never squeezed below their usual content (ids are copied from the screen).
_MIN_WIDTHS = {"job": 24, "status": 9, "extractor": 14, "att.": 4, "attempt": 7, "started": 19, "run time": 8,
               "elapsed": 7, "finished": 9, "worker": 8, "workers": 8, "time": 24}


def column(name: str) -> Dict[str, Any]:
    """The options of a table column named ``name``: ids whole, long texts cut or wrapped."""
    if name in _TEXTS:
        least, most = _TEXTS[name]
        return {"min_width": least, "max_width": most, "overflow": "fold"}
    return {"no_wrap": True, "min_width": _MIN_WIDTHS.get(name)}


def status_text(status: str) -> Text:
    """A status in its colour."""
    return Text(status, style=STYLES.get(status, ""))


def progress_cell(job: Dict[str, Any]) -> RenderableType:
    """A bar with ``done/total unit`` when the job reports a total, else its last message."""
    progress = job.get("progress") or {}
    done, total = progress.get("done"), progress.get("total")
    if isinstance(done, (int, float)) and isinstance(total, (int, float)) and total > 0:
        table = Table.grid(padding=(0, 1))
        label = "%g/%g" % (done, total) + (" %s" % progress["unit"] if progress.get("unit") else "")
        table.add_row(ProgressBar(total=total, completed=min(done, total), width=12), label)
        return table
    return one_line(job.get("message"))


def one_line(text: Optional[str]) -> Text:
    """A text kept on one line, cut with an ellipsis where its column ends."""
    return Text(text or "", overflow="ellipsis", no_wrap=True)


def render(jobs: Sequence[Dict[str, Any]], heartbeats: Dict[str, Dict[str, Any]], *, now: datetime,
           finished: int = 10, title: str = "") -> RenderableType:
    """One frame: running jobs, the last ``finished`` finishes, and each worker's last heartbeat."""
    now_ms = to_ms(now)
    running = [job for job in jobs if job["status"] not in TERMINAL and job["status"] != LOST]
    done = [job for job in jobs if job["status"] in TERMINAL or job["status"] == LOST]
    running.sort(key=lambda job: job["started"] or job["last_update"])
    done.sort(key=lambda job: job["finished"] or job["last_update"], reverse=True)

    table = Table(title="Running (%d)" % len(running), title_justify="left", expand=False)
    for name in ("job", "extractor", "status", "attempt", "elapsed", "progress", "worker"):
        table.add_column(name, **column(name))
    for job in running:
        table.add_row(job["job_id"], job["extractor"] or "", status_text(job["status"]),
                      str(job["attempts"]), duration(job["elapsed"]), progress_cell(job),
                      short(job["workers"][-1]) if job["workers"] else "")

    recent = Table(title="Finished (last %d of %d)" % (min(finished, len(done)), len(done)), title_justify="left")
    for name in ("job", "extractor", "status", "attempt", "run time", "finished", "message"):
        recent.add_column(name, **column(name))
    for job in done[:finished]:
        when = to_ms(job["finished"] or job["last_update"])
        recent.add_row(job["job_id"], job["extractor"] or "", status_text(job["status"]),
                       str(job["attempts"]), duration(job["run_time"]), ago(now_ms - when), one_line(job["message"]))

    workers = Table(title="Workers (%d)" % len(heartbeats), title_justify="left")
    for name in ("worker", "host", "queue", "last heartbeat", "running", "processed"):
        workers.add_column(name, **column(name))
    for worker, beat in sorted(heartbeats.items()):
        tracking = beat.get("tracking") if isinstance(beat.get("tracking"), dict) else {}
        seen = to_ms(tracking.get("ts")) if tracking.get("ts") else None
        running_jobs = tracking.get("jobs") if isinstance(tracking.get("jobs"), list) else []
        workers.add_row(short(worker), str(tracking.get("host") or ""), str(beat.get("queue") or ""),
                        ago(now_ms - seen) if seen is not None else "?", str(len(running_jobs)),
                        str(tracking.get("processed", "")))
    parts: List[RenderableType] = [Text(title, style="bold")] if title else []
    return Group(*parts, table, recent, workers)


def short(worker: str) -> str:
    """The first 8 characters of a worker id: enough to tell workers apart on screen."""
    return worker[:8]


class Watcher:
    """Consumes the tap on a queue of its own and keeps the folded jobs and latest heartbeats."""

    def __init__(self, uri: str, *, exchange: str = DEFAULT_EXCHANGE, bindings: Iterable[str] = ("#",)) -> None:
        self.uri = uri
        self.exchange = exchange
        self.bindings = list(bindings)
        self.index = JobIndex()
        self.heartbeats: Dict[str, Dict[str, Any]] = {}
        self.events = 0
        #: Messages not folded, by reason: not JSON objects, or holding what cannot be shown (see
        #: :mod:`pyclowder_jobs.tools.quarantine`).
        self.rejected: Counter = Counter()

    def take(self, body: bytes) -> None:
        """Fold one message from the tap; one that cannot be read or shown is counted as rejected."""
        try:
            event, reason = parse_whole(body.decode("utf-8"))
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            reason = "not JSON in UTF-8"
        else:
            if reason is None and not isinstance(event, dict):
                reason = "not a JSON object"
        if reason is not None:
            self.rejected[reason] += 1
            return
        self.events += 1
        if "extractor_info" in event and isinstance(event.get("id"), str):
            self.heartbeats[event["id"]] = event
        self.index.add(event)

    def frame(self, finished: int = 10) -> RenderableType:
        """The view as of now."""
        now = datetime.now(timezone.utc)
        jobs = [job.to_dict() for job in self.index.jobs(now)]
        title = "pyclowder-jobs watch: %s on %s, %d events, %d jobs%s" % (
            self.exchange, safe_uri(self.uri), self.events, len(jobs),
            ", %d rejected" % sum(self.rejected.values()) if self.rejected else "")
        return render(jobs, self.heartbeats, now=now, finished=finished, title=title)

    def run(self, console: Console, *, seconds: Optional[float] = None, finished: int = 10,
            refresh: float = 0.5) -> None:
        """Show the live view until Ctrl-C, or for ``seconds`` and then print one final frame."""
        connection = connect(self.uri)
        try:
            channel = connection.channel()
            channel.exchange_declare(exchange=self.exchange, exchange_type="topic", durable=True)
            queue = channel.queue_declare(queue="", exclusive=True, auto_delete=True).method.queue
            for binding in self.bindings:
                channel.queue_bind(queue=queue, exchange=self.exchange, routing_key=binding)
            channel.basic_consume(queue=queue, auto_ack=True,
                                  on_message_callback=lambda _channel, _method, _properties, body: self.take(body))
            if seconds is not None:
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    connection.process_data_events(time_limit=min(0.2, max(0.0, deadline - time.monotonic())))
                console.print(self.frame(finished))
                return
            with Live(self.frame(finished), console=console, refresh_per_second=4, screen=False) as live:
                next_frame = time.monotonic() + refresh
                try:
                    while True:
                        connection.process_data_events(time_limit=0.1)
                        if time.monotonic() >= next_frame:  # a busy tap does not make it redraw more often
                            live.update(self.frame(finished))
                            next_frame = time.monotonic() + refresh
                except KeyboardInterrupt:
                    pass
        except (pika.exceptions.AMQPError, OSError) as exc:
            raise BrokerError("lost the broker at %s (%s): start watch again once RabbitMQ is back"
                              % (safe_uri(self.uri), type(exc).__name__)) from exc
        finally:
            try:
                connection.close()
            except Exception:  # pylint: disable=broad-except
                pass
