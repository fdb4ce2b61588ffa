"""Observations as CSV: the rows of the list, all pages, streamed as they are read.

Columns: the fixed ones below, then one per summary metric, then (when one rubric is
filtered) one per item score. Metric columns are headed by the metric code; when the
rows span several rubrics, by "<rubric code>/<metric code>" so that two rubrics'
metrics never share a column. Item columns are headed by the item code, as in the
import file (or "item/<code>" should an item share its code with an earlier column).
"""

from miiwrap.spreadsheet import csv_download, csv_lines
from observations.models import RubricVersion

FIXED_COLUMNS = [
    "id",
    "date",
    "practitioner",
    "practitioner email",
    "staff id",
    "team",
    "coach",
    "rubric",
    "version",
    "activity",
    "mode",
    "duration",
    "status",
    "overall score",
    "band",
]


def columns_for(queryset, rubric=None):
    """(metric columns, item codes): metric columns as (heading, rubric id, metric code)."""
    if rubric is not None:
        versions = RubricVersion.objects.of_people().filter(rubric=rubric)
    else:
        versions = RubricVersion.objects.filter(pk__in=queryset.values("rubric_version_id"))
    versions = list(versions.select_related("rubric").prefetch_related("metrics", "items"))
    several = len({v.rubric_id for v in versions}) > 1
    metrics, items = {}, {}
    for version in sorted(versions, key=lambda v: (v.rubric.name, -v.number)):
        for metric in version.metrics.all():
            heading = f"{version.rubric.code}/{metric.code}" if several else metric.code
            metrics.setdefault(heading, (heading, version.rubric_id, metric.code))
        items.update(dict.fromkeys(item.code for item in version.items.all()))
    return list(metrics.values()), list(items) if rubric is not None else []


def observation_cells(observation, metric_columns, item_codes):
    person = observation.practitioner
    version = observation.rubric_version
    cells = [
        observation.pk,
        observation.observed_on.isoformat(),
        person.full_name,
        person.email,
        person.staff_id,
        person.team.name if person.team_id else "",
        observation.coach.full_name,
        version.rubric.code,
        version.number,
        observation.activity.name,
        observation.mode,
        observation.duration_minutes,
        observation.status,
        observation.overall_score,
        observation.band,
    ]
    for _, rubric_id, code in metric_columns:
        found = observation.metrics.get(code) if version.rubric_id == rubric_id else None
        cells.append(found.get("value") if found else None)
    cells += [observation.scores.get(code) for code in item_codes]
    return cells


def observations_csv(queryset, rubric=None):
    """CSV lines for every observation in the queryset, read in chunks."""
    metric_columns, item_codes = columns_for(queryset, rubric)
    headings = [*FIXED_COLUMNS, *(heading for heading, _, _ in metric_columns)]
    taken = set(headings)
    headings += [f"item/{code}" if code in taken else code for code in item_codes]
    rows = (
        observation_cells(observation, metric_columns, item_codes)
        for observation in queryset.iterator(chunk_size=2000)
    )
    return csv_lines(headings, rows)


def csv_response(queryset, rubric=None):
    return csv_download(observations_csv(queryset, rubric), "observations")
