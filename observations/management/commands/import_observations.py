from django.core.management.base import BaseCommand, CommandError

from miiwrap.audit import acting_user
from observations import imports

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Import observations from a CSV file (columns: see README, “Importing observations”). "
        "All rows or none are saved; rows imported before are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (UTF-8).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row and save nothing."
        )
        parser.add_argument(
            "--by",
            metavar="EMAIL",
            help="Import as this login: rows may name only the people it sees, and each "
            "observation's history names it as the importer.",
        )

    def handle(self, *, file, dry_run, by=None, **options):
        user = acting_user(by)
        try:
            with open(file, "rb") as handle:
                result = imports.import_observations(
                    handle, imported_by=user, progress=self.progress, dry_run=dry_run
                )
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from error
        if not result.ok:
            for line, reason in result.errors:
                self.stderr.write(f"line {line}: {reason}")
            raise CommandError(
                f"{len(result.errors)} problem{'s' if len(result.errors) != 1 else ''} "
                "found; nothing was imported."
            )
        self.stdout.write(self.summary(result))

    def progress(self, done, total):
        """A bar redrawn in place on stderr (`\\r` returns to the line's start), for large files."""
        if total <= imports.PROGRESS_EVERY:
            return
        filled = BAR_WIDTH * done // total
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        end = "\n" if done == total else ""
        self.stderr.write(f"\r[{bar}] {done:,}/{total:,} rows", ending=end)
        self.stderr.flush()

    def summary(self, result):
        verb = "Would import" if result.dry_run else "Imported"
        text = f"{verb} {result.created:,} of {result.rows:,} rows"
        if result.skipped:
            text += (
                f"; {result.skipped:,} skipped "
                "(imported before or meanwhile, or repeated in the file)"
            )
        return text + (". Dry run: nothing was saved." if result.dry_run else ".")
