"""The server-side SVG charts: well-formed, carrying their numbers, escaped, never dividing
by zero. No database: the charts are plain functions of their arguments."""

import itertools
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.utils.safestring import SafeString

from miiwrap.charts import BAND_COLORS, NO_DATA, bar_chart, format_number, line_chart

SVG = "{http://www.w3.org/2000/svg}"
MONTHS = ["Dec 2025", "Jan 2026", "Feb 2026", "Mar 2026"]
BANDS = [("high", 85), ("adequate", 75), ("borderline", 65)]


def parse(svg):
    return ET.fromstring(str(svg))


def elements(root, tag, **attributes):
    """Elements of a tag whose attributes (data_series for data-series) are as given."""
    wanted = {key.replace("_", "-"): value for key, value in attributes.items()}
    return [
        element
        for element in root.iter(SVG + tag)
        if all(element.get(key) == value for key, value in wanted.items())
    ]


def with_attribute(root, tag, name):
    return [element for element in root.iter(SVG + tag) if element.get(name) is not None]


def texts(root):
    return [element.text for element in root.iter(SVG + "text")]


def team_chart(**overrides):
    arguments = {
        "title": "Fidelity by team",
        "labels": MONTHS,
        "series": [("North team", [80, Decimal("82.50"), 79.04, 81])],
        "thresholds": BANDS,
        "unit": "%",
    }
    return line_chart(**{**arguments, **overrides})


def ticks(root):
    return [float(line.get("data-tick")) for line in with_attribute(root, "line", "data-tick")]


# The SVG element itself.


def test_a_chart_is_one_svg_element_named_by_its_title():
    svg = team_chart()
    root = parse(svg)
    assert isinstance(svg, SafeString)
    assert root.tag == SVG + "svg"
    assert root.get("role") == "img"
    assert root.get("class") == "chart"
    assert root.get("preserveAspectRatio") == "xMinYMin meet"
    assert root.get("viewBox").startswith("0 0 ")
    title = root.find(SVG + "title")
    assert title.text == "Fidelity by team"
    assert root.get("aria-labelledby") == title.get("id")


def test_a_chart_sets_no_size_that_would_stop_it_scaling():
    root = parse(team_chart())
    assert root.get("width") is None
    assert root.get("height") is None


def test_a_chart_has_no_script_style_or_external_reference():
    for svg in (team_chart(), bar_chart(title="Bands", bars=[("high", 3)])):
        assert not re.search(r"<script|<style|style=|href|url\(|<image|<foreignObject", str(svg))


def test_the_same_title_always_gives_the_same_id():
    assert parse(team_chart()).get("aria-labelledby") == parse(team_chart()).get("aria-labelledby")


def test_two_titles_that_slug_alike_still_get_different_ids():
    first = parse(team_chart(title="Fidelity: North")).get("aria-labelledby")
    second = parse(team_chart(title="Fidelity (North)")).get("aria-labelledby")
    assert first.startswith("chart-fidelity-north-")
    assert first != second


def test_the_description_reads_out_every_number_for_screen_readers():
    root = parse(team_chart(series=[("North team", [80, None, 82.5, 79])]))
    desc = root.find(SVG + "desc")
    assert root.get("aria-describedby") == desc.get("id")
    assert "North team: Dec 2025 80 %, Jan 2026 no data, Feb 2026 82.5 %" in desc.text
    assert "Thresholds: high 85 %, adequate 75 %, borderline 65 %" in desc.text


# Points.


def test_each_point_carries_its_value():
    root = parse(team_chart())
    points = elements(root, "circle", data_series="North team")
    assert [point.get("data-label") for point in points] == MONTHS
    assert [point.get("data-value") for point in points] == ["80", "82.5", "79", "81"]


def test_each_point_has_a_title_naming_series_label_value_and_unit():
    root = parse(team_chart())
    (point,) = elements(root, "circle", data_label="Jan 2026")
    assert point.find(SVG + "title").text == "North team, Jan 2026: 82.5 %"


def test_a_point_title_has_no_trailing_space_without_a_unit():
    root = parse(team_chart(unit=""))
    (point,) = elements(root, "circle", data_label="Jan 2026")
    assert point.find(SVG + "title").text == "North team, Jan 2026: 82.5"


def test_a_higher_value_is_drawn_higher_up():
    root = parse(team_chart(series=[("North team", [60, 70, 80, 90])]))
    heights = [
        float(point.get("cy")) for point in elements(root, "circle", data_series="North team")
    ]
    assert heights == sorted(heights, reverse=True)
    assert len(set(heights)) == 4


# Broken lines.


def test_no_data_breaks_the_line_into_segments():
    labels = list("abcde")
    whole = line_chart(title="Whole", labels=labels, series=[("North", [80, 81, 82, 83, 84])])
    broken = line_chart(title="Broken", labels=labels, series=[("North", [80, 81, None, 83, 84])])
    assert len(elements(parse(whole), "polyline", data_series="North")) == 1
    assert len(elements(parse(broken), "polyline", data_series="North")) == 2


def test_a_point_with_no_data_has_no_marker():
    root = parse(team_chart(series=[("North team", [80, None, 82, 83])]))
    labels = [point.get("data-label") for point in with_attribute(root, "circle", "data-series")]
    assert labels == ["Dec 2025", "Feb 2026", "Mar 2026"]


def test_an_isolated_point_still_gets_its_marker():
    root = parse(team_chart(series=[("North team", [80, None, 82, None])]))
    assert elements(root, "polyline") == []
    assert len(with_attribute(root, "circle", "data-series")) == 2


def test_a_nan_counts_as_no_data():
    root = parse(team_chart(series=[("North team", [80, float("nan"), 82, 83])]))
    assert len(with_attribute(root, "circle", "data-series")) == 3
    assert len(elements(root, "polyline")) == 1


# Thresholds and the y range.


def test_thresholds_are_drawn_with_their_names_and_values():
    root = parse(team_chart())
    drawn = {
        line.get("data-threshold"): line.get("data-value")
        for line in with_attribute(root, "line", "data-threshold")
    }
    assert drawn == {"high": "85", "adequate": "75", "borderline": "65"}
    assert {"high 85", "adequate 75", "borderline 65"} <= set(texts(root))


def test_a_threshold_is_dashed_and_coloured_by_its_band():
    root = parse(team_chart())
    (line,) = elements(root, "line", data_threshold="high")
    assert line.get("stroke-dasharray")
    assert line.get("stroke") == BAND_COLORS["high"]


def test_the_y_range_includes_the_thresholds():
    root = parse(team_chart(series=[("North team", [40, 42, 44, 46])]))
    assert min(ticks(root)) <= 40
    assert max(ticks(root)) >= 85


def test_close_thresholds_get_labels_apart():
    root = parse(team_chart(thresholds=[("high", 75.2), ("adequate", 75)]))
    heights = [
        float(t.get("y")) for t in root.iter(SVG + "text") if t.text in {"high 75.2", "adequate 75"}
    ]
    assert abs(heights[0] - heights[1]) >= 12


def test_given_low_and_high_fix_the_y_range():
    root = parse(team_chart(low=0, high=100))
    assert min(ticks(root)) == 0
    assert max(ticks(root)) == 100


def test_a_derived_percentage_range_stops_at_100():
    root = parse(team_chart(series=[("North team", [90, 95, 100, 98])], thresholds=()))
    assert max(ticks(root)) == 100


def test_the_y_range_has_about_five_gridlines():
    for values in ([62, 71, 88, 79], [0.1, 0.2, 0.3, 0.7], [1200, 56000, 340, 7]):
        count = len(ticks(parse(team_chart(series=[("North team", values)], unit=""))))
        assert 5 <= count <= 7, values


def test_low_at_or_above_high_is_refused():
    with pytest.raises(ValueError, match="low"):
        team_chart(low=90, high=90)


def test_a_series_must_have_a_value_per_label():
    with pytest.raises(ValueError, match="North team"):
        team_chart(series=[("North team", [80, 81])])


# Degenerate input.


def test_a_single_value_still_draws():
    root = parse(line_chart(title="One", labels=["Jan 2026"], series=[("North team", [82.5])]))
    (point,) = with_attribute(root, "circle", "data-series")
    assert point.get("data-value") == "82.5"
    assert len(set(ticks(root))) >= 2


def test_equal_values_still_draw_on_a_range_around_them():
    root = parse(team_chart(series=[("North team", [80, 80, 80, 80])], thresholds=()))
    assert min(ticks(root)) < 80 < max(ticks(root))
    assert len({point.get("cy") for point in with_attribute(root, "circle", "data-series")}) == 1


def test_all_zero_values_still_draw():
    root = parse(team_chart(series=[("North team", [0, 0, 0, 0])], thresholds=()))
    assert min(ticks(root)) == 0 < max(ticks(root))


def test_no_values_draws_the_axes_and_says_so():
    root = parse(team_chart(series=[("North team", [None] * 4)], thresholds=()))
    assert NO_DATA in texts(root)
    assert with_attribute(root, "circle", "data-series") == []
    assert len(elements(root, "line", stroke="#888")) == 2


def test_no_labels_and_no_series_still_draw():
    root = parse(line_chart(title="Empty", labels=[], series=[]))
    assert NO_DATA in texts(root)


def test_a_chart_with_data_does_not_say_there_is_none():
    assert NO_DATA not in texts(parse(team_chart()))


# The x axis.


def test_up_to_twelve_labels_are_all_drawn():
    labels = [f"M{index:02}" for index in range(12)]
    root = parse(line_chart(title="Year", labels=labels, series=[("A", list(range(12)))]))
    assert [text for text in texts(root) if text in labels] == labels


def test_labels_thin_beyond_twelve_but_every_point_stays():
    labels = [f"Month {index:02}" for index in range(36)]
    root = parse(line_chart(title="Three years", labels=labels, series=[("A", list(range(36)))]))
    drawn = [text for text in texts(root) if text in labels]
    assert len(with_attribute(root, "circle", "data-series")) == 36
    assert 2 <= len(drawn) <= 12
    assert drawn[-1] == labels[-1]


def test_thinned_labels_do_not_overlap():
    labels = [f"Month {index:02}" for index in range(60)]
    root = parse(line_chart(title="Five years", labels=labels, series=[("A", list(range(60)))]))
    xs = [float(t.get("x")) for t in root.iter(SVG + "text") if t.text in labels]
    gaps = [later - earlier for earlier, later in itertools.pairwise(xs)]
    assert min(gaps) > len("Month 00") * 11 * 0.6


# Telling series apart.


def test_series_differ_by_more_than_colour():
    series = [(f"Team {index}", [70 + index, 71 + index]) for index in range(7)]
    root = parse(line_chart(title="Teams", labels=["a", "b"], series=series))
    looks = set()
    for name, _ in series:
        (line,) = elements(root, "polyline", data_series=name)
        marker = elements(root, "circle", data_series=name)[0]
        looks.add((line.get("stroke-dasharray"), marker.get("fill") == "#fff"))
    assert len(looks) == 7


def test_the_legend_has_an_entry_per_series():
    series = [("North team", [1, 2]), ("South team", [2, 3])]
    root = parse(line_chart(title="Teams", labels=["a", "b"], series=series))
    assert {"North team", "South team"} <= set(texts(root))


def test_a_long_legend_wraps_to_more_rows_and_a_taller_chart():
    names = [f"A rather long team name {index}" for index in range(10)]
    one = parse(line_chart(title="T", labels=["a"], series=[(names[0], [1])]))
    many = parse(line_chart(title="T", labels=["a"], series=[(name, [1]) for name in names]))
    rows = {t.get("y") for t in many.iter(SVG + "text") if t.text in names}
    assert len(rows) > 1
    assert float(many.get("viewBox").split()[3]) > float(one.get("viewBox").split()[3])


# Escaping.


def test_names_and_labels_are_escaped():
    name, label = '<Team & "A">', "<b>Jan</b>"
    svg = line_chart(title='<Chart & "B">', labels=[label], series=[(name, [80])])
    assert "<Team" not in str(svg)
    assert "<b>" not in str(svg)
    root = parse(svg)
    (point,) = with_attribute(root, "circle", "data-series")
    assert point.get("data-series") == name
    assert point.get("data-label") == label
    assert point.find(SVG + "title").text == f"{name}, {label}: 80"
    assert root.find(SVG + "title").text == '<Chart & "B">'


def test_bar_labels_are_escaped():
    svg = bar_chart(title="Bars", bars=[('<Team & "A">', 3)])
    assert "<Team" not in str(svg)
    (bar,) = elements(parse(svg), "rect")
    assert bar.get("data-label") == '<Team & "A">'


# Bar charts.


def band_bars(**overrides):
    arguments = {
        "title": "Observations by band",
        "bars": [("high", 12), ("adequate", 6), ("borderline", 0), ("low", 3.25)],
        "colors": BAND_COLORS,
    }
    return bar_chart(**{**arguments, **overrides})


def test_each_bar_carries_its_value_and_shows_it():
    root = parse(band_bars())
    bars = elements(root, "rect")
    assert [(bar.get("data-label"), bar.get("data-value")) for bar in bars] == [
        ("high", "12"),
        ("adequate", "6"),
        ("borderline", "0"),
        ("low", "3.3"),
    ]
    assert {"12", "6", "0", "3.3"} <= set(texts(root))


def test_each_bar_has_a_title_with_its_value_and_unit():
    root = parse(band_bars(bars=[("North", 82.46)], unit="%"))
    (bar,) = elements(root, "rect")
    assert bar.find(SVG + "title").text == "North: 82.5 %"
    assert "82.5 %" in texts(root)


def test_bars_take_their_colours_from_the_mapping():
    root = parse(band_bars())
    assert [bar.get("fill") for bar in elements(root, "rect")] == [
        BAND_COLORS[band] for band in ("high", "adequate", "borderline", "low")
    ]


def test_bar_lengths_follow_their_values():
    root = parse(bar_chart(title="Counts", bars=[("a", 10), ("b", 5)]))
    long, short = (float(bar.get("width")) for bar in elements(root, "rect"))
    assert short == pytest.approx(long / 2, abs=0.1)


def test_percentage_bars_are_measured_against_100():
    # 10.5 % is the widest value text in both, so both charts leave bars the same room.
    half = parse(bar_chart(title="P", bars=[("a", 50), ("b", 10.5)], unit="%"))
    full = parse(bar_chart(title="P", bars=[("a", 100), ("b", 10.5)], unit="%"))
    (half_bar,), (full_bar,) = (
        elements(half, "rect", data_label="a"),
        elements(full, "rect", data_label="a"),
    )
    assert float(half_bar.get("width")) == pytest.approx(float(full_bar.get("width")) / 2, abs=0.1)


def test_a_zero_bar_still_shows_its_value():
    root = parse(band_bars())
    (bar,) = elements(root, "rect", data_label="borderline")
    assert float(bar.get("width")) == 0
    assert "0" in texts(root)


def test_all_zero_bars_do_not_divide_by_zero():
    root = parse(bar_chart(title="Nothing yet", bars=[("a", 0), ("b", 0)]))
    assert [bar.get("data-value") for bar in elements(root, "rect")] == ["0", "0"]
    assert texts(root).count("0") == 2


def test_no_bars_say_there_is_no_data():
    root = parse(bar_chart(title="Nothing", bars=[]))
    assert elements(root, "rect") == []
    assert NO_DATA in texts(root)


def test_a_negative_bar_is_refused():
    with pytest.raises(ValueError):
        bar_chart(title="Bad", bars=[("a", -1)])


def test_a_long_bar_label_is_shortened_but_kept_whole_in_its_data():
    label = "An organization with a name far longer than the label column"
    root = parse(bar_chart(title="Long", bars=[(label, 3)]))
    (bar,) = elements(root, "rect")
    assert bar.get("data-label") == label
    assert label not in texts(root)


# Numbers.


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (3, "3"),
        (3.0, "3"),
        (Decimal("82.50"), "82.5"),
        (Decimal("3.00"), "3"),
        (82.46, "82.5"),
        (82.45, "82.5"),
        (82.96, "83"),
        (1234567.0, "1234567"),
        (1e20, "100000000000000000000"),
        (0.00001, "0"),
        (-0.04, "0"),
        (-2.25, "-2.3"),
        (float("nan"), "—"),
    ],
)
def test_format_number_reads(value, text):
    assert format_number(value) == text


def test_a_narrow_bar_chart_keeps_its_bars_inside_its_width():
    bars = [("Certified", 40), ("Lapsed", 4)]
    svg = parse(bar_chart(title="Narrow", bars=bars, width=300))
    assert svg.get("viewBox").startswith("0 0 300 ")
    widest = max(float(r.get("x")) + float(r.get("width")) for r in elements(svg, "rect"))
    assert 200 < widest < 300


# A partial month.


def partial_chart():
    """March is three days old: 70 against about 81 before."""
    return parse(team_chart(series=[("North team", [80, 82, 81, 70])], partial=[3]))


def test_a_partial_point_is_hollow_with_a_dashed_rim_and_says_so_far():
    root = partial_chart()
    march, *_ = elements(root, "circle", data_label="Mar 2026")
    february, *_ = elements(root, "circle", data_label="Feb 2026")
    assert (march.get("data-partial"), march.get("fill")) == ("true", "#fff")
    assert march.get("stroke-dasharray")
    assert (february.get("data-partial"), february.get("fill")) == (None, "#0072B2")
    assert march.find(SVG + "title").text == "North team, Mar 2026 (so far): 70 %"


def test_the_line_reaches_a_partial_point_faint_and_dotted():
    lines = elements(partial_chart(), "polyline", data_series="North team")
    assert [line.get("data-partial") for line in lines] == [None, "true"]
    whole, faint = (line.get("points").split() for line in lines)
    assert (len(whole), len(faint)) == (3, 2)  # Dec to Feb; then Feb to Mar alone
    assert faint[0] == whole[-1]
    assert lines[1].get("stroke-dasharray") == "1 4"


def test_a_partial_month_is_shaded_labelled_and_described():
    root = partial_chart()
    [column] = elements(root, "rect", data_partial="Mar 2026")
    [note] = elements(root, "text", data_partial="Mar 2026")
    assert note.text == "so far"
    march_x = float(elements(root, "circle", data_label="Mar 2026")[0].get("cx"))
    left, width = float(column.get("x")), float(column.get("width"))
    assert left < march_x <= left + width
    assert "Mar 2026 (so far) 70 %" in root.find(SVG + "desc").text


def test_without_a_partial_month_nothing_is_marked():
    root = parse(team_chart())
    assert not with_attribute(root, "circle", "data-partial")
    assert not with_attribute(root, "rect", "data-partial")
    assert "so far" not in texts(root)
