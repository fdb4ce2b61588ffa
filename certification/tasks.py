from celery import shared_task
from django.db import DatabaseError

from certification import jobs


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def run_certification_jobs():
    """The daily job in one process (the night runs it fanned out: miiwrap.nightly)."""
    report = jobs.run()
    return list(report.lines())
