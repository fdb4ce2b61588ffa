"""The night: the drift job, then the certification job, then the digests, fanned out.

Each job's night runs in three steps:
1. a system-wide first step (the drift job's pooled spreads and team and item levels),
   whose result the run row keeps for every organization's part;
2. one part per organization, each a Celery task, in any order, on any worker: memory is
   bounded by the largest organization, and N workers share the night (a part that
   fails for good is marked with its error, so the others still move the night on);
3. once the last part is done, a system-wide closing step (the drift job tells of its
   alerts; the certification job makes the leaders' digests and sends), which starts the
   next job's night; after the last, the dashboard sections leaders land on are computed
   and kept (miiwrap.dashboards.leader.warm), so that the morning's first readers do not
   wait for them.

So the digests wait for the drift job by this chaining, not by the clock. The steps are
the very functions the single-process entry points call in turn (coaching.services
.drift_night, certification.jobs.run), so both give the same result.
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from miiwrap.nightly.models import NightlyPart, NightlyRun

logger = logging.getLogger(__name__)
Job = NightlyRun.Job
State = NightlyRun.State


@dataclass(frozen=True)
class Steps:
    first: Callable  # (run date) -> the inputs kept on the run (JSON)
    part: Callable  # (run, organization id)
    close: Callable  # (run)
    then: str | None  # the job whose night starts once this one is closed


def _drift_first(day):
    from coaching import services

    return services.drift_inputs(day).as_json()


def _drift_part(run, organization):
    from coaching import services

    services.drift_organization(organization, run.date, services.NightInputs.from_json(run.inputs))


def _drift_close(run):
    from coaching import services

    services.drift_done(run.date)


def _certification_part(run, organization):
    from certification import jobs

    jobs.run_for(organization, *_day_and_clock(run))


def _certification_close(run):
    from certification import jobs

    jobs.finish(*_day_and_clock(run))


def _day_and_clock(run):
    """(today, now) for the certification job: each organization's own today at the
    run's start, or the replayed day."""
    return (run.date if run.replay else None), run.started_at


JOBS = {
    Job.DRIFT: Steps(_drift_first, _drift_part, _drift_close, then=Job.CERTIFICATION),
    Job.CERTIFICATION: Steps(lambda day: {}, _certification_part, _certification_close, None),
}
FIRST = Job.DRIFT


def organizations():
    from coaching.services import night_organizations

    return night_organizations()


def start(job, day, *, now=None, replay=False):
    """Begin `job`'s night of `day`: its first step, its row, a task per organization.
    A night begun already is not begun again: what it left undone (parts never counted,
    a closing step never run) is queued again instead, which changes nothing done."""
    run = NightlyRun.objects.filter(job=job, date=day).first()
    if run is not None:
        return resume(run)
    inputs = JOBS[job].first(day)
    chosen = organizations()
    try:
        with transaction.atomic():
            run = NightlyRun.objects.create(
                job=job,
                date=day,
                replay=replay,
                expected=len(chosen),
                started_at=now or timezone.now(),
                inputs=inputs,
            )
    except IntegrityError:  # another start of the same night got there first
        return None
    queue_parts(run, chosen)
    close_if_last(run.pk)
    run.refresh_from_db()
    return run


def resume(run):
    """Queue again what a run left undone; None when it is done."""
    if run.state == State.RUNNING:
        done = set(run.parts.values_list("organization_id", flat=True))
        queue_parts(run, [pk for pk in organizations() if pk not in done])
        close_if_last(run.pk)
    elif run.state == State.CLOSING:
        _queue("nightly_close", run.pk)
    elif not _queue_next(run):
        return None
    return run


def queue_parts(run, chosen):
    for organization in chosen:
        _queue("nightly_part", run.pk, organization)


def do_part(run_id, organization, worker="", final=True):
    """One organization's part, then its mark; the last mark closes the run. A part
    already marked (a task delivered twice) is not done again. A part that fails for good
    is marked with its error and the night goes on: a database error is raised instead
    while it has retries left (`final` false), for the task to try again."""
    run = NightlyRun.objects.get(pk=run_id)
    if run.parts.filter(organization_id=organization).exists():
        return DONE_ALREADY
    outcome, error = DONE, ""
    try:
        JOBS[run.job].part(run, organization)
    except Exception as failure:
        if isinstance(failure, DatabaseError) and not final:
            raise
        logger.exception(
            "The %s night of %s failed for organization %s; the night goes on without it.",
            run.job,
            run.date,
            organization,
        )
        outcome, error = FAILED, f"{type(failure).__name__}: {failure}"
    mark_done(run, organization, worker, error=error)
    close_if_last(run.pk)
    return outcome


DONE, DONE_ALREADY, FAILED = "Done.", "Done already.", "Failed, and marked so."


def mark_done(run, organization, worker="", error=""):
    """Count the part once, however often it is marked."""
    with transaction.atomic():
        _, made = NightlyPart.objects.get_or_create(
            run=run,
            organization_id=organization,
            defaults={"finished_at": timezone.now(), "worker": worker, "error": error},
        )
        if made:
            NightlyRun.objects.filter(pk=run.pk).update(done=F("done") + 1)


def close_if_last(run_id):
    """Whoever sees every part counted queues the closing step; the conditional UPDATE
    lets one of them do it, once."""
    claimed = NightlyRun.objects.filter(
        pk=run_id, state=State.RUNNING, done__gte=F("expected")
    ).update(state=State.CLOSING)
    if claimed:
        _queue("nightly_close", run_id)
    return bool(claimed)


def close(run_id):
    """The run's closing step, then the next job's night. A closing step sent twice, or
    after the run is done, does nothing more."""
    run = NightlyRun.objects.get(pk=run_id)
    if run.state != State.CLOSING:
        return False
    steps = JOBS[run.job]
    steps.close(run)
    finished = NightlyRun.objects.filter(pk=run_id, state=State.CLOSING).update(
        state=State.DONE, finished_at=timezone.now()
    )
    if finished and steps.then is None:
        # The night is over, and its writes left every dashboard section stale.
        _queue("nightly_warm")
    elif finished:
        _queue_next(run)
    return bool(finished)


def _queue_next(run):
    """Start the next job's night, unless there is none or it has begun."""
    then = JOBS[run.job].then
    if then is None or NightlyRun.objects.filter(job=then, date=run.date).exists():
        return False
    now = run.started_at.isoformat() if run.replay else None
    _queue("nightly_start", then, run.date.isoformat(), now, run.replay)
    return True


def _queue(name, *args):
    """Through the broker (or inline when tasks run eagerly). Not miiwrap.celery.enqueue:
    a message lost here stalls the night, so a broker error fails the task, to be seen."""
    from miiwrap.nightly import tasks

    getattr(tasks, name).apply_async(args)


def night(day=None, *, now=None, replay=False):
    """Start the night's chain (the first job's night). `day`: the server's today."""
    return start(FIRST, day or timezone.localdate(), now=now, replay=replay)


def parse_moment(text):
    return None if text is None else dt.datetime.fromisoformat(text)
