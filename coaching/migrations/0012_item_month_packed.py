# ItemMonth keeps a team's items of a month in one row (`sums`) instead of a row an item.
# The rows are packed in place: each group's first row takes the group's items, the others
# go. Back, the sums are emptied and the next drift night counts every month again.

import django.db.models.deletion
from django.db import migrations, models

PACK = {
    "postgresql": "jsonb_object_agg(item_code, jsonb_build_array(total, count))",
    "sqlite": "json_group_object(item_code, json_array(total, count))",
}


def pack(apps, schema_editor):
    table = apps.get_model("coaching", "ItemMonth")._meta.db_table
    schema_editor.execute(
        f"UPDATE {table} SET sums = packed.sums FROM ("
        f"SELECT MIN(id) AS id, {PACK[schema_editor.connection.vendor]} AS sums FROM {table} "
        "GROUP BY organization_id, team_id, rubric_id, month) packed "
        f"WHERE {table}.id = packed.id"
    )
    schema_editor.execute(f"DELETE FROM {table} WHERE sums IS NULL")


def forget(apps, schema_editor):
    for name in ("ItemMonth", "OrganizationItemMonth"):
        apps.get_model("coaching", name).objects.all().delete()
    apps.get_model("coaching", "ItemMonthsCounted").objects.update(months={})


class Migration(migrations.Migration):
    dependencies = [
        ("coaching", "0011_session_practitioner_required"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="itemmonth", name="item_month_once"),
        migrations.RemoveIndex(model_name="itemmonth", name="coaching_it_month_ea5455_idx"),
        migrations.RemoveIndex(model_name="itemmonth", name="item_month_heat_map"),
        migrations.AddField(
            model_name="itemmonth",
            name="sums",
            field=models.JSONField(
                null=True, help_text="{item code: [total, count]}, the counted items only."
            ),
        ),
        migrations.RunPython(pack, migrations.RunPython.noop),
        migrations.RemoveField(model_name="itemmonth", name="item_code"),
        migrations.RemoveField(model_name="itemmonth", name="total"),
        migrations.RemoveField(model_name="itemmonth", name="count"),
        migrations.AlterField(
            model_name="itemmonth",
            name="sums",
            field=models.JSONField(
                help_text="{item code: [total, count]}, the counted items only."
            ),
        ),
        migrations.AlterField(
            model_name="itemmonth",
            name="organization",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="people.organization",
            ),
        ),
        migrations.AlterField(
            model_name="itemmonth",
            name="rubric",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="observations.rubric",
            ),
        ),
        migrations.AddConstraint(
            model_name="itemmonth",
            constraint=models.UniqueConstraint(
                fields=("organization", "rubric", "month", "team_id"), name="item_month_once"
            ),
        ),
        migrations.AlterField(
            model_name="organizationitemmonth",
            name="organization",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="people.organization",
            ),
        ),
        migrations.RunPython(migrations.RunPython.noop, forget),
    ]
