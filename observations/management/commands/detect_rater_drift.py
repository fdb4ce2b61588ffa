from django.core.management.base import BaseCommand
from django.utils import timezone

from miiwrap.people.management.commands.seed_demo import iso_date
from observations import services


class Command(BaseCommand):
    help = (
        "Run the daily rater drift job by hand: raise an alert for each coach whose "
        "calibration scores drift lenient or severe, and close those that no longer do."
    )

    def add_arguments(self, parser):
        parser.add_argument("--today", type=iso_date, help="Run as if today were YYYY-MM-DD.")

    def handle(self, *args, today=None, **options):
        day = today or timezone.localdate()
        found = services.rater_drift_detect(day)
        self.stdout.write(
            f"Rater drift as of {day:%Y-%m-%d}: {found['raised']} alert(s) raised, "
            f"{found['closed']} closed, {found['open']} coach(es) drifting."
        )
