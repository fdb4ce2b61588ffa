import datetime as dt

from celery import shared_task
from django.db import DatabaseError

from miiwrap.nightly import runs

RETRIED = {"autoretry_for": (DatabaseError,), "retry_backoff": True, "max_retries": 5}


@shared_task(**RETRIED)
def nightly(day=None, now=None, replay=False):
    """Beat's nightly entry: the drift job, then the certification job, then the digests,
    each fanned out per organization (miiwrap.nightly.runs)."""
    day = dt.date.fromisoformat(day) if day else None
    run = runs.night(day, now=runs.parse_moment(now), replay=replay)
    return str(run) if run else "This night has run already."


@shared_task(**RETRIED)
def nightly_start(job, day, now=None, replay=False):
    run = runs.start(job, dt.date.fromisoformat(day), now=runs.parse_moment(now), replay=replay)
    return str(run) if run else "This night has run already."


@shared_task(bind=True, **RETRIED)
def nightly_part(self, run_id, organization_id):
    final = self.request.retries >= self.max_retries
    return runs.do_part(run_id, organization_id, worker=self.request.hostname or "", final=final)


@shared_task(**RETRIED)
def nightly_close(run_id):
    return "Closed." if runs.close(run_id) else "Closed already."


@shared_task
def nightly_warm():
    """After the night's last job: keep the dashboard sections leaders land on."""
    from miiwrap.dashboards import leader

    return f"Kept the sections of {leader.warm()} dashboard scopes."
