"""The per-worker progress chart: read from raw events, drawn as SVG that parses as XML."""
import xml.etree.ElementTree as ElementTree

from web_events import HOSTILE, progress, reply, sample_events

from pyclowder_jobs.tools.web import chart
from pyclowder_jobs.tools.web.chart import FAILED_COLOUR, Point, progress_series, render_svg

SVG = "{http://www.w3.org/2000/svg}"


def series_groups(document: str):
    root = ElementTree.fromstring(document)
    assert root.tag == SVG + "svg"
    return {group.get("data-worker"): group for group in root.iter(SVG + "g")
            if "series" in (group.get("class") or "").split()}


def colours(group) -> set:
    return {element.get("stroke") or element.get("fill") for element in group
            if element.tag in (SVG + "polyline", SVG + "circle")} | {
        element.get("fill") for element in group if element.get("class") == "worker-bar"}


def test_series_are_read_per_worker_in_time_order():
    series = progress_series(reversed(sample_events()))
    assert sorted(series) == ["worker-a", "worker-b"]
    assert [(point.done, point.total, point.ok) for point in series["worker-a"]] == [(3, 10, True), (7, 10, True)]
    assert [point.ok for point in series["worker-b"]] == [True, False]


def test_events_that_are_not_usable_progress_are_skipped():
    bad_numbers = progress(5, 1, 10)
    bad_numbers["tracking"]["progress"]["done"] = float("nan")
    no_worker = progress(5, 1, 10)
    del no_worker["tracking"]["worker"]
    no_time = progress(5, 1, 10)
    no_time["tracking"]["ts"] = "yesterday"
    no_time["start"] = None
    boolean = progress(5, 1, 10)
    boolean["tracking"]["progress"]["done"] = True
    events = [None, "text", {}, {"tracking": "x"}, reply("StatusMessage.start", "go", 1), bad_numbers,
              no_worker, no_time, boolean, progress(6, 2, 10)]
    assert [point.done for point in progress_series(events)["worker-a"]] == [2]


def test_chart_has_one_series_per_worker_and_parses_as_xml():
    document = render_svg(progress_series(sample_events()), title="job")
    groups = series_groups(document)
    assert sorted(groups) == ["worker-a", "worker-b"]
    assert FAILED_COLOUR not in colours(groups["worker-a"])


def test_a_failed_worker_is_red():
    groups = series_groups(render_svg(progress_series(sample_events())))
    failed = groups["worker-b"]
    assert "failed" in failed.get("class").split()
    assert FAILED_COLOUR in colours(failed)
    bar = [element for element in failed if element.get("class") == "worker-bar"][0]
    assert bar.get("fill") == FAILED_COLOUR
    assert float(bar.get("width")) == chart.BAR_WIDTH * 0.5


def test_a_worker_that_recovers_is_drawn_in_its_own_colour_again():
    events = [progress(1, 1, 4, ok=False), progress(2, 2, 4), progress(3, 3, 4)]
    group = series_groups(render_svg(progress_series(events)))["worker-a"]
    assert "failed" not in group.get("class").split()
    lines = [element.get("stroke") for element in group if element.tag == SVG + "polyline"]
    assert lines == [chart.PALETTE[0]]
    assert [element.get("fill") for element in group if element.tag == SVG + "circle"] == [FAILED_COLOUR]


def test_progress_without_a_total_is_relative_to_the_largest_value():
    events = [progress(1, 5, None), progress(2, 20, None)]
    group = series_groups(render_svg(progress_series(events)))["worker-a"]
    bar = [element for element in group if element.get("class") == "worker-bar"][0]
    assert float(bar.get("width")) == chart.BAR_WIDTH
    assert chart.progress_label(Point(0, 20, None, "files", True)) == "20 files"


def test_hostile_worker_names_and_units_stay_text():
    events = [progress(1, 1, 3, worker="w", unit=HOSTILE)]
    events[0]["tracking"]["worker"] = HOSTILE
    document = render_svg(progress_series(events), title=HOSTILE)
    groups = series_groups(document)
    assert len(groups) == 1
    assert "<script>" not in document


def test_an_empty_chart_says_so():
    document = render_svg({})
    assert series_groups(document) == {}
    assert "No progress reported." in document
    assert "nothing yet" in render_svg({}, empty="nothing yet")


def test_many_workers_and_many_points_are_bounded():
    series = {"w%03d" % number: [Point(1000 * step, step, 500, None, True) for step in range(1000)]
              for number in range(chart.MAX_WORKERS + 3)}
    document = render_svg(series)
    groups = series_groups(document)
    assert len(groups) == chart.MAX_WORKERS
    assert "and 3 more workers not drawn" in document
    line = [element for element in groups["w000"] if element.tag == SVG + "polyline"][0]
    assert len(line.get("points").split()) == chart.MAX_POINTS


def test_the_time_axis_covers_the_whole_job():
    events = [progress(60, 1, 2)]
    start, end = progress(0, 0, 2)["tracking"]["ts"], progress(120, 0, 2)["tracking"]["ts"]
    span = chart.job_span({"started": start, "last_update": end})
    assert span[1] - span[0] == 120000
    group = series_groups(render_svg(progress_series(events), span=span))["worker-a"]
    dot = [element for element in group if element.tag == SVG + "circle"][0]
    assert float(dot.get("cx")) == (chart.PLOT_LEFT + chart.PLOT_RIGHT) / 2
    assert chart.job_span({"started": None, "submitted": None, "last_update": "?"}) == (None, None)
