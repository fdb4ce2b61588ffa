from django.core.management.base import BaseCommand, CommandError

from certification import checks
from certification.models import CertificationEvent, CertificationPeriod
from observations.models import Dispute, Observation


class Command(BaseCommand):
    help = (
        "List every certification period that breaks an invariant (overlapping periods, "
        "dates out of order, certified without evidence, a missing audit record...). "
        "Exits with status 1 when there is any."
    )

    def handle(self, **options):
        periods = CertificationPeriod.objects.select_related(
            "person__organization", "program"
        ).order_by("person_id", "program_id", "valid_from", "pk")
        periods = list(periods)
        observations = self.observations(periods)
        found = list(
            checks.problems(periods, observations, self.events(), self.disputes(observations))
        )
        for period, text in found:
            self.stdout.write(
                f"#{period.pk} {period.person} · {period.program} {period.valid_from} to "
                f"{period.valid_until}: {text}"
            )
        if found:
            raise CommandError(f"{len(found)} problem(s) in {len(periods)} periods.")
        self.stdout.write(f"No problems in {len(periods)} periods.")

    def observations(self, periods):
        ids = {pk for period in periods for pk in period.evidence_ids()}
        found = {}
        for chunk in _chunks(sorted(ids), 5000):
            found.update(Observation.objects.filter(pk__in=chunk).values_list("pk", "status"))
        return found

    def disputes(self, observations):
        found = {}
        for chunk in _chunks(sorted(observations), 5000):
            rows = Dispute.objects.filter(observation_id__in=chunk)
            for pk, raised_at, settled_at in rows.values_list(
                "observation_id", "raised_at", "settled_at"
            ):
                found.setdefault(pk, []).append((raised_at, settled_at))
        return found

    def events(self):
        found = {}
        for period_id, kind in CertificationEvent.objects.values_list("period_id", "kind"):
            found.setdefault(period_id, set()).add(kind)
        return found


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start : start + size]
