from miiwrap.csv_command import CsvImportCommand
from observations import imports

BAR_WIDTH = 30


class Command(CsvImportCommand):
    help = (
        "Import observations from a CSV file (columns: see README, “Importing observations”). "
        "All rows or none are saved; rows imported before are skipped."
    )

    by_help = (
        "Import as this login: rows may name only the people it sees, and each "
        "observation's history names it as the importer."
    )

    def run_import(self, handle, *, imported_by, dry_run):
        return imports.import_observations(
            handle, imported_by=imported_by, progress=self.progress, dry_run=dry_run
        )

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
