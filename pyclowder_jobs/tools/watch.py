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
from rich.text import Text

from pyclowder_jobs.tools.quarantine import parse_whole
from pyclowder_jobs.tools.recorder import DEFAULT_EXCHANGE, BrokerError, connect, safe_uri
from pyclowder_jobs.server import LOST, TERMINAL, JobIndex
from pyclowder_jobs.protocol.times import to_ms
from pyclowder_jobs.tools.terminal import (Column, counted, fitted_table, one_line, print_fitted, progress_cell,
                                           short, status_text, text)
from pyclowder_jobs.tools.timefmt import ago, duration

#: The live view's tables; ``rank`` 0 is always shown, the highest rank gives way first.
RUNNING = (Column("job"), Column("extractor", 2), Column("status"), Column("attempt", 3, "right"),
           Column("elapsed", 4, "right"), Column("progress", 1, wraps=(22, 40)), Column("worker", 5))
FINISHED = (Column("job"), Column("extractor", 2), Column("status"), Column("attempt", 4, "right"),
            Column("run time", 3, "right"), Column("finished", 5, "right"), Column("message", 1, wraps=(12, 50)))
WORKERS = (Column("worker"), Column("host", 2), Column("queue", 3), Column("last heartbeat", 1, "right"),
           Column("running", 4, "right"), Column("processed", 5, "right"))

#: Said while no heartbeat has arrived: pyClowder's own default interval is long.
NO_HEARTBEAT = ("No heartbeat seen yet: pyClowder sends one every 300 s unless told otherwise. Start the "
                "extractor with --heartbeat 10 (or HEARTBEAT=10) to see its workers sooner.")


def render(jobs: Sequence[Dict[str, Any]], heartbeats: Dict[str, Dict[str, Any]], *, now: datetime,
           finished: int = 10, title: str = "", width: Optional[int] = None) -> RenderableType:
    """One frame: running jobs, the last ``finished`` finishes, and each worker's last heartbeat.

    The tables fit ``width`` (every column when it is None).
    """
    now_ms = to_ms(now)
    running = [job for job in jobs if job["status"] not in TERMINAL and job["status"] != LOST]
    done = [job for job in jobs if job["status"] in TERMINAL or job["status"] == LOST]
    running.sort(key=lambda job: job["started"] or job["last_update"])
    done.sort(key=lambda job: job["finished"] or job["last_update"], reverse=True)

    table = fitted_table(RUNNING, ([job["job_id"], job["extractor"], status_text(job["status"]), job["attempts"],
                                    duration(job["elapsed"]), progress_cell(job),
                                    short(job["workers"][-1]) if job["workers"] else ""] for job in running),
                         width=width, title="Running (%d)" % len(running))
    recent = fitted_table(FINISHED, ([job["job_id"], job["extractor"], status_text(job["status"]), job["attempts"],
                                      duration(job["run_time"]),
                                      ago(now_ms - to_ms(job["finished"] or job["last_update"])),
                                      one_line(job["message"])] for job in done[:finished]),
                          width=width, title="Finished (last %d of %d)" % (min(finished, len(done)), len(done)))
    rows = []
    for worker, beat in sorted(heartbeats.items()):
        tracking = beat.get("tracking") if isinstance(beat.get("tracking"), dict) else {}
        seen = to_ms(tracking.get("ts")) if tracking.get("ts") else None
        running_jobs = tracking.get("jobs") if isinstance(tracking.get("jobs"), list) else []
        rows.append([short(worker), tracking.get("host"), beat.get("queue"),
                     ago(now_ms - seen) if seen is not None else "?", len(running_jobs),
                     tracking.get("processed")])
    workers = fitted_table(WORKERS, rows, width=width, title="Workers (%d)" % len(heartbeats))
    parts: List[RenderableType] = [text(title, "bold")] if title else []
    parts += [table, recent, workers]
    if not heartbeats:
        parts.append(Text(NO_HEARTBEAT, style="dim"))
    return Group(*parts)


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

    def frame(self, finished: int = 10, width: Optional[int] = None) -> RenderableType:
        """The view as of now, its tables fitted to ``width`` (every column when None)."""
        now = datetime.now(timezone.utc)
        jobs = [job.to_dict() for job in self.index.jobs(now)]
        title = "pyclowder-jobs watch: %s on %s, %s, %s%s" % (
            self.exchange, safe_uri(self.uri), counted(self.events, "event"), counted(len(jobs), "job"),
            ", %d rejected" % sum(self.rejected.values()) if self.rejected else "")
        return render(jobs, self.heartbeats, now=now, finished=finished, title=title, width=width)

    def run(self, console: Console, *, seconds: Optional[float] = None, finished: int = 10,
            refresh: float = 0.5, wide: bool = False) -> None:
        """Show the live view until Ctrl-C, or for ``seconds`` and then print one final frame.

        The tables fit the console, or with ``wide`` show every column (the final frame of
        ``seconds`` is then as wide as they need; the live view squeezes them into the window).
        """
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
                print_fitted(console, self.frame(finished, None if wide else console.width))
                return
            with Live(self.frame(finished, None if wide else console.width), console=console, refresh_per_second=4,
                      screen=False) as live:
                next_frame = time.monotonic() + refresh
                try:
                    while True:
                        connection.process_data_events(time_limit=0.1)
                        if time.monotonic() >= next_frame:  # a busy tap does not make it redraw more often
                            live.update(self.frame(finished, None if wide else console.width))
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
