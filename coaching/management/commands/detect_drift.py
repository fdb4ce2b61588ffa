import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from coaching import services


def parse_day(text, option="--today"):
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{option} must be a date such as 2026-06-30, not {text!r}.") from None


class Command(BaseCommand):
    help = (
        "Run the drift detector by hand: every practitioner's series, each team's and each "
        "item's monthly mean; raise, refresh and resolve alerts; rewrite momentum."
    )

    def add_arguments(self, parser):
        parser.add_argument("--today", help="Run as if today were this date (YYYY-MM-DD).")
        parser.add_argument(
            "--person",
            type=int,
            action="append",
            help="Only this practitioner (by id); repeat for more. Teams and items are skipped.",
        )

    def handle(self, *args, today=None, person=None, **options):
        day = parse_day(today) if today else timezone.localdate()
        report = services.drift_detect(today=day, person_ids=person)
        self.stdout.write(report.summary())
        timings = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in report.seconds.items())
        self.stdout.write(f"Time: {timings}.")
