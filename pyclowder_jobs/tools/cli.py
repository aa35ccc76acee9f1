"""The ``pyclowder-jobs`` command: record, import, jobs, show, stats, watch, submit, serve, demo, alert-rules.

Each subcommand is one function registered with :func:`command`, next to a function that adds
its options; a new one (``serve``, ``demo``) is one more such pair, here or in a module imported
at the end of this file.

Exit codes, the same for every subcommand:

* 0: done (``submit``: every job succeeded, or was skipped by the extractor's ``check_message``);
* 1: ``submit`` only: a job failed, or did not end within ``--timeout``;
* 2: a usage problem, told in one line on stderr: a bad option or argument, an unknown job
  (``show``), a missing database or file, a broker that cannot be reached, no such queue (``submit``);
* 130: interrupted with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, NamedTuple, Optional, Sequence

from pyclowder_jobs import __version__
from pyclowder_jobs.tools.recorder import DEFAULT_EXCHANGE, DEFAULT_QUEUE, DEFAULT_URI, BrokerError
from pyclowder_jobs.tools.store import Store, StoreError
from pyclowder_jobs.tools.timefmt import duration

DEFAULT_DB = "pyclowder-jobs.sqlite"
#: What ``show`` says of a waiting job's ``unclaimed`` flag (``docs/fold.rst``, rule 6).
UNCLAIMED_TEXT = {True: "yes: no worker of its extractor is alive to start it",
                  False: "no: a worker of its extractor is alive",
                  None: "unknown: no heartbeat of its extractor was seen"}
#: How many of a job's latest events ``show`` prints unless told otherwise.
SHOWN_EVENTS = 1000

RICH_MISSING = ("the pyclowder-jobs tools need the `rich` library (and `serve` starlette, uvicorn, jinja2 and "
                "prometheus_client): install them with pip install 'pyclowder-jobs[tools]'")
#: The libraries of the ``tools`` extra: a missing one is reported with :data:`RICH_MISSING`.
TOOLS_MODULES = ("rich", "starlette", "uvicorn", "jinja2", "markupsafe", "anyio", "prometheus_client")


class Command(NamedTuple):
    """A subcommand: its name, one line of help, what adds its options, and what runs it."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: Dict[str, Command] = {}


class Failure(Exception):
    """A problem to report in one line (exit code 2)."""


def command(name: str, help_text: str, configure: Callable[[argparse.ArgumentParser], None]) -> Callable:
    """Register the decorated ``run(args) -> int`` as the subcommand ``name``."""
    def register(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        """Add ``run`` to the commands."""
        COMMANDS[name] = Command(name, help_text, configure, run)
        return run
    return register


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit code."""
    parser = argparse.ArgumentParser(prog="pyclowder-jobs",
                                     description="Record and look at the jobs of Clowder extractors.")
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for entry in COMMANDS.values():
        sub = commands.add_parser(entry.name, help=entry.help, description=entry.help)
        entry.configure(sub)
        sub.set_defaults(run=entry.run)
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except (Failure, StoreError, BrokerError) as exc:
        print("pyclowder-jobs %s: %s" % (args.command, exc), file=sys.stderr)
        return 2
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in TOOLS_MODULES:
            raise
        print("pyclowder-jobs %s: %s" % (args.command, RICH_MISSING), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pyclowder-jobs %s: interrupted (what was already committed stays)" % args.command, file=sys.stderr)
        return 130
    except BrokenPipeError:  # the output was piped into a command that stopped reading (head)
        sys.stderr.close()
        return 0


def _console(stderr: bool = False) -> Any:
    """A rich console (wide when not a terminal, so that ids are never cut), or a Failure naming the extra."""
    try:
        from rich.console import Console
    except ImportError:
        raise Failure(RICH_MISSING) from None
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else int(os.environ.get("COLUMNS") or 0) or 200
    return Console(file=stream, width=width, highlight=False)


def _open(args: argparse.Namespace) -> Store:
    return Store(args.db, create=False)


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=DEFAULT_DB, metavar="FILE",
                        help="the SQLite database (default: %s in the current directory)" % DEFAULT_DB)


def _broker_options(parser: argparse.ArgumentParser, bind: bool = True) -> None:
    parser.add_argument("--rabbitmq-uri", default=os.environ.get("RABBITMQ_URI", DEFAULT_URI), metavar="URI",
                        help="the broker (default: $RABBITMQ_URI, else %s)" % DEFAULT_URI.replace("%", "%%"))
    parser.add_argument("--exchange", default=DEFAULT_EXCHANGE,
                        help="the tap exchange (default: %s)" % DEFAULT_EXCHANGE)
    if bind:
        parser.add_argument("--bind", action="append", metavar="KEY",
                            help="a binding key, e.g. 'ncsa.wordcount.*' (repeatable; default: '#', everything)")


def _json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


_SINCE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: Optional[datetime] = None) -> datetime:
    """``30m``, ``2h``, ``7d``, ``1w`` ago, or an ISO 8601 date or time (UTC unless it says otherwise)."""
    found = _SINCE.match(text.strip())
    now = now or datetime.now(timezone.utc)
    if found:
        return now - timedelta(seconds=float(found.group(1)) * _UNITS[found.group(2)])
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError("not a time: %r (give 30m, 2h, 7d, 1w, or a date such as 2024-05-01)"
                                         % text) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# record ---------------------------------------------------------------------------------------

def _configure_record(parser: argparse.ArgumentParser) -> None:
    _db_option(parser)
    _broker_options(parser)
    parser.add_argument("--queue", default=DEFAULT_QUEUE,
                        help="the recorder's own durable queue (default: %s)" % DEFAULT_QUEUE)
    parser.add_argument("--batch-size", type=int, default=2000, help="events per transaction (default: 2000)")
    parser.add_argument("--metrics-port", type=int, metavar="PORT",
                        help="also serve the store's metrics for Prometheus on http://HOST:PORT/metrics, with each "
                             "extractor queue's ready messages and consumers (0: any free port)")
    parser.add_argument("--metrics-host", default="127.0.0.1", metavar="HOST",
                        help="the address the metrics are served on (default %(default)s; they need no token, so "
                             "another address shows them to whoever reaches it)")


@command("record", "consume the event tap into a SQLite database, until Ctrl-C", _configure_record)
def record(args: argparse.Namespace) -> int:
    """Consume the tap into the database until Ctrl-C, then print a summary line."""
    from pyclowder_jobs.tools.recorder import Recorder, safe_uri
    recorder = Recorder(args.db, uri=args.rabbitmq_uri, queue=args.queue, exchange=args.exchange,
                        bindings=args.bind or ["#"], batch_size=args.batch_size)
    print("recording %s (queue %s) from %s into %s; Ctrl-C to stop"
          % (args.exchange, args.queue, safe_uri(args.rabbitmq_uri), args.db), file=sys.stderr, flush=True)
    if args.metrics_port is None:
        return _record(args, recorder)
    from pyclowder_jobs.tools.monitoring.metrics import MetricsServer
    server = MetricsServer(args.db, args.rabbitmq_uri)
    try:
        server.start(args.metrics_host, args.metrics_port)
    except OSError as exc:
        server.stop()
        raise Failure("cannot serve the metrics on %s:%d (%s): give another --metrics-port"
                      % (args.metrics_host, args.metrics_port, exc.strerror or exc)) from None
    print("serving the metrics on %s" % server.url, file=sys.stderr, flush=True)
    try:
        return _record(args, recorder)
    finally:
        server.stop()


def _record(args: argparse.Namespace, recorder: Any) -> int:
    """Run the recorder, with a status line on a terminal, then print its summary."""
    status = None
    if sys.stderr.isatty():
        try:
            status = _console(stderr=True).status("waiting for events")
        except Failure:
            status = None
    if status is not None:
        with status:
            summary = recorder.run(on_batch=lambda s: status.update(
                "recorded %d events (%d new, %d duplicates, %d rejected)"
                % (s.received, s.new, s.duplicates, s.rejected)))
    else:
        summary = recorder.run()
    print(summary.line(args.db), flush=True)
    return 0


# prune ----------------------------------------------------------------------------------------

def _configure_prune(parser: argparse.ArgumentParser) -> None:
    _db_option(parser)
    parser.add_argument("--older-than", type=parse_since, required=True, metavar="AGE",
                        help="delete finished jobs whose last event is older: 90d, 12w, or a date such as 2024-05-01")
    parser.add_argument("--keep-failed", action="store_true", help="keep FAILED jobs, however old")
    parser.add_argument("--vacuum", action="store_true",
                        help="also give the freed space back to the file system (rewrites the whole file; without "
                             "it SQLite reuses the freed pages for new events)")
    parser.add_argument("--json", action="store_true", help="print what was deleted as JSON")


@command("prune", "delete finished jobs older than a cut, with their events (running jobs are kept)",
         _configure_prune)
def prune(args: argparse.Namespace) -> int:
    """Delete old finished jobs and their events, then say how many."""
    store = _open(args)
    try:
        deleted = store.prune(args.older_than, keep_failed=args.keep_failed, vacuum=args.vacuum)
    finally:
        store.close()
    if args.json:
        _json(dict(deleted, older_than=args.older_than.isoformat()))
    else:
        print("pruned %d jobs and %d events whose last update was before %s from %s"
              % (deleted["jobs"], deleted["events"], args.older_than.isoformat(timespec="seconds"), args.db))
    return 0


# import ---------------------------------------------------------------------------------------

def _configure_import(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="mongoexport output (JSON lines or --jsonArray) of v1 extractions, or v2 "
                             "listener_jobs / listener_job_updates")
    _db_option(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


@command("import", "load Clowder v1 or v2 exports of extraction events", _configure_import)
def import_(args: argparse.Namespace) -> int:
    """Import each export file, then report what was read, imported and refused."""
    from pyclowder_jobs.tools.importer import describe, import_file
    for path in args.files:
        if not os.path.isfile(path):
            raise Failure("no such file: %s (give a mongoexport file, e.g. mongoexport -c extractions -o %s)"
                          % (path, path))
    store = Store(args.db)
    results = []
    try:
        for path in args.files:
            summary = _import_one(store, path, import_file)
            results.append(dict(file=path, **describe(summary)))
            if not args.json:
                _print_import(path, summary)
    finally:
        store.close()
    if args.json:
        _json(results)
    return 0


def _import_one(store: Store, path: str, import_file: Callable) -> Any:
    """Import with a progress bar on a terminal."""
    if not sys.stderr.isatty():
        return import_file(store, path)
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TimeRemainingColumn(), console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task("importing %s" % os.path.basename(path), total=os.path.getsize(path))
        return import_file(store, path, progress=lambda done, total: bar.update(task, completed=done))


def _print_import(path: str, summary: Any) -> None:
    print("%s: %d read, %d imported, %d duplicates, %d refused"
          % (path, summary.read, summary.imported, summary.duplicates, summary.refused_count))
    for reason, count in summary.reasons.most_common():
        print("  refused %d: %s" % (count, reason))
    for line, reason in summary.refused:
        print("  line %d: %s" % (line, reason))
    if summary.refused_count > len(summary.refused):
        print("  (%d more refused lines not listed)" % (summary.refused_count - len(summary.refused)))


# jobs -----------------------------------------------------------------------------------------

def _configure_jobs(parser: argparse.ArgumentParser) -> None:
    _db_option(parser)
    parser.add_argument("--status", type=str.upper,
                        help="SUCCEEDED, FAILED, LOST, PROCESSING, SUBMITTED, ..., or UNCLAIMED: the waiting jobs "
                             "that no live worker of their extractor will start")
    parser.add_argument("--extractor", help="the extractor's name, e.g. ncsa.wordcount")
    parser.add_argument("--user", help="the submitting user")
    parser.add_argument("--resource", help="the file or dataset id")
    parser.add_argument("--since", type=parse_since, help="last update at or after: 30m, 2h, 7d, or a date")
    parser.add_argument("--limit", type=int, default=50, help="at most this many, newest first (0: all)")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    _wide_option(parser)


@command("jobs", "list jobs, newest first", _configure_jobs)
def jobs(args: argparse.Namespace) -> int:
    """List the jobs that match the filters."""
    store = _open(args)
    try:
        found = store.jobs(status=args.status, extractor=args.extractor, user=args.user, resource=args.resource,
                           since=args.since, limit=args.limit or None)
    finally:
        store.close()
    if args.json:
        _json(found)
        return 0
    from pyclowder_jobs.tools.terminal import (Column, counted, fitted_table, print_fitted, progress_cell, short,
                                               status_text)
    # rank 0 is always shown; the highest rank gives way first
    columns = (Column("job"), Column("status"), Column("extractor", 1), Column("att.", 2, "right"),
               Column("run time", 3, "right"), Column("progress", 4, wraps=(22, 40)), Column("workers", 5),
               Column("started", 6), Column("resource", 7))
    console = _console()
    rows = ([job["job_id"] + (" ?" if job["ambiguous"] else ""),
             status_text(job["status"] + "".join(" (%s)" % flag for flag in ("stale", "unclaimed") if job[flag])),
             job["extractor"], job["attempts"],
             duration(job["run_time"]), progress_cell(job), ", ".join(short(worker) for worker in job["workers"]),
             (job["started"] or job["submitted"] or "")[:19].replace("T", " "), _resource(job)] for job in found)
    title = counted(len(found), "job") + (" (newest %d)" % args.limit if len(found) == args.limit else "")
    print_fitted(console, fitted_table(columns, rows, width=_width(args, console), title=title))
    return 0


def _width(args: argparse.Namespace, console: Any) -> Optional[int]:
    """The width tables fit: the console's, or None (every column) with ``--wide``."""
    return None if args.wide else console.width


def _wide_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wide", action="store_true",
                        help="show every column, however wide (tables otherwise fit the terminal, or $COLUMNS, "
                             "by leaving out the least important columns)")


# show -----------------------------------------------------------------------------------------

def _configure_show(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("job_id", metavar="JOB_ID")
    _db_option(parser)
    parser.add_argument("--events", type=int, default=SHOWN_EVENTS, metavar="N",
                        help="show the job's latest N events (default %d; 0: all of them)" % SHOWN_EVENTS)
    parser.add_argument("--json", action="store_true", help="print the job, its events and its raw events as JSON")
    _wide_option(parser)


@command("show", "one job: attempts, events, times, workers and progress", _configure_show)
def show(args: argparse.Namespace) -> int:
    """Show one job with its workers and events."""
    store = _open(args)
    try:
        job = store.job(args.job_id)
        if job is None:
            raise Failure("no job %s in %s (list them with `pyclowder-jobs jobs --db %s`)"
                          % (args.job_id, args.db, args.db))
        limit = args.events if args.events > 0 else None
        job["events"] = store.job_history(args.job_id, limit=limit, newest=True)
        if args.json:
            raw = [event for _, _, event in store.job_events(args.job_id, limit=limit, newest=True)]
            _json({"job": job, "raw_events": raw})
            return 0
        workers = store.job_workers(args.job_id)
    finally:
        store.close()
    from pyclowder_jobs.tools.terminal import print_fitted
    console = _console()
    print_fitted(console, _job_view(job, workers, _width(args, console)))
    return 0


def _resource(job: Dict[str, Any], both: bool = False) -> str:
    """The job's file or dataset by name where the request gave one (``report.csv``), else by id;
    ``both``: the name and the id."""
    name, resource = job.get("resource_name"), job.get("resource_id") or ""
    if not name:
        return resource
    return "%s (%s)" % (name, resource) if both and resource else name


def _job_view(job: Dict[str, Any], workers: Dict[str, Dict[str, Any]], width: Optional[int]) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text
    from pyclowder_jobs.tools.terminal import Column, fitted_table, progress_cell, short, status_text, text
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column(overflow="fold")
    notes = [word for word, on in (("synthetic", job["synthetic"]), ("ambiguous", job["ambiguous"]),
                                   ("stale", job["stale"]), ("unclaimed", job["unclaimed"])) if on]
    rows = [("job", text(job["job_id"] + (" (%s)" % ", ".join(notes) if notes else ""))),
            ("status", status_text(job["status"])), ("extractor", text(job["extractor"])),
            ("resource", text(_resource(job, both=True))), ("user", text(job["user"])),
            ("attempts", text(job["attempts"])),
            ("submitted", text(job["submitted"])), ("started", text(job["started"])),
            ("finished", text(job["finished"])), ("last update", text(job["last_update"])),
            ("queue wait", text(duration(job["queue_wait"]))), ("run time", text(duration(job["run_time"]))),
            ("elapsed", text(duration(job["elapsed"]))), ("message", text(job["message"], lines=True))]
    if job["status"] in ("SUBMITTED", "RESUBMITTED"):
        rows.append(("unclaimed", text(UNCLAIMED_TEXT[job["unclaimed"]])))
    if job["progress"]:
        rows.append(("progress", progress_cell(job)))
    if job["superseded_by"]:
        rows.append(("superseded by", text(job["superseded_by"])))
    for name, value in rows:
        if not isinstance(value, Text) or value.plain:  # what the events do not tell is left out
            facts.add_row(name, value)
    # rank 0 is always shown; the highest rank gives way first
    workers_table = fitted_table(
        (Column("worker"), Column("host", 1), Column("pid", 4, "right"), Column("attempts", 2, "right"),
         Column("events", 3, "right"), Column("first", 6), Column("last", 5), Column("id", 7)),
        ([short(worker), seen["host"], seen["pid"], ", ".join(map(str, seen["attempts"])), seen["events"],
          seen["first"], seen["last"], worker] for worker, seen in workers.items()),
        width=width, title="Workers")
    shown, total = len(job["events"]), job["event_count"]
    events = fitted_table(
        (Column("time"), Column("attempt", 2, "right"), Column("status"), Column("text", 1, wraps=(20, 80))),
        ([event["ts"], event["attempt"], status_text(event["status"]), text(event["text"], lines=True)]
         for event in job["events"]), width=width,
        title="Events" if shown == total else "Events (the latest %d of %d; --events 0 shows all)" % (shown, total))
    return Group(facts, workers_table, events)


# stats ----------------------------------------------------------------------------------------

def _configure_stats(parser: argparse.ArgumentParser) -> None:
    _db_option(parser)
    parser.add_argument("--extractor", help="only this extractor")
    parser.add_argument("--since", type=parse_since, help="only jobs updated since: 30m, 2h, 7d, or a date")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    _wide_option(parser)


@command("stats", "per extractor and per worker: success rate, run time, queue wait, throughput",
         _configure_stats)
def stats(args: argparse.Namespace) -> int:
    """Print the figures per extractor and per worker."""
    from pyclowder_jobs.tools.report import rejected_line, stats as compute
    store = _open(args)
    try:
        figures = compute(store.jobs(extractor=args.extractor, since=args.since), store.heartbeats(),
                          store.counts().get("rejected", 0))
    finally:
        store.close()
    if args.json:
        _json(figures)
        return 0
    from rich.console import Group
    from pyclowder_jobs.tools.terminal import Column, fitted_table, print_fitted, short, text
    console = _console()
    # rank 0 is always shown; the highest rank gives way first
    figures_columns = [Column("jobs", 1, "right"), Column("ok", 2, "right"), Column("failed", 3, "right"),
                       Column("lost", 6, "right"), Column("success", 4, "right"), Column("run p50", 5, "right"),
                       Column("run p95", 8, "right"), Column("wait p50", 7, "right"),
                       Column("wait p95", 9, "right"), Column("jobs/min", 10, "right")]
    tables = []
    for title, key in (("Per extractor", "extractor"), ("Per worker", "worker")):
        names = [Column("worker"), Column("host", 6)] if key == "worker" else [Column("extractor")]
        rows = []
        for row in figures[key + "s"]:
            rows.append(([short(row["worker"]), row["host"]] if key == "worker" else [row["extractor"]]) + [
                row["jobs"], row["succeeded"], row["failed"], row["lost"],
                "" if row["success_rate"] is None else "%.1f %%" % (100 * row["success_rate"]),
                duration(row["run_time_p50"]), duration(row["run_time_p95"]), duration(row["queue_wait_p50"]),
                duration(row["queue_wait_p95"]),
                "" if row["throughput_per_min"] is None else "%.1f" % row["throughput_per_min"]])
        tables.append(fitted_table(names + figures_columns, rows, width=_width(args, console), title=title))
    rejected = rejected_line(figures, args.db)
    if rejected:
        tables.append(text(rejected))
    print_fitted(console, Group(*tables))
    return 0


# rejected -------------------------------------------------------------------------------------

def _configure_rejected(parser: argparse.ArgumentParser) -> None:
    _db_option(parser)
    parser.add_argument("--limit", type=int, default=50, help="at most this many, newest first (default 50)")
    parser.add_argument("--offset", type=int, default=0, help="skip this many of the newest first")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts, with each whole raw text")


@command("rejected", "documents that could not be stored or folded: when, from where, why, and the text",
         _configure_rejected)
def rejected(args: argparse.Namespace) -> int:
    """List the rejected documents, newest first."""
    store = _open(args)
    try:
        found = store.rejected(limit=max(0, args.limit), offset=max(0, args.offset))
        total = store.counts().get("rejected", 0)
    finally:
        store.close()
    if args.json:
        _json(found)
        return 0
    from rich.table import Table
    from rich.text import Text
    table = Table(title="%d of %d rejected documents, newest first" % (len(found), total), title_justify="left")
    for name, options in (("id", {"justify": "right"}), ("received", {"no_wrap": True}), ("source", {}),
                          ("reason", {"overflow": "fold"}), ("raw (start)", {"overflow": "fold", "max_width": 60})):
        table.add_column(name, **options)
    for row in found:
        table.add_row(str(row["id"]), row["received"], Text(_escaped(row["source"])), Text(_escaped(row["reason"])),
                      Text(_escaped(row["raw"][:120]) + (" ..." if len(row["raw"]) > 120 else "")))
    _console().print(table)
    return 0


def _escaped(text: str) -> str:
    """``text`` with control characters and the like shown as escapes, safe to print on a terminal."""
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text)


# watch ----------------------------------------------------------------------------------------

def _configure_watch(parser: argparse.ArgumentParser) -> None:
    _broker_options(parser)
    parser.add_argument("--once", type=float, metavar="SECONDS",
                        help="watch for SECONDS, then print one frame and exit (for scripts and tests)")
    parser.add_argument("--finished", type=int, default=10, help="how many recent finishes to show (default 10)")
    _wide_option(parser)


@command("watch", "a live view of the tap: running jobs, recent finishes, workers (Ctrl-C to stop)",
         _configure_watch)
def watch(args: argparse.Namespace) -> int:
    """Show the live view of the tap."""
    console = _console()
    from pyclowder_jobs.tools.watch import Watcher
    Watcher(args.rabbitmq_uri, exchange=args.exchange, bindings=args.bind or ["#"]).run(
        console, seconds=args.once, finished=args.finished, wide=args.wide)
    return 0


# submit ---------------------------------------------------------------------------------------

def _configure_submit(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="files to send, one job each")
    parser.add_argument("--queue", required=True,
                        help="the extractor's queue: its extractor_info.json name, or its RABBITMQ_QUEUE")
    parser.add_argument("--clowder", type=int, choices=(1, 2), default=1,
                        help="the shape of the requests: Clowder v1 (default) or v2. The stand-in answers the "
                             "v1 and the v2 API either way (pyClowder 3 picks its API from CLOWDER_VERSION)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="one of the request's parameters; VALUE is read as JSON when it is JSON (4, true, "
                             "\"text\"), else as text (repeatable)")
    parser.add_argument("--parameters", metavar="JSON", help="the request's parameters as one JSON object")
    parser.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                        help="how long to wait for every job to end (default 300)")
    _broker_options(parser, bind=False)
    parser.add_argument("--listen", default="127.0.0.1", metavar="HOST[:PORT]",
                        help="where the stand-in Clowder serves the files (default 127.0.0.1, any free port)")
    parser.add_argument("--url", metavar="URL",
                        help="the stand-in's address as the extractor reaches it, when it is not the listening "
                             "one (an extractor in a container: e.g. --listen 0.0.0.0:8000 --url "
                             "http://host.docker.internal:8000/)")


@command("submit", "test an extractor without a Clowder: serve local files, send the extractor a request for "
         "each, print its replies, progress and log lines as they come, exit 0 when every job succeeded",
         _configure_submit)
def submit(args: argparse.Namespace) -> int:
    """Send the files to the extractor's queue and follow their jobs to their end."""
    from pyclowder_jobs.tools.submit import Submission, UsageError, parse_parameters
    from pyclowder_jobs.tools.terminal import text
    console = _console()
    try:
        submission = Submission(args.files, args.queue, uri=args.rabbitmq_uri, clowder_version=args.clowder,
                                parameters=parse_parameters(args.param, args.parameters), timeout=args.timeout,
                                exchange=args.exchange, listen=args.listen, url=args.url, write=console.print,
                                note=lambda line: console.print(text(line)))
        return submission.run()
    except UsageError as exc:
        raise Failure(str(exc)) from None


# serve ----------------------------------------------------------------------------------------

def _configure_serve(parser: argparse.ArgumentParser) -> None:
    _db_option(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="port (default %(default)s; 0: any free port)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="a host name the server answers to, besides the loopback names and the address it "
                             "listens on (repeat it for more; .example.org allows its subdomains; * any name)")
    parser.add_argument("--create", action="store_true", help="create the store if FILE does not exist")


@command("serve", "the web page of the jobs (resources, extractors, jobs, progress charts, log lines), and the "
         "progress-service API for any program (127.0.0.1:8080 by default; writes need the token it prints, "
         "or $PYCLOWDER_JOBS_TOKEN)", _configure_serve)
def serve(args: argparse.Namespace) -> int:
    from pyclowder_jobs.tools.web.serve import run
    return run(args)


# demo -----------------------------------------------------------------------------------------

DEMO_DB = "pyclowder-jobs-demo.sqlite"


def _configure_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=DEMO_DB, metavar="FILE",
                        help="where to record the run (default: %s, replaced on each run; another file "
                             "must not exist yet)" % DEMO_DB)
    parser.add_argument("--rabbitmq-uri", default=os.environ.get("RABBITMQ_URI", DEFAULT_URI), metavar="URI",
                        help="the broker (default: $RABBITMQ_URI, else %s)" % DEFAULT_URI.replace("%", "%%"))
    parser.add_argument("--replicas", type=int, default=2, help="how many replicas of the extractor (default 2)")
    parser.add_argument("--save", metavar="FILE", help="also write what the tap carried to FILE, as a recording")


@command("demo", "run two tracked replicas of an example extractor on the local broker, and show "
         "their jobs told apart (replays a recording when there is no broker)", _configure_demo)
def demo(args: argparse.Namespace) -> int:
    """Run the demo, record what it did, and print the job table and the stats."""
    from pyclowder_jobs.tools.demo.run import run
    _fresh_database(args.db)
    console = _console()
    events, _ = run(args.rabbitmq_uri, replicas=args.replicas, save=args.save,
                    write=lambda line: console.print(line, markup=False))
    with Store(args.db) as store:
        store.add_events(event for _, event in events)
        retried = max(store.jobs(), key=lambda job: (job["attempts"], job["job_id"]), default=None)
    console.print("\nRecorded %d events in %s.\nThe jobs, as the fold groups them:" % (len(events), args.db),
                  markup=False)
    jobs(argparse.Namespace(db=args.db, status=None, extractor=None, user=None, resource=None, since=None,
                            limit=0, json=False, wide=False))
    stats(argparse.Namespace(db=args.db, extractor=None, since=None, json=False, wide=False))
    console.print("\nLook further with --db %s (the demo's own database):" % args.db, markup=False)
    for follow_up in ("jobs", "show %s" % (retried["job_id"] if retried else "JOB_ID"), "stats", "serve"):
        console.print("  pyclowder-jobs %s --db %s" % (follow_up, args.db), markup=False)
    return 0


# alert-rules -----------------------------------------------------------------------------------

@command("alert-rules", "print the bundled Prometheus alert rules (for rule_files: in prometheus.yml)",
         lambda parser: None)
def alert_rules(args: argparse.Namespace) -> int:
    """Print the alert rule file that comes with the package."""
    from importlib.resources import files
    sys.stdout.write(files("pyclowder_jobs.tools.monitoring").joinpath("alert_rules.yml").read_text("utf-8"))
    return 0


def _fresh_database(path: str) -> None:
    """Remove the demo's own database from an earlier run; refuse to touch any other existing file."""
    if not os.path.exists(path):
        return
    if path != DEMO_DB:
        raise Failure("%s exists: the demo records into a new database; name another file" % path)
    for leftover in (path, path + "-wal", path + "-shm"):
        if os.path.exists(leftover):
            os.remove(leftover)


if __name__ == "__main__":
    sys.exit(main())
