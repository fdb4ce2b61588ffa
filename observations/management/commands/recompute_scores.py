from django.core.management.base import BaseCommand, CommandError

from miiwrap.audit import acting_user
from observations.models import Observation, Rubric
from observations.services import observations_recompute


class Command(BaseCommand):
    help = (
        "Recompute the stored scores of submitted observations, after a scoring fix. "
        "Rows whose scores come out the same are left alone."
    )

    def add_base_argument(self, parser, *args, **kwargs):
        # This command's --version is a rubric version number, not Django's version.
        if "--version" not in args:
            super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("--rubric", metavar="CODE", help="Only this rubric, by its code.")
        parser.add_argument(
            "--version", type=int, metavar="N", help="Only this version (needs --rubric)."
        )
        parser.add_argument(
            "--by", metavar="EMAIL", help="Who runs it, kept in each changed row's history."
        )

    def handle(self, *, rubric, version, by=None, **options):
        user = acting_user(by)
        observations = self.selected(rubric, version)
        checked = observations.submitted().count()
        changed = observations_recompute(observations, by=user)
        self.stdout.write(
            f"Recomputed {checked:,} submitted observation{'s' if checked != 1 else ''}: "
            f"{changed:,} changed."
        )

    def selected(self, code, number):
        """The observations named by --rubric and --version; every one when neither is given."""
        if number is not None and not code:
            raise CommandError("--version needs --rubric: version numbers belong to a rubric.")
        if not code:
            return Observation.objects.all()
        # Observations are of people: a readiness instrument has none to recompute.
        rubric = Rubric.objects.of_people().filter(code=code).first()
        if rubric is None:
            codes = Rubric.objects.of_people().order_by("code").values_list("code", flat=True)
            codes = ", ".join(codes)
            raise CommandError(f"No rubric has the code “{code}”; the codes are {codes}.")
        if number is None:
            return Observation.objects.filter(rubric_version__rubric=rubric)
        version = rubric.versions.filter(number=number).first()
        if version is None:
            raise CommandError(f"{rubric} has no version {number}.")
        return Observation.objects.filter(rubric_version=version)
