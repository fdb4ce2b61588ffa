import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from certification import jobs


class Command(BaseCommand):
    help = (
        "Run the daily certification job by hand: record windows opening, expiries and "
        "lapses, queue the reminders due, make leaders' digests and send the emails."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--today",
            help="Run as if today were this date (YYYY-MM-DD) in every organization.",
        )
        parser.add_argument(
            "--no-send",
            action="store_true",
            help="Record and queue, but leave the emails for the worker to send.",
        )

    def handle(self, *args, today=None, no_send=False, **options):
        if today is not None:
            try:
                today = dt.date.fromisoformat(today)
            except ValueError:
                message = f"--today must be a date such as 2026-06-30, not {today!r}."
                raise CommandError(message) from None
        report = jobs.run(today=today, send=not no_send)
        for line in report.lines():
            self.stdout.write(line)
        if report.failed_rows:
            raise CommandError(
                f"{len(report.failed_rows)} row(s) failed and are left for the next run."
            )
