import os
from pathlib import Path

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "miiwrap.settings")

app = Celery("miiwrap")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["miiwrap.people", "coaching", "observations", "certification"])

# The schedule, one entry per periodic job.
app.conf.beat_schedule = {
    # Expired login sessions pile up in the database; delete them nightly.
    "clear-expired-sessions": {
        "task": "miiwrap.people.tasks.clear_expired_sessions",
        "schedule": crontab(hour=3, minute=15),
    },
}


@app.on_after_configure.connect
def _make_queue_folders(sender, **kwargs):
    # The filesystem transport expects its folders to exist.
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
