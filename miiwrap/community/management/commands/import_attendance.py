from miiwrap.community import imports
from miiwrap.csv_command import CsvImportCommand


class Command(CsvImportCommand):
    help = (
        "Import event attendance from a CSV file (columns: event or title and date, person, "
        "organization, status). All rows or none are saved; importing again changes nothing."
    )
    by_help = (
        "Import as this login: rows may name only the events and people whose "
        "attendance it may record."
    )

    def run_import(self, handle, *, imported_by, dry_run):
        return imports.import_attendance(handle, imported_by=imported_by, dry_run=dry_run)

    def summary(self, result):
        verb = "Would record" if result.dry_run else "Recorded"
        return (
            f"{verb} {result.created:,} of {result.rows:,} rows; "
            f"{result.skipped:,} already said what is recorded."
        )
