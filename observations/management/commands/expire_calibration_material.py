import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from observations import services


class Command(BaseCommand):
    help = (
        "Run the daily calibration job by hand: delete the transcripts and remove the "
        "recording links of calibration cases kept past their retention day."
    )

    def add_arguments(self, parser):
        parser.add_argument("--today", help="Run as if today were this date (YYYY-MM-DD).")

    def handle(self, *args, today=None, **options):
        day = timezone.localdate()
        if today is not None:
            try:
                day = dt.date.fromisoformat(today)
            except ValueError:
                message = f"--today must be a date such as 2026-06-30, not {today!r}."
                raise CommandError(message) from None
        cleared = services.calibration_material_expire(day)
        self.stdout.write(
            f"Cleared the material of {cleared} calibration case(s) kept past their "
            f"retention day, as of {day:%Y-%m-%d}."
        )
