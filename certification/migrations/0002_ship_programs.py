"""The three shipped programs with the default evidence rules (every number editable)."""

from django.db import migrations

PROGRAMS = [
    # code, name, requires, purveyor decides, observer must hold
    ("practitioner", "MiiWrap Practitioner", None, False, "coach"),
    ("coach", "MiiWrap Coach", "practitioner", True, "trainer"),
    ("trainer", "MiiWrap Trainer", "coach", True, "trainer"),
]


def load(apps, schema_editor):
    Program = apps.get_model("certification", "Program")
    EvidenceRule = apps.get_model("certification", "EvidenceRule")
    Rubric = apps.get_model("observations", "Rubric")
    fidelity = Rubric.objects.filter(code="miiwrap-fidelity").first()
    mi_coding = Rubric.objects.filter(code="mi-coding").first()
    made = {}
    for position, (code, name, requires, purveyor, _) in enumerate(PROGRAMS):
        made[code], _ = Program.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "requires": made.get(requires),
                "certified_by_purveyor": purveyor,
                "position": position,
            },
        )
    if fidelity is None:
        return
    for code, *_, observer in PROGRAMS:
        shared = {
            "rubric": fidelity,
            "min_overall": 85,
            "observer_certified_in": made[observer],
            "min_activity_types": 2,
        }
        EvidenceRule.objects.get_or_create(
            program=made[code],
            kind="initial",
            defaults={
                **shared,
                "min_observations": 3,
                "within_days": 180,
                "companion_rubric": mi_coding,
                "companion_min_band": "fair" if mi_coding else "",
            },
        )
        EvidenceRule.objects.get_or_create(
            program=made[code], kind="renewal", defaults={**shared, "min_observations": 2}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("certification", "0001_programs_and_periods"),
        ("observations", "0002_ship_rubrics"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
