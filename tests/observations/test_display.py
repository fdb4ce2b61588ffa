"""How scores read on the pages: numbers, dashes and band colours (no database)."""

from fractions import Fraction

import pytest

from observations import display, scoring

BANDS = ("high", "adequate", "borderline", "low")


@pytest.mark.parametrize(
    ("kind", "value", "text"),
    [
        (scoring.PERCENT_OF_POSSIBLE, 88.24, "88.24 %"),
        (scoring.PERCENT_OF_POSSIBLE, 85.0, "85 %"),
        (scoring.PERCENT, 40.5, "40.5 %"),
        (scoring.MEAN, 3.5, "3.5"),
        (scoring.RATIO, 1.0, "1"),
        (scoring.SUM, 12, "12"),
        (scoring.RATIO, None, "—"),
        (scoring.PERCENT, Fraction(85), "85 %"),
    ],
)
def test_values_read_as_people_write_them(kind, value, text):
    assert display.format_value(kind, value) == text


@pytest.mark.parametrize(
    ("bands", "band", "css"),
    [
        (BANDS, "high", "text-bg-success"),
        (BANDS, "adequate", "text-bg-primary"),
        (BANDS, "borderline", "text-bg-warning"),
        (BANDS, "low", "text-bg-danger"),
        (("good", "fair", "below fair"), "fair", "text-bg-warning"),
        (BANDS, "", "text-bg-secondary"),
        (BANDS, "retired band", "text-bg-secondary"),
    ],
)
def test_bands_are_coloured_by_rank(bands, band, css):
    assert display.band_class(bands, band) == css


def test_the_preview_reads_a_plain_dict_too():
    rubric = scoring.RubricDef(
        items=(scoring.ItemDef("a", "A", scoring.COUNT), scoring.ItemDef("b", "B", scoring.COUNT)),
        metrics=(scoring.MetricDef("ab", "A over B", scoring.RATIO, ("a",), ("b",)),),
    )
    assert display.preview_scores(rubric, {"item__a": "3", "item__b": "x"}) == {"a": 3}
    assert display.preview_summary(rubric, {"item__a": "3", "item__b": "0"}).rows[0].value == "—"
    assert display.preview_summary(rubric, {"item__a": "3", "item__b": "2"}).rows[0].value == "1.5"
