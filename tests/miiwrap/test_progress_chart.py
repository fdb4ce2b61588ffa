"""The chart of a coaching goal's progress: the points at their dates, the level before,
the target, the plan's start and the band since, well-formed and readable in grey. No
database: the chart is a plain function of its arguments."""

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from django.utils.safestring import SafeString

from miiwrap import charts

SVG = "{http://www.w3.org/2000/svg}"
START = dt.date(2026, 4, 1)
POINTS = [
    (dt.date(2026, 1, 10), 43.0),
    (dt.date(2026, 3, 10), 28.0),
    (dt.date(2026, 4, 15), 42.0),
    (dt.date(2026, 5, 15), 52.0),
]


def parsed(svg):
    return ET.fromstring(str(svg))


def drawn(**overrides):
    arguments = {
        "title": "Complex reflections",
        "points": POINTS,
        "started_on": START,
        "declined_on": dt.date(2026, 3, 1),
        "before": 46.0,
        "target": 50.0,
        "since": (47.0, 6.0),
        "unit": "%",
        **overrides,
    }
    return parsed(charts.progress_chart(**arguments))


def marked(svg, tag, attribute):
    return {e.get(attribute): e for e in svg.iter(SVG + tag) if e.get(attribute) is not None}


def test_the_chart_is_safe_markup_for_a_template():
    svg = charts.progress_chart(title="Reflections", points=POINTS, started_on=START)
    assert isinstance(svg, SafeString)
    assert str(svg).startswith("<svg")


def test_points_lie_left_to_right_by_date_and_high_to_low_by_value():
    svg = drawn()
    dots = [c for c in svg.iter(SVG + "circle") if c.get("data-day")]
    xs = [float(c.get("cx")) for c in dots]
    ys = {c.get("data-value"): float(c.get("cy")) for c in dots}
    assert xs == sorted(xs)
    # Dates a month apart sit a month's width apart: 10 March to 15 April is 36 days,
    # 15 April to 15 May 30 (coordinates are written to a tenth).
    assert (xs[2] - xs[1]) / (xs[3] - xs[2]) == pytest.approx(36 / 30, abs=0.01)
    assert ys["52"] < ys["43"] < ys["42"] < ys["28"]


def test_the_lines_sit_at_their_values_and_say_them():
    svg = drawn()
    lines = marked(svg, "line", "data-line")
    dots = {c.get("data-value"): c for c in svg.iter(SVG + "circle") if c.get("data-day")}
    # 42 and 52 straddle the since line at 47, halfway between them.
    halfway = (float(dots["42"].get("cy")) + float(dots["52"].get("cy"))) / 2
    assert float(lines["since"].get("y1")) == pytest.approx(halfway, abs=0.1)
    assert float(lines["target"].get("y1")) < float(lines["since"].get("y1"))
    assert float(lines["before"].get("y1")) > float(lines["since"].get("y1"))
    assert lines["before"].get("stroke-dasharray") != lines["target"].get("stroke-dasharray")
    names = [t.text for t in svg.iter(SVG + "text")]
    assert {"before 46 %", "target 50 %", "since 47 %"} <= set(names)


def test_the_band_spans_the_interval_from_the_start_to_the_right_edge():
    svg = drawn()
    band = marked(svg, "rect", "data-band")["since"]
    start = marked(svg, "line", "data-mark")["start"]
    lines = marked(svg, "line", "data-line")
    assert float(band.get("x")) == pytest.approx(float(start.get("x1")))
    assert float(band.get("x")) + float(band.get("width")) == pytest.approx(
        float(lines["target"].get("x2"))
    )
    top, bottom = float(band.get("y")), float(band.get("y")) + float(band.get("height"))
    assert top < float(lines["since"].get("y1")) < bottom
    assert (band.get("data-low"), band.get("data-high")) == ("41", "53")


def test_without_an_interval_the_mean_since_is_drawn_without_a_band():
    svg = drawn(since=(47.0, None))
    assert "since" in marked(svg, "line", "data-line")
    assert not marked(svg, "rect", "data-band")


def test_without_a_decline_date_only_the_start_is_marked():
    svg = drawn(declined_on=None)
    assert list(marked(svg, "line", "data-mark")) == ["start"]
    assert "Decline" not in [t.text for t in svg.iter(SVG + "text")]


def test_the_description_says_every_number_for_a_screen_reader():
    description = drawn().find(SVG + "desc").text
    assert description == (
        "Observations: 2026-01-10 43 %, 2026-03-10 28 %, 2026-04-15 42 %, 2026-05-15 52 %. "
        "Plan started 2026-04-01. Decline 2026-03-01. Before: 46 %. Target: 50 %. "
        "Since the plan started: 47 % ± 6"
    )
    svg = drawn()
    assert svg.get("aria-labelledby") == svg.find(SVG + "title").get("id")
    assert svg.get("aria-describedby") == svg.find(SVG + "desc").get("id")


def test_a_title_is_escaped():
    svg = charts.progress_chart(title="<b>Tom & Jerry</b>", points=POINTS, started_on=START)
    assert "<b>" not in str(svg)
    assert parsed(svg).find(SVG + "title").text == "<b>Tom & Jerry</b>"


def test_a_metric_in_its_own_unit_reads_without_a_percent_sign():
    svg = drawn(
        points=[(dt.date(2026, 4, 10), 3.5)], before=4.2, target=4.0, since=(3.5, 0.4), unit=""
    )
    names = [t.text for t in svg.iter(SVG + "text")]
    assert "before 4.2" in names and "target 4" in names
    ticks = [float(e.get("data-tick")) for e in svg.iter(SVG + "line") if e.get("data-tick")]
    assert min(ticks) <= 3.1 and max(ticks) >= 4.2


def test_a_decline_at_the_left_edge_is_named_to_its_right_a_line_lower():
    svg = drawn(declined_on=dt.date(2025, 12, 1))
    named = next(t for t in svg.iter(SVG + "text") if t.text == "Decline")
    mark = marked(svg, "line", "data-mark")["decline"]
    assert named.get("text-anchor") == "start"
    assert float(named.get("x")) > float(mark.get("x1"))
    started = next(t for t in svg.iter(SVG + "text") if t.text == "Plan started")
    assert float(named.get("y")) > float(started.get("y"))


def test_a_start_at_the_chart_s_right_edge_is_named_to_its_left():
    svg = parsed(
        charts.progress_chart(
            title="Reflections",
            points=[(dt.date(2026, 1, 5), 60.0), (dt.date(2026, 3, 5), 40.0)],
            started_on=dt.date(2026, 3, 5),
            before=60.0,
            target=70.0,
            unit="%",
        )
    )
    named = next(t for t in svg.iter(f"{SVG}text") if t.text == "Plan started")
    assert named.get("text-anchor") == "end"
    start = next(line for line in svg.iter(f"{SVG}line") if line.get("data-mark") == "start")
    assert float(named.get("x")) < float(start.get("x1"))
    # No band and no mean since without observations since.
    assert not [line for line in svg.iter(f"{SVG}line") if line.get("data-line") == "since"]


def test_two_dates_too_close_to_print_apart_show_the_last_alone():
    points = [(dt.date(2026, 4, 2), 50.0), (dt.date(2026, 4, 3), 55.0)]
    svg = parsed(
        charts.progress_chart(
            title="Reflections",
            points=points,
            started_on=dt.date(2026, 4, 1),
            declined_on=dt.date(2025, 4, 1),  # a year of plot: a day is 2 pixels
            unit="%",
        )
    )
    dates = [t.text for t in svg.iter(f"{SVG}text") if t.text and t.text.startswith("2026-")]
    assert dates == ["2026-04-03"]


def test_a_percentage_band_is_cut_at_100():
    svg = parsed(
        charts.progress_chart(
            title="Indicators",
            points=[(dt.date(2026, 4, 10), 100.0)],
            started_on=dt.date(2026, 4, 1),
            since=(95.0, 12.0),
            unit="%",
        )
    )
    ticks = [
        float(line.get("data-tick")) for line in svg.iter(f"{SVG}line") if line.get("data-tick")
    ]
    assert max(ticks) == 100
    band = next(r for r in svg.iter(f"{SVG}rect") if r.get("data-band") == "since")
    assert band.get("data-high") == "107"  # said as computed, drawn only up to 100
    assert float(band.get("y")) >= 14.0  # not above the plot's top
