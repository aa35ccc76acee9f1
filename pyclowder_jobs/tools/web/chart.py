"""Each worker's progress on one job, drawn as a standalone SVG image.

The input is the job's raw events (what ``Store.raw_events`` returns): every status reply whose
``tracking.kind`` is ``progress`` is a point ``(time, done, total)`` of the worker that sent it.
The chart has a line per worker (fraction done over time, in the worker's colour, which also
labels its bar) and, below it, a bar per worker with its latest numbers.  A worker whose latest
update says ``ok`` is false (the progress API's ``ok=0``) has a red bar, and the part of its line
that leads to a failed update is red.  All text is XML-escaped, so a hostile
worker name or unit cannot break out of the image.
"""
from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Tuple
from ...protocol.times import ms_to_iso, to_ms
from .text import h

#: Workers beyond this many are summed up in one line of text instead of drawn.
MAX_WORKERS = 40
#: A worker's line keeps at most this many points (evenly spaced, always with the latest).
MAX_POINTS = 400
#: Longest worker name or unit shown; longer ones are cut and end with an ellipsis.
MAX_LABEL = 28

WIDTH = 720
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 48, 700, 16, 176
BAR_TOP, BAR_HEIGHT, BAR_GAP = 206, 16, 8
BAR_LEFT, BAR_WIDTH = 220, 300
FAILED_COLOUR = "#d62728"
#: Line colours for healthy workers; red is kept for failures.
PALETTE = ("#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#17becf", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#393b79")


class Point(NamedTuple):
    """One progress report of a worker: when (ms since the epoch), how far, and whether it is ok."""

    ts: int
    done: float
    total: Optional[float]
    unit: Optional[str]
    ok: bool


def progress_series(raw_events: Iterable[Any]) -> Dict[str, List[Point]]:
    """Each worker's progress reports in time order, read from a job's raw events.

    Events that are not progress reports, or whose fields are unusable, are skipped: a chart is
    never refused because of one bad document.
    """
    found: Dict[str, List[Tuple[int, int, int, Point]]] = {}
    for position, event in enumerate(raw_events):
        point = _point(event)
        if point is not None:
            worker, seq, value = point
            found.setdefault(worker, []).append((value.ts, seq, position, value))
    series = {}
    for worker, points in found.items():
        points.sort(key=lambda entry: entry[:3])
        series[worker] = [entry[3] for entry in points]
    return series


def _point(event: Any) -> Optional[Tuple[str, int, Point]]:
    if type(event) is not dict:
        return None
    tracking = event.get("tracking")
    if type(tracking) is not dict or tracking.get("kind") != "progress":
        return None
    worker, numbers = tracking.get("worker"), tracking.get("progress")
    if type(worker) is not str or not worker or type(numbers) is not dict:
        return None
    done, total = _number(numbers.get("done")), _number(numbers.get("total"))
    ts = to_ms(tracking.get("ts"))
    if ts is None:
        ts = to_ms(event.get("start"))
    if done is None or ts is None:
        return None
    unit = numbers.get("unit")
    seq = tracking.get("seq")
    return worker, seq if type(seq) is int else -1, Point(
        ts, done, total, unit if type(unit) is str else None, tracking.get("ok") is not False)


def _number(value: Any) -> Optional[float]:
    if type(value) not in (int, float) or value != value or value in (float("inf"), float("-inf")):
        return None
    return float(value)


def fraction(point: Point, most: float) -> float:
    """How far along a point is, 0 to 1: ``done/total``, or relative to ``most`` without a total."""
    if point.total is not None and point.total > 0:
        value = point.done / point.total
    elif most > 0:
        value = point.done / most
    else:
        value = 0.0
    return min(1.0, max(0.0, value))


def progress_label(point: Point) -> str:
    """``3/10 files (30%)``: the numbers of one report as text."""
    text = _figure(point.done) if point.total is None else "%s/%s" % (_figure(point.done),
                                                                    _figure(point.total))
    if point.unit:
        text += " " + _cut(point.unit)
    if point.total:
        text += " (%d%%)" % int(100 * fraction(point, 0.0))
    return text


def job_span(job: Mapping[str, Any]) -> Tuple[Optional[int], Optional[int]]:
    """The time axis a job's chart should at least cover: its start (or submission) to its end (or now)."""
    begin = to_ms(job.get("started") or job.get("submitted"))
    end = to_ms(job.get("finished") or job.get("last_update"))
    return begin, end


def render_svg(series: Dict[str, List[Point]], *, title: str = "",
               span: Tuple[Optional[int], Optional[int]] = (None, None)) -> str:
    """The chart as a complete SVG document (``image/svg+xml``), with no external references.

    The time axis covers every point and, when given, ``span`` (ms since the epoch, see
    :func:`job_span`), so that a single report is drawn where it falls in the job's run.
    """
    workers = sorted(series)[:MAX_WORKERS]
    hidden = len(series) - len(workers)
    height = BAR_TOP + max(1, len(workers)) * (BAR_HEIGHT + BAR_GAP) + (20 if hidden else 0) + 8
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" class="progress-chart" width="%d" height="%d" '
             'viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">' % (WIDTH, height, WIDTH, height),
             "<title>%s</title>" % h(title or "progress by worker"),
             '<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>' % (WIDTH, height)]
    points = [point for worker in workers for point in series[worker]]
    if not points:
        parts.append('<text x="%d" y="%d" fill="#555555">No progress reported yet.</text>'
                     % (PLOT_LEFT, PLOT_TOP + 40))
        parts.append("</svg>")
        return "".join(parts)
    first = min([point.ts for point in points] + [when for when in span[:1] if type(when) is int])
    last = max([point.ts for point in points] + [when for when in span[1:] if type(when) is int])
    span = max(last - first, 1000)
    parts.extend(_axes(first, first + span))
    for index, worker in enumerate(workers):
        parts.extend(_series(worker, series[worker], index, first, span))
    if hidden:
        parts.append('<text x="8" y="%d" fill="#555555">and %d more worker%s not drawn</text>'
                     % (height - 12, hidden, "" if hidden == 1 else "s"))
    parts.append("</svg>")
    return "".join(parts)


def _axes(first: int, last: int) -> List[str]:
    parts = ['<g class="axes" stroke="#cccccc">']
    for percent in (0, 50, 100):
        y = _y(percent / 100.0)
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>' % (PLOT_LEFT, y, PLOT_RIGHT, y))
    parts.append("</g>")
    for percent in (0, 50, 100):
        parts.append('<text x="%d" y="%.1f" text-anchor="end" fill="#555555">%d%%</text>'
                     % (PLOT_LEFT - 6, _y(percent / 100.0) + 4, percent))
    parts.append('<text x="%d" y="%d" fill="#555555">%s</text>' % (PLOT_LEFT, PLOT_BOTTOM + 16,
                                                                   _clock(first)))
    parts.append('<text x="%d" y="%d" text-anchor="end" fill="#555555">%s UTC</text>'
                 % (PLOT_RIGHT, PLOT_BOTTOM + 16, _clock(last)))
    return parts


def _series(worker: str, points: List[Point], index: int, first: int, span: int) -> List[str]:
    latest = points[-1]
    failed = not latest.ok
    colour = PALETTE[index % len(PALETTE)]
    most = max(point.done for point in points)
    drawn = _thin(points)
    coordinates = [(_x(point.ts, first, span), _y(fraction(point, most)), point.ok) for point in drawn]
    parts = ['<g class="series%s" data-worker="%s">' % (" failed" if failed else "", h(worker)),
             "<title>%s</title>" % h("%s: %s%s" % (worker, progress_label(latest),
                                                         "" if latest.ok else " (failed)"))]
    for run_ok, run in _runs(coordinates):
        stroke = colour if run_ok else FAILED_COLOUR
        if len(run) == 1:
            x, y = run[0]
            parts.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>' % (x, y, stroke))
        else:
            parts.append('<polyline fill="none" stroke-width="2" stroke="%s" points="%s"/>'
                         % (stroke, " ".join("%.1f,%.1f" % xy for xy in run)))
    top = BAR_TOP + index * (BAR_HEIGHT + BAR_GAP)
    fill = FAILED_COLOUR if failed else colour
    share = fraction(latest, most)
    parts.append('<text x="8" y="%d" fill="%s">%s</text>' % (top + 12, colour, h(_cut(worker))))
    parts.append('<rect class="worker-track" x="%d" y="%d" width="%d" height="%d" fill="#eeeeee" rx="3"/>'
                 % (BAR_LEFT, top, BAR_WIDTH, BAR_HEIGHT))
    parts.append('<rect class="worker-bar" x="%d" y="%d" width="%.1f" height="%d" fill="%s" rx="3"/>'
                 % (BAR_LEFT, top, BAR_WIDTH * share, BAR_HEIGHT, fill))
    parts.append('<text x="%d" y="%d" fill="#333333">%s</text>'
                 % (BAR_LEFT + BAR_WIDTH + 10, top + 12,
                    h(progress_label(latest) + ("" if latest.ok else " failed"))))
    parts.append("</g>")
    return parts


def _runs(coordinates: List[Tuple[float, float, bool]]) -> List[Tuple[bool, List[Tuple[float, float]]]]:
    """Split a line where ``ok`` changes; a segment takes the ``ok`` of the point it leads to."""
    runs: List[Tuple[bool, List[Tuple[float, float]]]] = []
    for x, y, ok in coordinates:
        if runs and runs[-1][0] == ok:
            runs[-1][1].append((x, y))
        elif runs:
            runs.append((ok, [runs[-1][1][-1], (x, y)]))
        else:
            runs.append((ok, [(x, y)]))
    return runs


def _thin(points: List[Point]) -> List[Point]:
    if len(points) <= MAX_POINTS:
        return points
    step = len(points) / float(MAX_POINTS - 1)
    kept = [points[int(index * step)] for index in range(MAX_POINTS - 1)]
    kept.append(points[-1])
    return kept


def _x(ts: int, first: int, span: int) -> float:
    return PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * (ts - first) / float(span)


def _y(share: float) -> float:
    return PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * share


def _clock(ms: int) -> str:
    text = ms_to_iso(ms)
    return text[:10] + " " + text[11:19]


def _figure(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else "%g" % value


def _cut(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1] + "\u2026"
