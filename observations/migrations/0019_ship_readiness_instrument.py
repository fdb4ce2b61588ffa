"""Load the organizational readiness instrument (observations/rubrics/miiwrap-readiness.json):
a rubric whose audience is an organization, scored like any rubric but assessed by the
purveyor with an organization's leaders (implementation), never used to observe a person."""

from types import SimpleNamespace

from django.db import migrations, models

CODE = "miiwrap-readiness"


def load(apps, schema_editor):
    from observations import rubric_io

    names = ["Rubric", "RubricVersion", "Domain", "Item", "Level", "Metric"]
    models = SimpleNamespace(**{name: apps.get_model("observations", name) for name in names})
    if models.Rubric.objects.filter(code=CODE).exists():
        return
    document = next(d for d in rubric_io.shipped_rubrics() if d["rubric"]["code"] == CODE)
    rubric_io.load_version(document, models)


class Migration(migrations.Migration):
    dependencies = [("observations", "0018_co_observation_latest")]

    operations = [
        *[
            migrations.AlterField(
                model_name=model,
                name="audience",
                field=models.CharField(
                    choices=[
                        ("practitioner", "Practitioner"),
                        ("coach", "Coach"),
                        ("organization", "Organization (a readiness instrument)"),
                    ],
                    default="practitioner",
                    help_text="Only people holding this role are observed on this rubric. "
                    "Coach: it observes coaching, and is kept out of practice figures. "
                    "Organization: a readiness instrument, kept out of every page about "
                    "observations of people.",
                    max_length=20,
                ),
            )
            for model in ("historicalrubric", "rubric")
        ],
        migrations.RunPython(load, migrations.RunPython.noop),
    ]
