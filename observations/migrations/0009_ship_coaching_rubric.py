"""Load the coaching feedback rubric (observations/rubrics/coaching-feedback.json): the
third shipped rubric, on which trainers observe coaches giving feedback."""

from types import SimpleNamespace

from django.db import migrations, models

CODE = "coaching-feedback"
# What a trainer watches when observing a coach.
ACTIVITY = "Coaching feedback conversation"


def load(apps, schema_editor):
    from observations import rubric_io

    names = ["Rubric", "RubricVersion", "Domain", "Item", "Level", "Metric"]
    models = SimpleNamespace(**{name: apps.get_model("observations", name) for name in names})
    ActivityType = apps.get_model("observations", "ActivityType")
    ActivityType.objects.get_or_create(name=ACTIVITY, defaults={"position": 10})
    if models.Rubric.objects.filter(code=CODE).exists():
        return
    document = next(d for d in rubric_io.shipped_rubrics() if d["rubric"]["code"] == CODE)
    rubric_io.load_version(document, models)


class Migration(migrations.Migration):
    dependencies = [("observations", "0008_disputes")]

    operations = [
        *[
            migrations.AlterField(
                model_name=model,
                name="audience",
                field=models.CharField(
                    choices=[("practitioner", "Practitioner"), ("coach", "Coach")],
                    default="practitioner",
                    help_text="Only people holding this role are observed on this rubric. "
                    "Coach: it observes coaching, and is kept out of practice figures.",
                    max_length=20,
                ),
            )
            for model in ("historicalrubric", "rubric")
        ],
        migrations.RunPython(load, migrations.RunPython.noop),
    ]
