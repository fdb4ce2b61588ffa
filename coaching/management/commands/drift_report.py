from django.core.management.base import BaseCommand, CommandError

from coaching.models import DriftAlert
from miiwrap.notifications.models import absolute_url
from miiwrap.spreadsheet import csv_lines

HEADINGS = [
    "alert",
    "status",
    "scope",
    "organization",
    "about",
    "rubric",
    "first rule",
    "rules now",
    "began on",
    "raised on",
    "checked on",
    "baseline",
    "current",
    "points",
    "why",
    "fell most",
    "acknowledged by",
    "note",
    "link",
]


def cells(alert):
    def number(value):
        return "" if value is None else f"{value:.2f}"

    return [
        alert.pk,
        alert.status_label(),
        alert.get_scope_display(),
        alert.organization.name,
        alert.about(),
        alert.rubric.name,
        alert.get_rule_display(),
        "; ".join(alert.rule_names()),
        alert.began_on.isoformat(),
        alert.raised_on.isoformat(),
        alert.checked_on.isoformat(),
        number(alert.baseline),
        number(alert.current),
        alert.points,
        alert.explanation(),
        "; ".join(alert.moved_text()),
        str(alert.acknowledged_by or ""),
        alert.note,
        absolute_url(alert.get_absolute_url()),
    ]


class Command(BaseCommand):
    help = "Print the drift alerts not yet closed (whatever their status), newest first."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["csv", "text"], default="text")
        parser.add_argument("--organization", help="Only this organization (its slug).")

    def handle(self, *args, format="text", organization=None, **options):
        alerts = DriftAlert.objects.active().for_list().order_by("-raised_on", "-pk")
        if organization:
            alerts = alerts.filter(organization__slug=organization)
            if not alerts.exists() and not _organization_exists(organization):
                raise CommandError(f"No organization has the slug {organization!r}.")
        rows = (cells(alert) for alert in alerts.iterator(chunk_size=500))
        if format == "csv":
            for line in csv_lines(HEADINGS, rows):
                self.stdout.write(line, ending="")
            return
        count = 0
        for row in rows:
            count += 1
            self.stdout.write(f"#{row[0]} {row[1]} · {row[4]} · {row[5]} · {row[7]} since {row[8]}")
        self.stdout.write(f"{count} alert(s) not closed.")


def _organization_exists(slug):
    from miiwrap.people.models import Organization

    return Organization.objects.filter(slug=slug).exists()
