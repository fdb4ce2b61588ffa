"""Every observation names its organization (filled in by 0010), and the list reads a
leader's page off (organization, observed_on, id) in its own order. Apart from 0010 so
that PostgreSQL has no pending trigger events from its update when the column turns NOT
NULL."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("observations", "0010_observation_organization"),
    ]

    operations = [
        migrations.AlterField(
            model_name="observation",
            name="organization",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="people.organization",
            ),
        ),
        migrations.AddIndex(
            model_name="observation",
            index=models.Index(
                fields=["organization", "-observed_on", "-id"], name="observation_org_listed"
            ),
        ),
    ]
