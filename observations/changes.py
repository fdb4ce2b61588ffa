"""What an amendment changed, in words a practitioner reads in an email: plain functions
over the observation as stored before and as amended."""

from observations import scoring
from observations.display import format_value

NOT_SCORED = "not scored"
FEEDBACK_HEADINGS = {
    "strengths": "Strengths",
    "growth_areas": "Growth areas",
    "next_steps": "Next steps",
}


def described(before, after, definition):
    """["Empathy: 2 → 3", "Strengths: rewritten", …] for each thing that differs between
    `before` and `after` (two Observations of the same rubric version, `definition` its
    scoring.RubricDef); [] when nothing does."""
    return [
        *_visit(before, after),
        *_items(before.scores, after.scores, definition),
        *_feedback(before, after, definition),
        *_overall(before, after, definition),
    ]


def _visit(before, after):
    shown = [
        ("Practitioner", lambda o: o.practitioner.full_name),
        ("Date observed", lambda o: f"{o.observed_on:%Y-%m-%d}"),
        ("Activity", lambda o: o.activity.name),
        ("Mode", lambda o: o.get_mode_display()),
        ("Duration", lambda o: f"{o.duration_minutes} min" if o.duration_minutes else "—"),
    ]
    return [
        f"{label}: {show(before)} → {show(after)}"
        for label, show in shown
        if show(before) != show(after)
    ]


def _items(before, after, definition):
    return [
        f"{item.label}: {_answer(item, before.get(item.code))} → "
        f"{_answer(item, after.get(item.code))}"
        for item in definition.items
        if before.get(item.code) != after.get(item.code)
    ]


def _answer(item, value):
    if value is None:
        return NOT_SCORED
    if value == scoring.NA:
        return "not applicable"
    if item.kind == scoring.YES_NO:
        return "yes" if value == 1 else "no"
    return str(value)


def _feedback(before, after, definition):
    lines = []
    for name, heading in FEEDBACK_HEADINGS.items():
        if getattr(before, name) != getattr(after, name):
            lines.append(f"{heading}: rewritten")
        old, new = getattr(before, f"{name}_items"), getattr(after, f"{name}_items")
        if sorted(old) != sorted(new):
            labels = [definition.item(c).label for c in new if definition.item(c)]
            lines.append(f"{heading} now tied to: {', '.join(labels) or 'no item'}")
    return lines


def _overall(before, after, definition):
    if (before.overall_score, before.band) == (after.overall_score, after.band):
        return []
    kind = next((m.kind for m in definition.metrics if m.is_overall), None)
    if kind is None:
        return [f"Band: {before.band or '—'} → {after.band or '—'}"]
    old = f"{format_value(kind, before.overall_score)} ({before.band or 'no band'})"
    new = f"{format_value(kind, after.overall_score)} ({after.band or 'no band'})"
    return [f"Overall score: {old} → {new}"]
