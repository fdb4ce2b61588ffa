"""Every session names its practitioner (filled in by 0010); a session may stand without
a plan. Apart from 0010 so that PostgreSQL has no pending trigger events from its update
when the column turns NOT NULL."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("coaching", "0010_sessions_without_plan"),
    ]

    operations = [
        migrations.AlterField(
            model_name="coachingsession",
            name="practitioner",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="coaching_sessions",
                to="people.person",
            ),
        ),
        migrations.AlterField(
            model_name="coachingsession",
            name="plan",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="coaching_sessions",
                to="coaching.coachingplan",
            ),
        ),
        migrations.AddIndex(
            model_name="coachingsession",
            index=models.Index(
                fields=["practitioner", "-held_on"], name="coaching_co_practit_d893c3_idx"
            ),
        ),
    ]
