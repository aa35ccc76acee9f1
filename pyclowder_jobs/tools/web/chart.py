"""Each worker's progress on one job, drawn as a standalone SVG image.

The input is the job's raw events (what ``Store.raw_events`` returns): every status reply whose
``tracking.kind`` is ``progress`` is a point ``(time, done, total)`` of the worker that sent it.
The chart has a line per worker (fraction done over time, in the worker's colour, which also
labels its bar) and, below it, a bar per worker with its latest numbers.  A worker whose latest
update says ``ok`` is false (the progress API's ``ok=0``) has a red bar, and the part of its line
that leads to a failed update is red.  ``templates/chart.svg`` draws it, autoescaped, so a hostile
worker name or unit cannot break out of the image.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, NamedTuple, Optional, Tuple

from ...protocol.times import ms_to_iso, to_ms
from .markup import render

#: How many of a job's latest status events a chart draws (a long job's last stretch).
CHART_EVENTS = 2000
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
               span: Tuple[Optional[int], Optional[int]] = (None, None), empty: str = "No progress reported.") -> str:
    """The chart as a complete SVG document (``image/svg+xml``), with no external references.

    The time axis covers every point and, when given, ``span`` (ms since the epoch, see
    :func:`job_span`), so that a single report is drawn where it falls in the job's run.  Without
    any point the chart holds the text ``empty``.
    """
    return render("chart.svg", **drawing(series, title=title, span=span, empty=empty))


def drawing(series: Dict[str, List[Point]], *, title: str = "",
            span: Tuple[Optional[int], Optional[int]] = (None, None), empty: str = "") -> Dict[str, Any]:
    """What ``chart.svg`` draws: the size, the axes and, per worker, its line and bar (coordinates and labels)."""
    workers = sorted(series)[:MAX_WORKERS]
    hidden = len(series) - len(workers)
    height = BAR_TOP + max(1, len(workers)) * (BAR_HEIGHT + BAR_GAP) + (20 if hidden else 0) + 8
    found: Dict[str, Any] = {"width": WIDTH, "height": height, "title": title or "progress by worker",
                             "empty": empty, "hidden": hidden, "axes": None, "series": [],
                             "plot": (PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM)}
    points = [point for worker in workers for point in series[worker]]
    if not points:
        return found
    first = min([point.ts for point in points] + [when for when in span[:1] if type(when) is int])
    last = max([point.ts for point in points] + [when for when in span[1:] if type(when) is int])
    length = max(last - first, 1000)
    found["axes"] = {"lines": [round(_y(percent / 100.0), 1) for percent in (0, 50, 100)],
                     "labels": [(percent, round(_y(percent / 100.0) + 4, 1)) for percent in (0, 50, 100)],
                     "first": _clock(first), "last": _clock(first + length)}
    found["series"] = [_series(worker, series[worker], index, first, length) for index, worker in enumerate(workers)]
    return found


def _series(worker: str, points: List[Point], index: int, first: int, span: int) -> Dict[str, Any]:
    latest = points[-1]
    failed = not latest.ok
    colour = PALETTE[index % len(PALETTE)]
    most = max(point.done for point in points)
    coordinates = [(_x(point.ts, first, span), _y(fraction(point, most)), point.ok) for point in _thin(points)]
    runs = [{"colour": colour if run_ok else FAILED_COLOUR, "points": ["%.1f" % value for value in run[0]]
             if len(run) == 1 else " ".join("%.1f,%.1f" % xy for xy in run), "dot": len(run) == 1}
            for run_ok, run in _runs(coordinates)]
    top = BAR_TOP + index * (BAR_HEIGHT + BAR_GAP)
    return {"worker": worker, "failed": failed, "colour": colour, "runs": runs,
            "summary": "%s: %s%s" % (worker, progress_label(latest), "" if latest.ok else " (failed)"),
            "name": _cut(worker), "top": top, "bar_left": BAR_LEFT, "bar_width": BAR_WIDTH, "bar_height": BAR_HEIGHT,
            "share": "%.1f" % (BAR_WIDTH * fraction(latest, most)), "fill": FAILED_COLOUR if failed else colour,
            "label": progress_label(latest) + ("" if latest.ok else " failed")}


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
