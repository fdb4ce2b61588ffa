"""Load the two shipped rubrics and the usual activity types, so a fresh install has them."""

from types import SimpleNamespace

from django.db import migrations

FIRST_SHIPPED = {"miiwrap-fidelity", "mi-coding"}
ACTIVITIES = [
    "Family team meeting",
    "One-to-one session",
    "Home visit",
    "Crisis or safety planning",
    "Transition meeting",
    "Plan document review",
]


def load(apps, schema_editor):
    from observations import rubric_io

    names = ["Rubric", "RubricVersion", "Domain", "Item", "Level", "Metric"]
    models = SimpleNamespace(**{name: apps.get_model("observations", name) for name in names})
    for document in rubric_io.shipped_rubrics():
        # Rubrics shipped later carry fields this migration's models lack; their own
        # migrations load them.
        if document["rubric"]["code"] not in FIRST_SHIPPED:
            continue
        if not models.Rubric.objects.filter(code=document["rubric"]["code"]).exists():
            rubric_io.load_version(document, models)
    ActivityType = apps.get_model("observations", "ActivityType")
    for position, name in enumerate(ACTIVITIES):
        ActivityType.objects.get_or_create(name=name, defaults={"position": position})


class Migration(migrations.Migration):
    dependencies = [("observations", "0001_rubrics_and_observations")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
