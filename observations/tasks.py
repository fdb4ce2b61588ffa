from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from observations import services


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def expire_calibration_material():
    """The daily calibration job: material kept past its retention day goes; how many."""
    return services.calibration_material_expire(timezone.localdate())


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def detect_rater_drift():
    """The daily rater drift job: alerts raised and closed; how many of each."""
    return services.rater_drift_detect(timezone.localdate())
