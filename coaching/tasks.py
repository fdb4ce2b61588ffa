from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from coaching import services
from miiwrap.people.models import Person


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def detect_drift():
    """The drift job in one process (the night runs it fanned out: miiwrap.nightly)."""
    return services.drift_detect(today=timezone.localdate()).summary()


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def detect_drift_for(person_id):
    """One practitioner's series, just after an observation of theirs was submitted."""
    person = Person.objects.select_related("organization").filter(pk=person_id).first()
    if person is None:
        return "No such person."
    today = person.organization.local_today()
    return services.drift_detect(
        today=today, person_ids=[person_id], zone=person.organization.time_zone
    ).summary()
