"""The command behind each CSV import (`import_observations`, `import_attendance`): the
file, a dry run and the login it imports as; every problem by line and nothing saved when
there is one, else a one-line summary."""

from django.core.management.base import BaseCommand, CommandError

from miiwrap.audit import acting_user


class CsvImportCommand(BaseCommand):
    """Subclasses say what `--by` limits (`by_help`), run the import (`run_import`) and
    sum its result up (`summary`)."""

    by_help = "Import as this login."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (UTF-8).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row and save nothing."
        )
        parser.add_argument("--by", metavar="EMAIL", help=self.by_help)

    def handle(self, *, file, dry_run, by=None, **options):
        user = acting_user(by)
        try:
            with open(file, "rb") as handle:
                result = self.run_import(handle, imported_by=user, dry_run=dry_run)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from error
        if not result.ok:
            for line, reason in result.errors:
                self.stderr.write(f"line {line}: {reason}")
            count = len(result.errors)
            raise CommandError(
                f"{count} problem{'s' if count != 1 else ''} found; nothing was imported."
            )
        self.stdout.write(self.summary(result))

    def run_import(self, handle, *, imported_by, dry_run):
        raise NotImplementedError

    def summary(self, result):
        raise NotImplementedError
