from django.core.management.base import BaseCommand, CommandError

from miiwrap.audit import acting_user
from miiwrap.community import imports


class Command(BaseCommand):
    help = (
        "Import event attendance from a CSV file (columns: event or title and date, person, "
        "organization, status). All rows or none are saved; importing again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (UTF-8).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row and save nothing."
        )
        parser.add_argument(
            "--by",
            metavar="EMAIL",
            help="Import as this login: rows may name only the events and people whose "
            "attendance it may record.",
        )

    def handle(self, *, file, dry_run, by=None, **options):
        user = acting_user(by)
        try:
            with open(file, "rb") as handle:
                result = imports.import_attendance(handle, imported_by=user, dry_run=dry_run)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from error
        if not result.ok:
            for line, reason in result.errors:
                self.stderr.write(f"line {line}: {reason}")
            raise CommandError(
                f"{len(result.errors)} problem{'s' if len(result.errors) != 1 else ''} "
                "found; nothing was imported."
            )
        verb = "Would record" if dry_run else "Recorded"
        self.stdout.write(
            f"{verb} {result.created:,} of {result.rows:,} rows; "
            f"{result.skipped:,} already said what is recorded."
        )
