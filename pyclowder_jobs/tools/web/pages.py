"""The HTML of the web page: pure functions from job dicts (``Job.to_dict()``) to strings.

The index lists jobs as Clowder's Extractions tab does: resources, then extractors, then jobs,
with each job's id, status, start, elapsed time, submitting user, attempts, workers and a progress
bar.  The job page shows one job's times, attempts, workers, progress chart and events, and
refreshes itself while the job runs.  Every value is escaped (see ``text.h``): job text comes from
whoever sent the events and is never trusted.  The pages need no external assets.
"""
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import quote, urlencode

from ...server.status import STATES, TERMINAL
from .chart import Point, job_span, render_svg
from .text import clean, duration, h, when

#: The script that swaps in a fresh copy of ``<main>`` every ``data-refresh`` seconds.
REFRESH_SCRIPT_PATH = "/static/refresh.js"
REFRESH_SCRIPT = """\
(function () {
  "use strict";
  function seconds(doc) { return Number(doc.body.getAttribute("data-refresh")); }
  function tick() {
    fetch(window.location.href, {cache: "no-store"}).then(function (reply) {
      return reply.ok ? reply.text() : Promise.reject(reply.status);
    }).then(function (text) {
      var next = new DOMParser().parseFromString(text, "text/html");
      var main = next.querySelector("main");
      if (main) { document.querySelector("main").replaceWith(main); }
      document.body.setAttribute("data-refresh", next.body.getAttribute("data-refresh") || "0");
      if (seconds(document) > 0) { window.setTimeout(tick, seconds(document) * 1000); }
    }, function () {
      window.setTimeout(tick, Math.max(seconds(document), 5) * 1000);
    });
  }
  if (seconds(document) > 0) { window.setTimeout(tick, seconds(document) * 1000); }
}());
"""

#: How many characters of a job's message the index shows.
MESSAGE_LIMIT = 120
#: The job page lists at most this many events (the latest ones).
EVENT_LIMIT = 1000

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#f6f7f9}
header{background:#23395d;color:#fff;padding:10px 24px;display:flex;align-items:baseline;gap:24px}
header a{color:#fff;text-decoration:none}header h1{font-size:20px;margin:0}
main{padding:12px 24px 32px}a{color:#1a5fb4}
h2{font-size:17px;margin:22px 0 6px;word-break:break-all}
h3{font-size:15px;margin:12px 0 6px 12px;word-break:break-all}
section.resource{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:4px 14px 12px;margin:14px 0;overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:13px;background:#fff}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e6e8eb;vertical-align:top}
th{background:#eef1f5;font-weight:600}
td.id{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:nowrap}
td.num{text-align:right;white-space:nowrap}td.time{white-space:nowrap}
td.message{color:#555;overflow-wrap:anywhere}
.status{display:inline-block;padding:1px 7px;border-radius:9px;font-size:12px;font-weight:600;color:#fff;background:#6c757d;white-space:nowrap}
.status-submitted{background:#6c757d}.status-started,.status-processing{background:#1a73e8}
.status-succeeded{background:#1e8e3e}.status-failed{background:#d62728}.status-lost{background:#8e24aa}
.status-skipped{background:#9aa0a6}.status-resubmitted,.status-cancel_requested{background:#e8710a}
.status-cancelled{background:#3c4043}
.flag{font-size:11px;color:#8a4b00;background:#fff3cd;border-radius:4px;padding:0 4px;margin-left:4px}
span.bar{position:relative;width:140px;height:14px;background:#e8eaed;border-radius:7px;overflow:hidden;display:inline-block;vertical-align:middle}
span.bar span{position:absolute;left:0;top:0;bottom:0;background:#1a73e8}
span.bar.done span{background:#1e8e3e}span.bar.failed span{background:#d62728}
.bar-label{font-size:12px;color:#444;margin-left:6px}
form.filters{display:flex;gap:12px;align-items:end;flex-wrap:wrap;margin:8px 0}
form.filters label{font-size:12px;color:#444;display:flex;flex-direction:column;gap:2px}
.summary{color:#444;margin:6px 0 0}.paging a{margin-right:14px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 18px;background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:12px 16px;font-size:14px}
dl.facts dt{color:#555}dl.facts dd{margin:0;word-break:break-all}
.chart{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:8px;display:inline-block}
.empty{color:#666;font-style:italic}code{font-size:12px;word-break:break-all}
"""

_KNOWN_STATUS = frozenset(STATES)
#: pyClowder's ``StatusMessage.<member>: `` before a message: the status badge already says it.
_PREFIX = re.compile(r"\AStatusMessage\.[a-z]+: ")


def index_page(jobs: Sequence[Mapping[str, Any]], *, total: int, offset: int = 0, limit: int = 100,
               filters: Optional[Mapping[str, str]] = None) -> str:
    """The index: ``jobs`` (one page of them, newest first) grouped by resource, then extractor.

    ``total`` is how many jobs match ``filters`` (``status``, ``extractor``, ``user``,
    ``resource``); ``offset`` and ``limit`` say which slice ``jobs`` is, for the paging links.
    """
    filters = {key: value for key, value in (filters or {}).items() if value}
    body = [_filter_form(filters, limit), _summary(len(jobs), total, offset, limit, filters)]
    if not jobs:
        body.append('<p class="empty">No jobs%s.</p>' % (" match these filters" if filters else " yet"))
    for resource, by_extractor in _group(jobs):
        body.append('<section class="resource" data-resource="%s"><h2>Resource %s</h2>'
                    % (h(resource), _resource_label(resource)))
        for extractor, members in by_extractor:
            body.append('<section class="extractor" data-extractor="%s"><h3>%s '
                        '<span class="summary">%d job%s</span></h3>'
                        % (h(extractor), h(extractor) if extractor is not None else "(no extractor)",
                           len(members), "" if len(members) == 1 else "s"))
            body.append(_jobs_table(members))
            body.append("</section>")
        body.append("</section>")
    if jobs:
        body.append(_summary(len(jobs), total, offset, limit, filters, paging_only=True))
    return _document("Jobs", "".join(body), refresh=0)


def job_page(job: Mapping[str, Any], series: Mapping[str, List[Point]], *, refresh: int = 5,
             title: Optional[str] = None) -> str:
    """One job: its facts, progress, the per-worker chart (inline SVG), attempts and events.

    While the job is unfinished the page reloads its ``<main>`` every ``refresh`` seconds (0: never).
    """
    job_id = clean(job.get("job_id"))
    status = job.get("status")
    link = job_url(job_id)
    chart = render_svg(dict(series), title="progress of job %s" % job_id, span=job_span(job))
    parts = ['<h2>%s <span class="id">%s</span> %s</h2>' % (h(title or "Job"), h(job_id), _status(status)),
             _facts(job),
             '<h2>Progress by worker</h2><div class="chart" id="chart">%s</div>' % chart,
             '<p class="summary">The same chart as an image: <a href="%s/chart.svg">%s/chart.svg</a> '
             '(embed with <code>&lt;img src="%s/chart.svg"&gt;</code>); the job as JSON: '
             '<a href="%s.json">%s.json</a>.</p>' % (link, link, link, link, link),
             _attempts(job), _events(job)]
    running = refresh if status not in TERMINAL else 0
    return _document("Job %s" % job_id, "".join(parts), refresh=running)


def error_page(code: int, message: str) -> str:
    """A short page for an HTTP error, with the (escaped) reason."""
    return _document("Error %d" % code, '<h2>Error %d</h2><p class="error">%s</p><p><a href="/">All jobs'
                     '</a></p>' % (code, h(message)), refresh=0)


def job_url(job_id: str) -> str:
    """The path of a job's page; the id is percent-encoded, so any id gives a working link."""
    return "/jobs/" + quote(job_id, safe="")


def _document(title: str, body: str, *, refresh: int) -> str:
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>%s \u2013 pyclowder-jobs</title><style>%s</style>%s"
            '<script src="%s" defer></script></head><body data-refresh="%d">'
            '<header><h1><a href="/">pyclowder-jobs</a></h1><span>%s</span></header>'
            "<main>%s</main></body></html>"
            % (h(title), _STYLE, '<noscript><meta http-equiv="refresh" content="%d"></noscript>' % refresh
               if refresh else "", REFRESH_SCRIPT_PATH, refresh, h(title), body))


def _group(jobs: Iterable[Mapping[str, Any]]) -> List[Tuple[Any, List[Tuple[Any, List[Mapping[str, Any]]]]]]:
    """Resource, then extractor, then jobs; groups in the order of their newest job."""
    grouped: Dict[Any, Dict[Any, List[Mapping[str, Any]]]] = {}
    for job in jobs:
        grouped.setdefault(_key(job.get("resource_id")), {}).setdefault(
            _key(job.get("extractor")), []).append(job)
    return [(resource, list(by_extractor.items())) for resource, by_extractor in grouped.items()]


def _key(value: Any) -> Optional[str]:
    return None if value is None else clean(value)


def _resource_label(resource: Optional[str]) -> str:
    if resource is None:
        return '<span class="empty">(unknown)</span>'
    return '<span class="id">%s</span>' % h(resource)


def _jobs_table(jobs: Iterable[Mapping[str, Any]]) -> str:
    rows = ['<table class="jobs"><thead><tr><th>Job id</th><th>Status</th><th>Started</th><th>Elapsed</th>'
            "<th>User</th><th>Attempts</th><th>Workers</th><th>Progress</th><th>Message</th></tr></thead><tbody>"]
    for job in jobs:
        job_id = clean(job.get("job_id"))
        message = _PREFIX.sub("", clean(job.get("message")), count=1)
        if len(message) > MESSAGE_LIMIT:
            message = message[:MESSAGE_LIMIT - 1] + "\u2026"
        rows.append(
            '<tr class="job" data-job-id="%s" data-status="%s"><td class="id"><a href="%s">%s</a>%s</td>'
            "<td>%s</td><td class=\"time\">%s</td><td class=\"num\">%s</td><td>%s</td>"
            '<td class="num">%s</td><td>%s</td><td>%s</td><td class="message">%s</td></tr>'
            % (h(job_id), h(job.get("status")), h(job_url(job_id)), h(job_id), _flags(job),
               _status(job.get("status")), h(when(job.get("started"))), h(duration(job.get("elapsed"))),
               h(job.get("user") or ""), h(job.get("attempts")), _workers(job.get("workers")),
               _progress(job), h(message)))
    rows.append("</tbody></table>")
    return "".join(rows)


def _flags(job: Mapping[str, Any]) -> str:
    flags = []
    if job.get("synthetic"):
        flags.append('<span class="flag" title="grouped from events without a job id">legacy</span>')
    if job.get("ambiguous"):
        flags.append('<span class="flag" title="ran at the same time as another job on this resource '
                     'and extractor: events may be mixed">ambiguous</span>')
    if job.get("stale"):
        flags.append('<span class="flag" title="unfinished and silent for a long time">stale</span>')
    return "".join(flags)


def _status(status: Any) -> str:
    name = clean(status)
    css = name.lower() if name in _KNOWN_STATUS else "other"
    return '<span class="status status-%s">%s</span>' % (css, h(name or "?"))


def _workers(workers: Any) -> str:
    workers = _listed(workers)
    if not workers:
        return ""
    shown = ['<span title="%s">%s</span>' % (h(worker), h(_short(clean(worker)))) for worker in workers[:3]]
    if len(workers) > 3:
        shown.append("+%d" % (len(workers) - 3))
    return ", ".join(shown)


def _listed(value: Any) -> List[Any]:
    return value if type(value) is list else []


def _short(worker: str) -> str:
    return worker if len(worker) <= 12 else worker[:8] + "\u2026"


def _progress(job: Mapping[str, Any]) -> str:
    """A bar from the job's latest progress numbers; a full green one for a success without numbers."""
    status = job.get("status")
    progress = job.get("progress")
    share: Optional[float] = None
    label = ""
    if type(progress) is dict:
        done, total = progress.get("done"), progress.get("total")
        if _is_number(done) and _is_number(total) and total > 0:
            share = min(1.0, max(0.0, done / total))
            label = "%s/%s" % (_figure(done), _figure(total))
        elif _is_number(done):
            label = _figure(done)
        unit = progress.get("unit")
        if type(unit) is str and unit and label:
            label += " " + unit[:20]
    if status == "SUCCEEDED":
        share = 1.0
    if share is None:
        return '<span class="bar-label">%s</span>' % h(label) if label else ""
    css = "done" if status == "SUCCEEDED" else "failed" if status in ("FAILED", "LOST") else ""
    return ('<span class="bar %s" title="%d%%"><span style="width:%.1f%%"></span></span>'
            '<span class="bar-label">%s</span>' % (css, int(share * 100), share * 100, h(label)))


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and value == value and abs(value) != float("inf")


def _figure(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else "%g" % value


def _filter_form(filters: Mapping[str, str], limit: int) -> str:
    chosen = filters.get("status", "")
    options = ['<option value="">all</option>']
    for state in STATES:
        options.append('<option value="%s"%s>%s</option>'
                       % (state, " selected" if state == chosen else "", state.lower()))
    fields = ['<label>Status<select name="status">%s</select></label>' % "".join(options)]
    for name in ("extractor", "user", "resource"):
        fields.append('<label>%s<input name="%s" value="%s" size="18"></label>'
                      % (name.capitalize(), name, h(filters.get(name, ""))))
    fields.append('<label>Per page<input name="limit" value="%d" size="5"></label>' % limit)
    return ('<form class="filters" method="get" action="/">%s<button type="submit">Show</button>'
            '<a href="/">clear</a></form>' % "".join(fields))


def _summary(shown: int, total: int, offset: int, limit: int, filters: Mapping[str, str],
             paging_only: bool = False) -> str:
    links = []
    if offset > 0:
        links.append('<a href="%s">\u2190 newer</a>' % h(_page_url(filters, max(0, offset - limit), limit)))
    if offset + shown < total:
        links.append('<a href="%s">older \u2192</a>' % h(_page_url(filters, offset + limit, limit)))
    paging = '<span class="paging">%s</span>' % "".join(links)
    if paging_only:
        return '<p class="summary">%s</p>' % paging
    if not shown:
        return '<p class="summary" id="summary">%d job%s. %s</p>' % (total, "" if total == 1 else "s", paging)
    rest = total - offset - shown
    return ('<p class="summary" id="summary">Showing jobs %d\u2013%d of %d, newest first%s. %s</p>'
            % (offset + 1, offset + shown, total,
               "; %d older not shown" % rest if rest > 0 else "", paging))


def _page_url(filters: Mapping[str, str], offset: int, limit: int) -> str:
    query = dict(filters)
    query["limit"] = str(limit)
    if offset:
        query["offset"] = str(offset)
    return "/?" + urlencode(query)


def _facts(job: Mapping[str, Any]) -> str:
    rows: List[Tuple[str, str]] = [
        ("Status", _status(job.get("status")) + _flags(job)),
        ("Resource", h(job.get("resource_id") or "")),
        ("Extractor", h(job.get("extractor") or "")),
        ("Submitted by", h(job.get("user") or "")),
        ("Attempts", h(job.get("attempts"))),
        ("Submitted", h(when(job.get("submitted")))),
        ("Started", h(when(job.get("started")))),
        ("Finished", h(when(job.get("finished")))),
        ("Last update", h(when(job.get("last_update")))),
        ("Elapsed", h(duration(job.get("elapsed")))),
        ("Waiting in queue", h(duration(job.get("queue_wait")))),
        ("Last attempt ran", h(duration(job.get("run_time")))),
        ("Workers", ", ".join(h(worker) for worker in _listed(job.get("workers")))),
        ("Progress", _progress(job)),
        ("Message", h(job.get("message") or "")),
    ]
    successor = job.get("superseded_by")
    if successor:
        rows.append(("Superseded by", '<a href="%s">%s</a>' % (h(job_url(clean(successor))), h(successor))))
    return '<dl class="facts">%s</dl>' % "".join("<dt>%s</dt><dd>%s</dd>" % row for row in rows)


def _attempts(job: Mapping[str, Any]) -> str:
    """One row per attempt: when it began and ended, how many events, its last state."""
    attempts: Dict[Any, List[Mapping[str, Any]]] = {}
    for event in _event_list(job):
        attempts.setdefault(event.get("attempt"), []).append(event)
    if not attempts:
        return ""
    rows = ['<h2>Attempts</h2><table class="attempts"><thead><tr><th>Attempt</th><th>First event</th>'
            "<th>Last event</th><th>Events</th><th>Last status</th></tr></thead><tbody>"]
    for attempt, events in attempts.items():
        rows.append('<tr><td class="num">%s</td><td class="time">%s</td><td class="time">%s</td>'
                    '<td class="num">%d</td><td>%s</td></tr>'
                    % (h(attempt), h(when(events[0].get("ts"))), h(when(events[-1].get("ts"))), len(events),
                       _status(events[-1].get("status"))))
    rows.append("</tbody></table>")
    return "".join(rows)


def _events(job: Mapping[str, Any]) -> str:
    events = _event_list(job)
    hidden = max(0, len(events) - EVENT_LIMIT)
    rows = ['<h2>Events</h2>']
    if hidden:
        rows.append('<p class="summary">The %d earliest events are not shown.</p>' % hidden)
    rows.append('<table class="events"><thead><tr><th>Time (UTC)</th><th>Attempt</th><th>Status</th>'
                "<th>Text</th><th>Event id</th></tr></thead><tbody>")
    for event in events[hidden:]:
        rows.append('<tr class="event"><td class="time">%s</td><td class="num">%s</td><td>%s</td>'
                    '<td class="message">%s</td><td class="id">%s</td></tr>'
                    % (h(_precise(event.get("ts"))), h(event.get("attempt")), _status(event.get("status")),
                       h(event.get("text")), h(event.get("id") or "")))
    if not events:
        rows.append('<tr><td colspan="5" class="empty">No events.</td></tr>')
    rows.append("</tbody></table>")
    return "".join(rows)


def _event_list(job: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    events = job.get("events")
    return [event for event in events if isinstance(event, Mapping)] if type(events) is list else []


def _precise(iso: Any) -> str:
    return when(iso) + (iso[19:23] if type(iso) is str and len(iso) >= 23 else "")
