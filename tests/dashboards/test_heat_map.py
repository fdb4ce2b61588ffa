"""The heat map of item means: a fine sequential scale, weaker darker in colour and in grey,
a legend that says what the cells show, and an item a row so none scrolls out of sight."""

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from coaching.models import ItemMonth
from miiwrap.dashboards.leader import HEAT_LEGEND, heat_step
from tests.factories import rubric_version

LEADER = reverse("dashboards:leader")
CSS = Path(settings.BASE_DIR) / "static" / "css" / "miiwrap.css"
# Shares of their range each item's mean is made to be: 79.9 and 80 once flipped colour.
SHARES = (37.5, 79.9, 80.0)


@pytest.mark.parametrize(
    "share, step",
    [(0, 0), (4.9, 0), (5, 1), (37.5, 7), (79.9, 15), (80.0, 16), (99.9, 19), (100, 19)],
)
def test_each_five_points_of_the_share_is_a_step(share, step):
    assert heat_step(share) == step


def test_shares_outside_the_range_keep_to_the_ends():
    assert (heat_step(-3), heat_step(104)) == (0, 19)


@pytest.fixture
def items(world, frozen):
    """North's May means on three rating items, at SHARES of each item's range."""
    version = rubric_version()
    rated = [item for item in version.items.all() if item.kind == "rating"][:3]
    sums = {}
    for item, share in zip(rated, reversed(SHARES), strict=True):
        mean = item.scale_min + share / 100 * (item.scale_max - item.scale_min)
        sums[item.code] = [10 * mean, 10]
    ItemMonth.objects.create(
        organization=world.home,
        team_id=world.team_a.pk,
        rubric=version.rubric,
        month=dt.date(2026, 5, 1),
        sums=sums,
    )
    world.rated = rated
    return world


def test_cells_take_the_shade_of_their_share_weakest_first(items, login):
    page = login(items.leader).get(LEADER).content.decode()
    section = page.split('data-table="items"', 1)[1].split("<tbody>", 1)[1].split("</tbody>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", section, re.S)
    read = [re.findall(r'<t[hd][^>]*class="([^"]*)">([^<]*)</t[hd]>', row) for row in rows]
    # Everyone's and North's cells alike (North is everyone here), weakest item first.
    assert [cells[0][1] for cells in read] == [item.label for item in reversed(items.rated)]
    assert [cells[1] for cells in read] == [
        ("text-end heat-7", "37.5"),
        ("text-end heat-15", "79.9"),
        ("text-end heat-16", "80"),
    ]
    assert [cells[2] for cells in read] == [cells[1] for cells in read]


def test_the_map_grows_down_the_page_not_across(items, login):
    response = login(items.leader).get(LEADER)
    download = response.client.get(LEADER, {"export": "items"})
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert rows[0] == ["Item", "Everyone", "North"]  # a column a team, however many items
    assert len(rows) == 1 + len(SHARES)


def test_the_legend_shows_every_step_darkest_weakest(items, login):
    page = login(items.leader).get(LEADER).content.decode()
    legend = page.split('class="heat-legend-steps"', 1)[1].split("</div>", 1)[0]
    assert re.findall(r'class="(heat-\d+)"', legend) == [f"heat-{n}" for n in range(20)]
    assert HEAT_LEGEND["steps"] == [f"heat-{n}" for n in range(20)]
    assert "Darker is weaker" in page
    assert "Darker cells are weaker" not in page  # the old wording, over a two-tone map


def shades():
    """{step: (background, text colour)} from the stylesheet."""
    found = re.findall(
        r"\.heat-(\d+) \{ background: (#[0-9a-f]{6}) !important; color: (#[0-9a-f]{3,6})",
        CSS.read_text(),
    )
    return {int(step): (background, text) for step, background, text in found}


def luminance(hex_colour):
    """WCAG relative luminance: what a reader in grey, or with any colour vision, sees."""
    hex_colour = hex_colour.lstrip("#")
    if len(hex_colour) == 3:
        hex_colour = "".join(c * 2 for c in hex_colour)
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_the_shades_grow_lighter_step_by_step_so_grey_keeps_the_order():
    found = shades()
    assert sorted(found) == list(range(20))
    lightness = [luminance(found[step][0]) for step in range(20)]
    assert lightness == sorted(set(lightness))  # strictly lighter at each step
    assert lightness[0] < 0.05 and lightness[-1] > 0.8  # from near-navy to near-white


def test_every_shade_is_one_hue_and_its_text_keeps_contrast():
    for background, text in shades().values():
        red, green, blue = (int(background[i : i + 2], 16) for i in (1, 3, 5))
        assert blue >= green >= red  # a blue throughout: no red-green pair to confuse
        darker, lighter = sorted([luminance(background), luminance(text)])
        assert (lighter + 0.05) / (darker + 0.05) >= 4.5
