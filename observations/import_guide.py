"""What the observation import page tells an admin, read from what the importer reads.

The fixed columns come from imports.COLUMNS (the list the importer checks a file
against), the item columns and their values from the published rubric versions and the
scoring rules, and the example file is built from both: so the page, the example and the
importer cannot drift apart.
"""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from miiwrap.spreadsheet import csv_download, csv_lines
from observations import imports, scoring
from observations.models import ActivityType, Observation, RubricVersion

# The example file names these people: whoever imports puts their own in their place.
EXAMPLE_PRACTITIONER = "practitioner.example@example.org"
EXAMPLE_COACH = "coach.example@example.org"
EXAMPLE_FEEDBACK = {
    "strengths": "Reflected the parent's worry before asking about the plan.",
    "growth_areas": "Summarize the team's ideas before choosing one (item: team decisions).",
    "next_steps": "Open the next team meeting with a summary of last month's progress.",
}
EXAMPLE_COUNT = 3


@dataclass(frozen=True)
class ItemColumn:
    code: str
    label: str
    required: bool
    holds: str
    example: str


def published_versions():
    """Every published version, its rubric, items and metrics read at once: rubrics of
    practice first, by name, each rubric's newest version first."""
    versions = RubricVersion.objects.of_people().published().with_structure()
    return sorted(versions, key=lambda v: (v.rubric.observes_coaching, v.rubric.name, -v.number))


def item_columns(version):
    """[ItemColumn] of one version, in the form's order: what each item's cell holds."""
    items = sorted(version.items.all(), key=lambda i: (i.position, i.pk))
    # The first item that may be not applicable shows `na`, so the example has one.
    na = next((i.code for i in items if i.allows_na), None)
    return [
        ItemColumn(i.code, i.label, i.required, _holds(i), _example(i, i.code == na)) for i in items
    ]


def _holds(item):
    if item.kind == scoring.RATING:
        holds = f"a whole number from {item.scale_min} to {item.scale_max}"
    elif item.kind == scoring.COUNT:
        holds = f"a whole number from 0 to {scoring.COUNT_MAX}"
    else:
        holds = "1 (yes) or 0 (no)"
    if item.allows_na:
        holds += f", or {scoring.NA} (not applicable)"
    return holds


def _example(item, not_applicable):
    """A valid score: ratings near the top, a small count, yes; or `na`."""
    if not_applicable:
        return scoring.NA
    if item.kind == scoring.RATING:
        return str(item.scale_max - (item.scale_max - item.scale_min) // 4)
    if item.kind == scoring.COUNT:
        return str(EXAMPLE_COUNT)
    return "1"


def example_versions():
    """The newest published version of each rubric that observes practice: one example row
    each (observing coaching takes a certified trainer the example cannot name)."""
    newest = {}
    for version in published_versions():
        if not version.rubric.observes_coaching:
            newest.setdefault(version.rubric_id, version)
    return list(newest.values())


def example_rows(today=None):
    """(headings, rows) of the example file: the fixed columns, then every item code of
    the example versions; a row each, its other rubrics' item cells left empty."""
    versions = example_versions()
    codes = list(dict.fromkeys(c.code for v in versions for c in item_columns(v)))
    headings = [column.name for column in imports.COLUMNS] + codes
    activity = ActivityType.objects.filter(is_active=True).order_by("position", "name").first()
    day = (today or timezone.localdate()) - dt.timedelta(days=1)  # yesterday in every zone
    rows = []
    for version in versions:
        scores = {c.code: c.example for c in item_columns(version)}
        fixed = {
            "practitioner": EXAMPLE_PRACTITIONER,
            "coach": EXAMPLE_COACH,
            "rubric": version.rubric.code,
            "version": str(version.number),
            "date": day.isoformat(),
            "activity": activity.name if activity else "",
            "mode": Observation.Mode.LIVE.value,
            "duration": "45",
            **EXAMPLE_FEEDBACK,
        }
        rows.append([fixed.get(name, scores.get(name, "")) for name in headings])
    return headings, rows


def example_download(today=None):
    headings, rows = example_rows(today)
    return csv_download(csv_lines(headings, rows), "observations-import-example")


def activities():
    return list(ActivityType.objects.filter(is_active=True).order_by("position", "name"))
