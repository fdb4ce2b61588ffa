"""MiiWrap Observer: the observer certification beside the ladder, earned by calibration.

A coach is certified when their latest 3 calibration cases on the MiiWrap fidelity tool,
submitted in the last 365 days, have at least 80 % of their items within one point of the
master code; re-tested every 12 months (the renewal asks the same), with the default
reminders every program has. Every number is the program's setting. No shipped rule is made to require it: a purveyor who wants only
calibrated observers' scores to count sets a rule's "observer certified in" to it.

Made once (by its code); the reverse removes it while nobody holds it. Each row made
leaves a history row saying it was shipped.
"""

from importlib import import_module

from django.db import migrations
from django.utils import timezone

# The same default reminders as every shipped program (0006).
REMINDERS = import_module("certification.migrations.0006_ship_reminder_rules").RULES

CODE = "observer"
REASON = "As shipped."
PROGRAM = {
    "name": "MiiWrap Observer",
    "audience_role": "coach",
    "active_months": 12,
    "certified_by_purveyor": True,
    "position": 3,
}
CALIBRATION = {"source": "calibration", "min_cases": 3, "min_within_one_percent": 80}
LOOK_BACK_DAYS = 365


def load(apps, schema_editor):
    Program = apps.get_model("certification", "Program")
    EvidenceRule = apps.get_model("certification", "EvidenceRule")
    ReminderRule = apps.get_model("certification", "ReminderRule")
    Rubric = apps.get_model("observations", "Rubric")
    fidelity = Rubric.objects.filter(code="miiwrap-fidelity").first()
    program, made = Program.objects.get_or_create(code=CODE, defaults=PROGRAM)
    if made:
        _history(apps, "HistoricalProgram", program)
    for timing, days, (subject, body) in REMINDERS:
        ReminderRule.objects.get_or_create(
            program=program,
            organization=None,
            timing=timing,
            days=days,
            defaults={"subject": subject, "body_text": body},
        )
    if fidelity is None:
        return
    for kind in ("initial", "renewal"):
        rule, made = EvidenceRule.objects.get_or_create(
            program=program,
            kind=kind,
            defaults={**CALIBRATION, "rubric": fidelity, "within_days": LOOK_BACK_DAYS},
        )
        if made:
            _history(apps, "HistoricalEvidenceRule", rule)


def unload(apps, schema_editor):
    Program = apps.get_model("certification", "Program")
    Period = apps.get_model("certification", "CertificationPeriod")
    program = Program.objects.filter(code=CODE).first()
    if program is None or Period.objects.filter(program=program).exists():
        return  # someone holds it: it is theirs now, not the shipment's
    program.evidence_rules.all().delete()
    program.reminder_rules.all().delete()
    program.delete()


def _history(apps, model, row):
    History = apps.get_model("certification", model)
    values = {field.attname: getattr(row, field.attname) for field in row._meta.concrete_fields}
    History.objects.create(
        **values,
        history_type="+",
        history_date=timezone.now(),
        history_change_reason=REASON,
        history_user=None,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("certification", "0016_evidence_from_calibration"),
        ("observations", "0014_calibration"),
    ]

    operations = [migrations.RunPython(load, unload)]
