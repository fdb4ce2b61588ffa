"""The MiiWrap Coach program's evidence is how the coach coaches: its shipped rules move
from the MiiWrap fidelity tool (how they practise, which the MiiWrap Practitioner
certification the program requires already shows) to the coaching feedback rubric,
observed by a certified trainer.

Only rules still on the fidelity tool, as shipped, are moved; a rule the purveyor has
pointed elsewhere is theirs and stays. Certifications already granted are not touched:
a period keeps its dates and the evidence it was decided on, so every certified coach
stays certified until their period ends and renews on coaching evidence. Each moved rule
leaves history rows: what it said before, then the change and why.
"""

import datetime as dt

from django.db import migrations
from django.utils import timezone

REASON = "The Coach program is certified on the coaching feedback rubric."
# What the moved rules ask, beside what stays (count, look-back, observer, companion):
# 80 % of possible points, the published "80 % on an observation tool to certify".
COACHING = {"min_overall": 80, "min_band": "", "min_activity_types": 1}
FIELDS = [
    "id",
    "program_id",
    "kind",
    "rubric_id",
    "min_observations",
    "within_days",
    "min_overall",
    "min_band",
    "observer_certified_in_id",
    "min_activity_types",
    "companion_rubric_id",
    "companion_min_band",
]


def move(apps, schema_editor):
    Rubric = apps.get_model("observations", "Rubric")
    EvidenceRule = apps.get_model("certification", "EvidenceRule")
    History = apps.get_model("certification", "HistoricalEvidenceRule")
    coaching = Rubric.objects.filter(code="coaching-feedback").first()
    rules = EvidenceRule.objects.filter(program__code="coach", rubric__code="miiwrap-fidelity")
    if coaching is None:
        return
    now = timezone.now()
    for rule in rules:
        if not History.objects.filter(id=rule.pk).exists():
            _history(History, rule, "+", now - dt.timedelta(seconds=1), "As shipped.")
        rule.rubric = coaching
        for name, value in COACHING.items():
            setattr(rule, name, value)
        rule.save()
        _history(History, rule, "~", now, REASON)


def _history(History, rule, kind, when, reason):
    values = {name: getattr(rule, name) for name in FIELDS}
    History.objects.create(
        **values,
        history_type=kind,
        history_date=when,
        history_change_reason=reason,
        history_user=None,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("certification", "0012_program_dispute_window"),
        ("observations", "0009_ship_coaching_rubric"),
    ]

    operations = [migrations.RunPython(move, migrations.RunPython.noop)]
