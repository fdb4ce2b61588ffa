"""Feedback quality: how often a coach's feedback can be acted on, beside how their own
coaching is observed. Read for a page of coaches in one query
(PersonQuerySet.with_feedback_quality); this module only words the rows."""

from collections import namedtuple

from miiwrap.dashboards.tables import Table, person_cell

# What `row` reads of a coach: a Person so annotated, or this.
Coach = namedtuple(
    "Coach",
    "pk last_name first_name full_name observed tied coaching_latest coaching_on coaching_mean",
)

HEADINGS = [
    "Coach",
    "Observations made",
    "Growth areas tied to items, with a next step",
    "Share (%)",
    "Latest coaching score (%)",
    "Observed on",
    "Mean coaching score (%)",
]


def share(tied, observed):
    """Per cent of `observed` that are `tied`; None (shown "—") when there are none."""
    return None if not observed else 100 * tied / observed


def row(coach):
    """One coach annotated by with_feedback_quality, as table cells."""
    return [
        person_cell(coach.pk, coach.full_name, "coach"),
        coach.observed,
        coach.tied,
        share(coach.tied, coach.observed),
        coach.coaching_latest,
        coach.coaching_on,
        coach.coaching_mean,
    ]


def table(coaches, start, end, *, total=None):
    """The feedback table of `coaches` (annotated), observed from `start` to `end`."""
    rows = [row(c) for c in coaches]
    return Table(
        "feedback",
        f"Feedback quality, {start:%Y-%m-%d} to {end:%Y-%m-%d}: the share of each coach's "
        "observations whose growth areas name a rubric item and that agree a next step; "
        "beside it, how their own coaching was scored on the coaching rubric",
        HEADINGS,
        rows,
        total=total,
        empty="No coaches here.",
    )
