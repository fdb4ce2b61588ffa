"""Today's team and roles as periods held since each person's hire: the best that is
known of the past before periods were kept."""

from django.db import migrations


def backfill(apps, schema_editor):
    Person = apps.get_model("people", "Person")
    RoleGrant = apps.get_model("people", "RoleGrant")
    TeamMembership = apps.get_model("people", "TeamMembership")
    RolePeriod = apps.get_model("people", "RolePeriod")
    people = Person.objects.exclude(team=None)  # the periods are new: none exist yet
    TeamMembership.objects.bulk_create(
        (
            TeamMembership(person_id=pk, team_id=team_id, starts_on=hired)
            for pk, team_id, hired in people.values_list("pk", "team_id", "hire_date").iterator()
        ),
        batch_size=2000,
    )
    grants = RoleGrant.objects.values_list("person_id", "role", "person__hire_date")
    RolePeriod.objects.bulk_create(
        (
            RolePeriod(person_id=pk, role=role, starts_on=hired)
            for pk, role, hired in grants.iterator()
        ),
        batch_size=2000,
    )


class Migration(migrations.Migration):
    dependencies = [("people", "0003_team_and_role_periods")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
