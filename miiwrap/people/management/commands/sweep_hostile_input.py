import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings

from miiwrap import sweep


class Rollback(Exception):
    """Raised to undo everything the sweep did."""


class Command(BaseCommand):
    help = (
        "Send hostile values (unicode digits, NUL, huge and negative numbers, far dates, long "
        "text) to every page, parameter, form and the CSV import, as one person of each kind "
        "of access, and count the 5xx answers. Reads the demo data (run seed_demo first) and "
        "changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--sample",
            type=int,
            help="Hostile values per page and person (rotating), as the test suite runs it; "
            "by default every value, and every form field alone as well as all at once.",
        )

    def handle(self, *, sample, **options):
        started = time.monotonic()
        try:
            # The test client's host; the sweep never leaves this process.
            with override_settings(ALLOWED_HOSTS=["testserver"]), transaction.atomic():
                result, imported = self.sweep(sample)
                raise Rollback
        except Rollback:
            pass
        self.report(result, imported, sample, time.monotonic() - started)
        if result.failures or imported[1]:
            raise CommandError(f"{len(result.failures) + len(imported[1])} server errors.")

    def sweep(self, sample):
        personas = sweep.personas()
        row, importer = sweep.import_sample(), personas.get("purveyor_admin")
        if len(personas) < 2 or row is None:
            raise CommandError("No people or observations to sweep with: run seed_demo first.")
        result = sweep.Sweep(personas, sample=sample, import_row=row, progress=self.done).run()
        self.personas = list(personas)
        return result, sweep.sweep_import(row, importer=importer)

    def done(self, label, result):
        self.stderr.write(
            f"  {label}: {result.requests} requests so far, {len(result.failures)} 5xx"
        )

    def report(self, result, imported, sample, seconds):
        values = sample or len(sweep.HOSTILE)
        write = self.stdout.write
        write(
            f"{result.pages} URL patterns × {len(self.personas)} personas "
            f"({', '.join(self.personas)}) × {values} of {len(sweep.HOSTILE)} hostile values"
        )
        write(
            f"  pages reached with real arguments: {result.reached}; query parameters: "
            f"{len(result.parameters)}; form fields: {len(result.form_fields)}"
        )
        write(f"  requests: {result.requests}; import rows tried: {imported[0]}")
        write(f"  5xx answers: {len(result.failures)}; import crashes: {len(imported[1])}")
        for failure in result.failures + imported[1]:
            write(f"    {failure}")
        write(f"  {seconds:.0f} s")
