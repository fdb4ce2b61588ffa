import logging
import os
from functools import partial
from pathlib import Path

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "miiwrap.settings")

logger = logging.getLogger(__name__)

app = Celery("miiwrap")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(
    [
        "miiwrap.people",
        "miiwrap.notifications",
        "miiwrap.nightly",
        "coaching",
        "observations",
        "certification",
    ]
)

# The schedule, one entry per periodic job.
app.conf.beat_schedule = {
    # Expired login sessions pile up in the database; delete them nightly.
    "clear-expired-sessions": {
        "task": "miiwrap.people.tasks.clear_expired_sessions",
        "schedule": crontab(hour=3, minute=15),
    },
    # Calibration cases' transcripts and recording links go the day after the retention
    # day the family consented to (observations.services.calibration_material_expire).
    # Early, and apart from the night at 05:00.
    "expire-calibration-material": {
        "task": "observations.tasks.expire_calibration_material",
        "schedule": crontab(hour=4, minute=10),
    },
    # Coaches whose calibration scores drift lenient or severe get an alert the purveyor
    # and their leaders read on the reliability report (observations.services
    # .rater_drift_detect); those back on the master codes have theirs closed.
    "detect-rater-drift": {
        "task": "observations.tasks.detect_rater_drift",
        "schedule": crontab(hour=4, minute=20),
    },
    # The night, chained rather than timed: the drift job (pooled spreads and the team and
    # item levels, then each organization's practitioners, then the telling of new
    # alerts), then the certification job (each organization's transitions and
    # reminders), then the leaders' daily digests and the sending, each step starting
    # when the last organization's part of the one before is done (miiwrap.nightly).
    # Early, so the digests arrive by the workday.
    "nightly": {
        "task": "miiwrap.nightly.tasks.nightly",
        "schedule": crontab(hour=5, minute=0),
    },
    # Send what is waiting: retries after a failure, and anything whose queued nudge
    # was lost while the broker was down.
    "deliver-notifications": {
        "task": "miiwrap.notifications.tasks.deliver_notifications",
        "schedule": crontab(minute="*/5"),
    },
}


@app.on_after_configure.connect
def _make_queue_folders(sender, **kwargs):
    # The filesystem transport expects its folders to exist.
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


def enqueue(task, *args, **kwargs):
    """Queue a task; if the broker cannot take it, log that and return False.

    Only for work the database also remembers, so that a scheduled run does it anyway:
    a page or a save must keep working while Redis is down.
    """
    try:
        task.apply_async(args, kwargs)
    except Exception as error:  # whatever the transport raises, the page goes on
        logger.warning("Could not queue %s (%s); its scheduled run will do it.", task.name, error)
        return False
    return True


def enqueue_on_commit(task, *args, **kwargs):
    """Queue a task once the current transaction commits (never for rolled-back work)."""
    from django.db import transaction

    transaction.on_commit(partial(enqueue, task, *args, **kwargs))
