from celery import shared_task
from django.db import DatabaseError

from miiwrap.notifications import delivery


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def deliver_notifications():
    """Send the emails that are due (new ones and retries); returns the counts. Leaders'
    digests are composed once a day, by the daily certification job."""
    sent = delivery.deliver()
    return {"sent": sent.sent, "retrying": sent.retrying, "failed": sent.failed}
