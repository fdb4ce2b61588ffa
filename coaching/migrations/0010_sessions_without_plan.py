"""Sessions name their practitioner and may stand without a plan: a steady certified
practitioner is due a routine session every quarter, with nothing to work on in a plan.
Existing sessions take their plan's practitioner, in their history rows too."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def practitioner_from_plan(apps, schema_editor):
    plan_of = apps.get_model("coaching", "CoachingPlan").objects.filter(pk=OuterRef("plan_id"))
    practitioner = Subquery(plan_of.values("practitioner_id")[:1])
    for name in ("CoachingSession", "HistoricalCoachingSession"):
        rows = apps.get_model("coaching", name).objects.filter(practitioner=None)
        rows.exclude(plan_id=None).update(practitioner_id=practitioner)


class Migration(migrations.Migration):
    dependencies = [
        ("coaching", "0009_coaching_plans"),
        ("people", "0002_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="coachingsession",
            name="practitioner",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="coaching_sessions",
                to="people.person",
            ),
        ),
        migrations.AddField(
            model_name="historicalcoachingsession",
            name="practitioner",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="people.person",
            ),
        ),
        migrations.RunPython(practitioner_from_plan, migrations.RunPython.noop),
    ]
