"""Observations carry their practitioner's organization, so that what a leader may see is
one indexed column (ObservationQuerySet.visible_to). Existing rows take their
practitioner's organization in one statement; the column turns NOT NULL in 0011, apart
from this update, since PostgreSQL refuses to alter a table with pending trigger events.
The field stays out of the history: it is derived from the practitioner."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def organization_from_practitioner(apps, schema_editor):
    Observation = apps.get_model("observations", "Observation")
    Person = apps.get_model("people", "Person")
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        observations = connection.ops.quote_name(Observation._meta.db_table)
        people = connection.ops.quote_name(Person._meta.db_table)
        # One pass over the table joined to people: a subquery per row would look each
        # practitioner up again for every one of their observations.
        schema_editor.execute(
            f"UPDATE {observations} AS o SET organization_id = p.organization_id "
            f"FROM {people} AS p WHERE p.id = o.practitioner_id"
        )
        return
    of_practitioner = Person.objects.filter(pk=OuterRef("practitioner_id"))
    Observation.objects.update(
        organization_id=Subquery(of_practitioner.values("organization_id")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("observations", "0009_ship_coaching_rubric"),
        ("people", "0002_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="observation",
            name="organization",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="people.organization",
            ),
        ),
        migrations.RunPython(organization_from_practitioner, migrations.RunPython.noop),
    ]
