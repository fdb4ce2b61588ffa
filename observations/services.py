"""Writes to observations: drafts, submission, amendment, acknowledgement, disputes,
recomputation; and to rubric versions: publishing, retiring, copying, importing."""

import hashlib
import logging
from decimal import Decimal
from functools import partial

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from coaching.models import trainer_certified_on
from coaching.services import drift_check_soon
from miiwrap import generations
from miiwrap.audit import update_with_history
from miiwrap.notifications.delivery import notify
from miiwrap.notifications.models import Notification, absolute_url
from miiwrap.people.models import Role
from observations import calibration, changes, rater_drift, rubric_io, scoring
from observations import models as observation_models
from observations.dispute_window import Window
from observations.forms import ITEM_PREFIX
from observations.models import Amendment, Dispute, Observation, RubricVersion

logger = logging.getLogger(__name__)

FEEDBACK_FIELDS = [
    "strengths",
    "strengths_items",
    "growth_areas",
    "growth_areas_items",
    "next_steps",
    "next_steps_items",
]
EDITABLE_FIELDS = [
    "practitioner",
    "rubric_version",
    "observed_on",
    "activity",
    "mode",
    "duration_minutes",
    "scores",
    *FEEDBACK_FIELDS,
]


def local_today(person):
    """Today in the person's organization's time zone: a date is a date where they work."""
    return person.organization.local_today()


def observer_problem(coach, practitioner):
    """Why this coach may not observe this practitioner, or None when they may."""
    if coach.pk == practitioner.pk:
        return "A coach cannot observe themselves."
    # has_role reads prefetched grants when there are some, so an import checks rows in memory.
    if not coach.has_role(Role.COACH):
        return f"{coach} does not hold the coach role."
    same_org = coach.organization_id == practitioner.organization_id
    if not (same_org or coach.organization.is_purveyor):
        return f"{coach} coaches in another organization than {practitioner}."
    return None


def trainer_problem(observer, rubric, on):
    """Why `observer` may not observe coaching on `on`, or None: coaching (the coaching
    rubric) is observed only by someone holding a current MiiWrap Trainer certification."""
    if rubric.observes_coaching and not trainer_certified_on(observer, on):
        return (
            f"Only a certified MiiWrap Trainer observes coaching: {observer} holds no "
            f"current Trainer certification on {on:%Y-%m-%d}."
        )
    return None


def date_problem(practitioner, observed_on):
    if observed_on > local_today(practitioner):
        return "The observation date cannot be in the future."
    if observed_on < practitioner.hire_date:
        return f"{practitioner} was hired on {practitioner.hire_date:%Y-%m-%d}; pick a later date."
    if practitioner.leave_date and observed_on > practitioner.leave_date:
        return f"{practitioner} left on {practitioner.leave_date:%Y-%m-%d}; pick an earlier date."
    return None


def check_observation(observation, definition, *, complete):
    """Every rule an observation must meet to be saved (a draft) or submitted (complete)."""
    errors = {}
    rubric = observation.rubric_version.rubric
    practitioner = observation.practitioner
    observer = observation.coach
    problem = (
        observer_problem(observer, practitioner)
        or rubric.audience_problem(practitioner)
        or trainer_problem(observer, rubric, observation.observed_on)
    )
    if problem:
        errors["practitioner"] = problem
    if problem := date_problem(observation.practitioner, observation.observed_on):
        errors["observed_on"] = problem
    if observation.rubric_version.status != RubricVersion.Status.PUBLISHED and (
        observation.is_draft or observation._state.adding
    ):
        errors["rubric_version"] = "Pick a published rubric version."
    errors.update(item_problems(definition, observation.scores, complete=complete))
    if errors:
        raise ValidationError(errors)


def item_problems(definition, scores, *, complete):
    """{form field: message} for the item scores that are wrong, or missing when `complete`
    (observations.scoring.problems, named as the forms name their item fields)."""
    found = scoring.problems(definition, scores, complete=complete)
    return {f"{ITEM_PREFIX}{code}": message for code, message in found.items()}


def check_scores(definition, scores, *, complete):
    """Refuse scores an item would not take (or, `complete`, one left unscored)."""
    if problems := item_problems(definition, scores, complete=complete):
        raise ValidationError(problems)


def overall_of(definition, scores):
    """The overall score of these scores as stored (a Decimal), or None when undefined."""
    return _stored(scoring.compute(definition, scores).overall)


def _stored(overall):
    return None if overall is None else Decimal(str(overall))


def apply_scores(observation, definition, now=None):
    """Store the computed metrics on the observation (it is not saved here)."""
    result = scoring.compute(definition, observation.scores)
    observation.metrics = result.as_json()
    observation.overall_score = _stored(result.overall)
    observation.band = result.band or ""
    observation.computed_at = now or timezone.now()
    return result


@transaction.atomic
def observation_save_draft(*, observation, definition):
    """Save a draft as it stands; only what is entered must be valid."""
    check_observation(observation, definition, complete=False)
    observation.status = Observation.Status.DRAFT
    apply_scores(observation, definition)
    observation.save()
    return observation


@transaction.atomic
def observation_submit(*, observation, definition):
    """Submit: every required item scored, scores computed and stored. A visit with a
    second observer still scoring stays a draft, which only its observer sees, until they
    have (co_observation_submit submits it then)."""
    check_observation(observation, definition, complete=True)
    co = _pending_co_observation(observation)
    if co is not None and co.submitted_at is None:
        observation_save_draft(observation=observation, definition=definition)
        if co.primary_done_at is None:
            co.primary_done_at = timezone.now()
            co.save(update_fields=["primary_done_at"])
        return observation
    now = timezone.now()
    apply_scores(observation, definition, now)
    observation.status = Observation.Status.SUBMITTED
    observation.submitted_at = now
    observation.save()
    _tell_practitioner(observation)
    drift_check_soon([observation.practitioner_id])
    if co is not None:
        _co_observation_close(co, observation, definition)
    return observation


def _tell_practitioner(observation):
    """The practitioner hears of new feedback to read. The email is queued once the
    submission commits (see notify)."""
    coach, link = observation.coach, observation.get_absolute_url()
    notify(
        observation.practitioner,
        Notification.Kind.FEEDBACK,
        f"New feedback from {coach} to acknowledge",
        f"{coach} observed your work on {observation.observed_on:%Y-%m-%d} and left "
        f"feedback. Read it and acknowledge it here: {absolute_url(link)}",
        link=link,
    )


def snapshot(observation):
    """The values an amendment keeps: everything editable plus what was computed from it."""
    data = {name: getattr(observation, name) for name in EDITABLE_FIELDS}
    for name in ("practitioner", "rubric_version", "activity"):
        data[name] = getattr(observation, f"{name}_id")
    data["observed_on"] = observation.observed_on.isoformat()
    data.update(
        overall_score=None if observation.overall_score is None else str(observation.overall_score),
        band=observation.band,
        metrics=observation.metrics,
    )
    return data


@transaction.atomic
def observation_amend(*, observation, changed, definition, amended_by, reason):
    """Change a submitted observation, keeping who, when, why and the old values. An open
    dispute of it is settled by the change; the practitioner is told what changed.

    `observation` holds the new values; `changed` is the same row as stored before.
    """
    if not reason.strip():
        raise ValidationError({"reason": "Say why the observation is being changed."})
    check_observation(observation, definition, complete=True)
    amendment = Amendment.objects.create(
        observation=observation,
        amended_by=amended_by,
        reason=reason.strip(),
        previous=snapshot(changed),
    )
    apply_scores(observation, definition)
    observation.save()
    dispute = _settle_by(amendment, amended_by)
    lines = changes.described(changed, observation, definition)
    _tell_of_amendment(amendment, changed, lines, dispute)
    _tell_former_practitioner(amendment, changed, dispute)
    drift_check_soon([observation.practitioner_id, changed.practitioner_id])
    return observation


def _tell(recipient, actor, kind, subject, body, *, link, key):
    """Notify `recipient` once of `key`, unless they did it themselves."""
    if actor is not None and recipient.pk == actor.pk:
        return None
    return notify(recipient, kind, subject, body, link=link, key=key)


def _tell_of_amendment(amendment, before, lines, dispute):
    """The practitioner hears what the amendment changed, and that it settles their
    dispute when it does."""
    observation, by = amendment.observation, amendment.amended_by
    link = observation.get_absolute_url()
    listed = "".join(f"- {line}\n" for line in lines) or "- No score or feedback changed.\n"
    settles = ""
    if dispute is not None and dispute.raised_by_id == observation.practitioner_id:
        settles = "This amendment answers your dispute, which is now settled.\n"
    _tell(
        observation.practitioner,
        by,
        Notification.Kind.AMENDMENT,
        f"{by} amended the observation of {before.observed_on:%Y-%m-%d}",
        f"{by} changed the observation of your work on {before.observed_on:%Y-%m-%d}.\n"
        f"{settles}\nWhat changed:\n{listed}\nWhy: {amendment.reason}\n\n"
        f"Read it here: {absolute_url(link)}",
        link=link,
        key=f"amendment-{amendment.pk}",
    )


def _tell_former_practitioner(amendment, before, dispute):
    """An amendment that names someone else as observed tells the one it named before,
    who can no longer open it."""
    observation, by = amendment.observation, amendment.amended_by
    if observation.practitioner_id == before.practitioner_id:
        return
    settles = ""
    if dispute is not None and dispute.raised_by_id == before.practitioner_id:
        settles = " This settles your dispute."
    _tell(
        before.practitioner,
        by,
        Notification.Kind.AMENDMENT,
        f"The observation of {before.observed_on:%Y-%m-%d} is no longer listed as yours",
        f"{by} corrected the observation of {before.observed_on:%Y-%m-%d}: it was of "
        f"{observation.practitioner}, not of you.{settles}\nWhy: {amendment.reason}",
        link="",
        key=f"amendment-{amendment.pk}-moved",
    )


@transaction.atomic
def observation_acknowledge(*, observation, response=""):
    """The practitioner has read the feedback; they may answer it. Their coach is told of
    the first acknowledgement and of each new reply; the same post sent again changes
    nothing and tells nobody."""
    if observation.status == Observation.Status.DRAFT:
        raise ValidationError("A draft cannot be acknowledged.")
    # Locked, so two posts at once are compared one after the other.
    stored = Observation.objects.select_for_update().get(pk=observation.pk)
    response = response.strip()
    first = stored.acknowledged_at is None
    replied = bool(response) and response != stored.response
    if not (first or replied):
        return observation
    observation.status = Observation.Status.ACKNOWLEDGED
    observation.acknowledged_at = stored.acknowledged_at or timezone.now()
    observation.response = response or stored.response
    observation.save(update_fields=["status", "acknowledged_at", "response", "updated_at"])
    _tell_coach_of_response(observation, first=first, reply=response if replied else "")
    return observation


def _tell_coach_of_response(observation, *, first, reply):
    practitioner, on = observation.practitioner, f"{observation.observed_on:%Y-%m-%d}"
    link = observation.get_absolute_url() + "#response"
    if first:
        verb = "acknowledged your feedback" + (" and replied" if reply else "")
        key = f"observation-{observation.pk}-acknowledged"
    else:
        verb = "replied to your feedback"
        key = (
            f"observation-{observation.pk}-reply-{hashlib.sha256(reply.encode()).hexdigest()[:16]}"
        )
    said = f"\n\nTheir reply:\n{reply}" if reply else ""
    _tell(
        observation.coach,
        practitioner,
        Notification.Kind.RESPONSE,
        f"{practitioner} {verb} of {on}",
        f"{practitioner} {verb} of {on}.{said}\n\nRead it here: {absolute_url(link)}",
        link=link,
        key=key,
    )


# Disputes ----------------------------------------------------------------------------------


def dispute_window(observation):
    """When the observed person may dispute `observation`: from the day it was submitted,
    for the days set by the program it counts toward (see Program.dispute_window_days)."""
    from certification.models import Program  # certification reads observations' models

    practitioner = observation.practitioner
    rubric_id = observation.rubric_version.rubric_id
    days = Program.objects.dispute_window_days(practitioner, rubric_id)
    submitted = observation.submitted_at or observation.created_at
    return Window(practitioner.organization.local_today(submitted), days)


def may_settle(person, observation):
    """Who answers a dispute: the observation's coach, or a purveyor admin (as amends)."""
    return person.pk == observation.coach_id or person.has_role(Role.PURVEYOR_ADMIN)


def dispute_problem(observation, by, today, window):
    """Why `by` may not dispute `observation` on `today`; None when they may."""
    if by.pk != observation.practitioner_id:
        return "Only the person observed disputes an observation."
    if observation.is_draft:
        return "A draft cannot be disputed."
    if observation.disputes.open().exists():
        return "You already dispute this observation; your coach has not answered yet."
    if not window.is_open_on(today):
        return f"The time to dispute this observation ended on {window.closes_on:%Y-%m-%d}."
    return None


@transaction.atomic
def dispute_raise(*, observation, by, reason):
    """The observed person disputes the observation, saying why; their coach is told. One
    open dispute an observation: a second is refused (the database holds to it too)."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say what is wrong with the observation."})
    Observation.objects.select_for_update().filter(pk=observation.pk).first()
    window = dispute_window(observation)
    today = observation.practitioner.organization.local_today()
    if problem := dispute_problem(observation, by, today, window):
        raise ValidationError({"reason": problem})
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(observation=observation, raised_by=by, reason=reason)
    except IntegrityError:
        raise ValidationError({"reason": "This observation is already disputed."}) from None
    _tell_coach_of_dispute(dispute)
    return dispute


def _tell_coach_of_dispute(dispute):
    observation, by = dispute.observation, dispute.raised_by
    on, link = f"{observation.observed_on:%Y-%m-%d}", dispute.get_absolute_url()
    _tell(
        observation.coach,
        by,
        Notification.Kind.DISPUTE,
        f"{by} disputes your observation of {on}",
        f"{by} disputes your observation of {on}. Until you answer, it does not count as "
        f"certification evidence.\n\nWhy:\n{dispute.reason}\n\nAmend the observation or "
        f"answer in writing here: {absolute_url(link)}",
        link=link,
        key=f"dispute-{dispute.pk}-raised",
    )


@transaction.atomic
def dispute_answer(*, dispute, by, answer):
    """The coach settles a dispute in writing, without changing the observation; the
    person who raised it is told. Refused once it is settled."""
    answer = answer.strip()
    if not answer:
        raise ValidationError({"answer": "Write your answer to the dispute."})
    if not may_settle(by, dispute.observation):
        raise ValidationError("Only the observation's coach or a purveyor admin answers it.")
    still_open = Dispute.objects.filter(pk=dispute.pk, status=Dispute.Status.OPEN)
    values = {"answer": answer, "settled_by": by, "settled_at": timezone.now()}
    if not update_with_history(still_open, user=by.user, status=Dispute.Status.ANSWERED, **values):
        raise ValidationError("This dispute is settled already.")
    generations.touched(dispute.observation.practitioner.organization_id)
    dispute.refresh_from_db()
    _tell_of_answer(dispute)
    return dispute


def _settle_by(amendment, by):
    """The open dispute of the amended observation, settled by the amendment; or None."""
    still_open = Dispute.objects.filter(observation=amendment.observation_id).open()
    values = {"amendment": amendment, "settled_by": by, "settled_at": timezone.now()}
    if update_with_history(still_open, user=by.user, status=Dispute.Status.AMENDED, **values):
        generations.touched(amendment.observation.practitioner.organization_id)
        return Dispute.objects.get(amendment=amendment)
    return None


def _tell_of_answer(dispute):
    observation, by = dispute.observation, dispute.settled_by
    on, link = f"{observation.observed_on:%Y-%m-%d}", dispute.get_absolute_url()
    _tell(
        dispute.raised_by,
        by,
        Notification.Kind.DISPUTE,
        f"{by} answered your dispute of the observation of {on}",
        f"{by} answered your dispute of the observation of {on}, without changing it:\n\n"
        f"{dispute.answer}\n\nThe dispute is settled, and the observation counts again as "
        f"certification evidence. Read it here: {absolute_url(link)}",
        link=link,
        key=f"dispute-{dispute.pk}-settled",
    )


RECOMPUTED = "Recomputed after a scoring fix"


def observations_recompute(queryset, batch_size=2000, by=None):
    """Recompute stored scores after a formula fix; returns how many rows changed.

    Each changed row gets a history row, so its old scores and band stay readable;
    `by` (a user) is who ran it.
    """
    definitions = {}
    changed = 0
    # updated_at too: what reads changes since (the drift job's item sums) must see them.
    fields = ["metrics", "overall_score", "band", "computed_at", "updated_at"]
    batch = []
    for observation in queryset.submitted().iterator(chunk_size=batch_size):
        version_id = observation.rubric_version_id
        if version_id not in definitions:
            version = RubricVersion.objects.with_structure().get(pk=version_id)
            definitions[version_id] = version.definition()
        before = (observation.metrics, observation.overall_score, observation.band)
        apply_scores(observation, definitions[version_id])
        if before != (observation.metrics, observation.overall_score, observation.band):
            observation.updated_at = timezone.now()
            batch.append(observation)
            changed += 1
        if len(batch) >= batch_size:
            _write_recomputed(batch, fields, by)
            batch = []
    _write_recomputed(batch, fields, by)
    return changed


def _write_recomputed(batch, fields, by):
    if batch:
        bulk_update_with_history(
            batch, Observation, fields, default_user=by, default_change_reason=RECOMPUTED
        )
        # A fix to scoring is rare and reaches every organization's figures.
        generations.touched(everyone=True)


# Rubric versions ---------------------------------------------------------------------------


def publish_problems(version):
    """Why this version cannot take observations yet; [] when it can."""
    try:
        rubric_io.check(rubric_io.dump_version(version))
    except rubric_io.RubricFormatError as error:
        return [str(error)]
    definition = version.definition()
    if not definition.items:
        return ["Add at least one item."]
    # A trial computation on the lowest and the highest scores catches what the file
    # format cannot, such as a threshold that is not a number.
    for pick in (_lowest, _highest):
        try:
            scoring.compute(definition, {item.code: pick(item) for item in definition.items})
        except (ArithmeticError, TypeError, ValueError) as error:
            return [f"The scores cannot be computed: {error}."]
    return []


def _lowest(item):
    return 0 if item.kind != scoring.RATING else item.scale_min


def _highest(item):
    return {scoring.RATING: item.scale_max, scoring.YES_NO: 1}.get(item.kind, 10)


@transaction.atomic
def rubric_version_publish(*, version):
    if version.status != RubricVersion.Status.DRAFT:
        raise ValidationError(f"{version} is {version.get_status_display().lower()}, not a draft.")
    problems = publish_problems(version)
    if problems:
        raise ValidationError(problems)
    version.status = RubricVersion.Status.PUBLISHED
    version.published_at = timezone.now()
    version.save(update_fields=["status", "published_at"])
    return version


def rubric_version_retire(*, version):
    """No new observations on this version; those made on it keep it."""
    if version.status != RubricVersion.Status.PUBLISHED:
        raise ValidationError(
            f"{version} is {version.get_status_display().lower()}; only a "
            "published version is retired."
        )
    version.status = RubricVersion.Status.RETIRED
    version.save(update_fields=["status"])
    return version


@transaction.atomic
def rubric_version_copy(*, version):
    """A new draft with the next number and the same domains, items, levels and metrics."""
    data = rubric_io.dump_version(version)
    latest = version.rubric.versions.aggregate(Max("number"))["number__max"]
    data["version"].update(
        number=latest + 1,
        status=RubricVersion.Status.DRAFT,
        notes=f"Copied from version {version.number}.",
    )
    return rubric_io.load_version(data, observation_models)


def rubric_version_import(*, data):
    """Load a rubric document; RubricFormatError (nothing saved) when it cannot be loaded."""
    try:
        with transaction.atomic():
            return rubric_io.load_version(data, observation_models)
    except rubric_io.RubricFormatError:
        raise
    except (DatabaseError, LookupError, TypeError, ValueError, AttributeError) as error:
        # What check() lets through and the database refuses, such as a label too long.
        raise rubric_io.RubricFormatError(
            f"The file could not be loaded ({type(error).__name__}: {error})."
        ) from error


# Calibration against master codes ---------------------------------------------------------


def calibration_case_code(*, case, scores, rationale, by, definition):
    """Store the expert's master code and rationale; every submitted attempt at the case is
    compared again, so what coaches were told matches the code now kept (the old code
    stays in the case's history)."""
    check_scores(definition, scores, complete=True)
    with transaction.atomic():
        case.master_scores = scores
        case.rationale = {code: text for code, text in rationale.items() if text}
        case.master_coder = by
        case.master_coded_at = timezone.now()
        case.save()
        for attempt in case.attempts.submitted().select_for_update():
            calibration_attempt_compare(attempt, definition)
            attempt.save()
    return case


def calibration_attempt_compare(attempt, definition):
    """Set the attempt's figures from its case's master code (not saved here)."""
    figures = calibration.compare(definition, attempt.case.master_scores, attempt.scores)
    for name, value in figures.as_fields().items():
        setattr(attempt, name, value)


def calibration_round_assign(*, round, coaches, by=None):
    """Assign each coach to score the round's cases; those already assigned are left as
    they are, so assigning twice (or an organization, then one of its coaches) stores one."""
    made = []
    for coach in coaches:
        if not coach.has_role(Role.COACH):
            raise ValidationError(f"{coach} is not a coach: only coaches are calibrated.")
        assignment, created = observation_models.CalibrationAssignment.objects.get_or_create(
            round=round, coach=coach, defaults={"assigned_by": by}
        )
        if created:
            made.append(assignment)
    return made


def calibration_problem(*, round, case, coach, today):
    """Why `coach` may not score `case` in `round` on `today`; None when they may."""
    if not round.assignments.filter(coach=coach).exists():
        return "You are not assigned to this calibration round."
    if not round.cases.filter(pk=case.pk).exists():
        return "This case is not part of the round."
    if today < round.opens_on:
        return f"The round opens on {round.opens_on:%Y-%m-%d}."
    if not case.is_master_coded:
        return "The case has no master code yet; the purveyor is still scoring it."
    return None


@transaction.atomic
def calibration_attempt_save(*, attempt, definition, submit):
    """Save a coach's scores of a case as a draft, or submit them (every required item
    scored) and compare them with the master code. A submitted attempt is final."""
    stored = _attempt_as_stored(attempt)
    if stored is not None and stored.is_submitted:
        raise ValidationError("You have already submitted this case; your scores are final.")
    check_scores(definition, attempt.scores, complete=submit)
    if submit:
        attempt.status = attempt.Status.SUBMITTED
        attempt.submitted_at = timezone.now()
        attempt.overall_score = overall_of(definition, attempt.scores)
        calibration_attempt_compare(attempt, definition)
    try:
        with transaction.atomic():
            attempt.save()
    except IntegrityError:
        # Saved meanwhile from another tab or a post sent twice: one attempt, the first.
        raise ValidationError("These scores were saved from another page; reload it.") from None
    return attempt


def _attempt_as_stored(attempt):
    if attempt.pk is None:
        return None
    return type(attempt).objects.select_for_update().filter(pk=attempt.pk).first()


def calibration_transcripts_forget(*, names):
    """Delete transcript files no case names any more (replaced, cleared, or their case
    deleted) once the change is committed: left behind, no retention day would reach them."""
    storage = observation_models.CalibrationCase._meta.get_field("transcript").storage
    for name in filter(None, names):
        transaction.on_commit(partial(storage.delete, name))


def calibration_material_expire(today):
    """Delete the transcripts of cases kept past their retention day, and remove their
    recording links; each case is claimed with a conditional UPDATE first, so two runs at
    once delete each file once. Returns how many cases were cleared."""
    Case = observation_models.CalibrationCase
    due = Case.objects.filter(retain_until__lt=today, material_removed_on=None)
    cleared = 0
    for case in due.order_by("pk"):
        try:
            cleared += _calibration_material_remove(case, today)
        except OSError:
            # A file the storage cannot delete now (a permission, a disk away) is logged
            # and left, unclaimed, to the next run; the other cases go on.
            logger.exception("The material of calibration case %s was not removed.", case.pk)
    return cleared


def _calibration_material_remove(case, today):
    # In one transaction: a run that dies between the claim and the file leaves the case
    # to the next run (deleting a file already gone is no error).
    Case = type(case)
    with transaction.atomic():
        claimed = Case.objects.filter(pk=case.pk, material_removed_on=None)
        if not claimed.update(material_removed_on=today):
            return 0
        if case.transcript:
            case.transcript.delete(save=False)
        case.recording_url = ""
        case.save(update_fields=["transcript", "recording_url"])
    return 1


# Co-observation: a second observer at the same visit --------------------------------------


def _pending_co_observation(observation):
    if observation.pk is None:
        return None
    pending = observation_models.CoObservation.objects.pending().select_for_update()
    return pending.filter(observation=observation).first()


def co_observer_problem(observation, second, by):
    """Why `by` may not ask `second` to co-observe `observation`; None when they may."""
    if by.pk != observation.coach_id:
        return "Only the visit's observer invites a second observer."
    if not observation.is_draft:
        return "Invite a second observer before you submit the observation."
    if second.pk in (observation.coach_id, observation.practitioner_id):
        return "The second observer must be someone other than the observer and the observed."
    if not observation_models.CoObservation.candidates(observation).filter(pk=second.pk).exists():
        return f"{second} cannot co-observe here: pick a coach of the organization or the purveyor."
    return None


@transaction.atomic
def co_observation_invite(*, observation, second, by):
    """Ask `second` to score the visit too. Asking again for the same person returns the
    invitation already made; another person is refused while one is waiting."""
    current = _pending_co_observation(observation) or (
        observation_models.CoObservation.objects.filter(observation=observation).first()
    )
    if current is not None and current.status != current.Status.WITHDRAWN:
        if current.second_observer_id == second.pk:
            return current
        raise ValidationError(f"{current.second_observer} is already the second observer.")
    if problem := co_observer_problem(observation, second, by):
        raise ValidationError(problem)
    if current is not None:  # withdrawn before: asked again, perhaps someone else
        current.delete()
    co = observation_models.CoObservation.objects.create(
        observation=observation, second_observer=second, invited_by=by
    )
    link = co.get_absolute_url()
    _tell(
        second,
        by,
        Notification.Kind.CO_OBSERVATION,
        f"{by} asks you to co-observe a visit",
        f"{by} asked you to score the visit with {observation.practitioner} on "
        f"{observation.observed_on:%Y-%m-%d} on your own. Neither of you sees the other's "
        f"scores until both have scored: {absolute_url(link)}",
        link=link,
        key=f"co-observation:{co.pk}:invited",
    )
    return co


@transaction.atomic
def co_observation_save(*, co, scores, definition, submit):
    """The second observer's scores, as a draft or submitted (every required item); once
    both have scored, the observation is submitted and the two compared."""
    co = observation_models.CoObservation.objects.select_for_update().get(pk=co.pk)
    if not co.is_pending or co.submitted_at is not None:
        raise ValidationError("Your scores of this visit are already in; they cannot change.")
    check_scores(definition, scores, complete=submit)
    co.scores = scores
    if not submit:
        co.save(update_fields=["scores"])
        return co
    co.submitted_at = timezone.now()
    co.save(update_fields=["scores", "submitted_at"])
    if co.primary_done_at is not None:
        observation = Observation.objects.select_related("practitioner").get(pk=co.observation_id)
        observation_submit(observation=observation, definition=definition)
        co.refresh_from_db()
    return co


def co_observation_compare(co, reference, definition):
    """Set the co-observation's figures, the observation of record's scores `reference`
    (not saved here); it keeps no absolute difference."""
    figures = calibration.compare(definition, reference, co.scores).as_fields()
    del figures["absolute_difference"]
    for name, value in figures.items():
        setattr(co, name, value)
    co.second_overall = overall_of(definition, co.scores)


def _co_observation_close(co, observation, definition):
    """Both have scored: the comparison (the record's scores as the reference) is kept."""
    co_observation_compare(co, observation.scores, definition)
    co.status, co.closed_at = co.Status.SUBMITTED, timezone.now()
    co.save()
    link = co.get_absolute_url()
    for person in (observation.coach, co.second_observer):
        _tell(
            person,
            None,
            Notification.Kind.CO_OBSERVATION,
            f"Both scores are in for the visit with {observation.practitioner}",
            f"You and your co-observer have both scored the visit on "
            f"{observation.observed_on:%Y-%m-%d}. Compare your scores: {absolute_url(link)}",
            link=link,
            key=f"co-observation:{co.pk}:closed:{person.pk}",
        )


@transaction.atomic
def co_observation_withdraw(*, co, by):
    """The observer withdraws the invitation, or the second observer declines it, while
    they have not scored: the observation goes ahead alone (submitted now if its
    observer had finished)."""
    co = observation_models.CoObservation.objects.select_for_update().get(pk=co.pk)
    if not co.is_pending or co.submitted_at is not None:
        raise ValidationError("The second observer has scored the visit already.")
    if by.pk not in (co.invited_by_id, co.second_observer_id):
        raise ValidationError("Only the observer or the second observer withdraws it.")
    co.status, co.closed_at = co.Status.WITHDRAWN, timezone.now()
    co.save(update_fields=["status", "closed_at"])
    if co.primary_done_at is not None:
        observation = Observation.objects.select_related("practitioner", "rubric_version").get(
            pk=co.observation_id
        )
        definition = observation.rubric_version.definition()
        observation_submit(observation=observation, definition=definition)
    return co


# Rater drift ------------------------------------------------------------------------------


def rater_drift_detect(today):
    """Raise an alert for each coach whose calibration scores drift lenient or severe
    (observations.rater_drift), and close those whose latest case no longer does. Run
    twice, it raises nothing twice: one open alert per coach and direction. Returns
    {"raised": n, "closed": n, "open": n}."""
    Alert = observation_models.RaterAlert
    attempts = list(
        observation_models.CalibrationAttempt.objects.submitted()
        .exclude(signed_difference=None)
        .select_related("case")
        .only(
            "coach_id",
            "signed_difference",
            "scores",
            "case__master_scores",
            "case__rubric_version_id",
        )
        .order_by("coach_id", "submitted_at", "pk")
    )
    by_coach = {}
    for attempt in attempts:
        by_coach.setdefault(attempt.coach_id, []).append(attempt)
    coaches = list(by_coach)
    series = [[float(a.signed_difference) for a in by_coach[pk]] for pk in coaches]
    found = rater_drift.check(series, rater_drift.sigma_of(series))
    drifting = {
        (coaches[i], d.direction): (by_coach[coaches[i]][d.began :], d) for i, d in found.items()
    }
    opened = {(a.coach_id, a.direction): a for a in Alert.objects.open()}
    raised = 0
    for (coach_id, direction), (since, drift) in drifting.items():
        alert = opened.get((coach_id, direction))
        if alert is None:
            raised += _raise_rater_alert(coach_id, direction, since, drift, today)
        else:
            alert.level, alert.cases, alert.checked_on = (
                Decimal(f"{drift.level:.3f}"),
                len(since),
                today,
            )
            alert.save(update_fields=["level", "cases", "checked_on"])
    closed = [alert for key, alert in opened.items() if key not in drifting]
    for alert in closed:
        alert.closed_on = alert.checked_on = today
        alert.save(update_fields=["closed_on", "checked_on"])
    return {"raised": raised, "closed": len(closed), "open": len(drifting)}


def _raise_rater_alert(coach_id, direction, since, drift, today):
    try:
        with transaction.atomic():
            observation_models.RaterAlert.objects.create(
                coach_id=coach_id,
                direction=direction,
                raised_on=today,
                checked_on=today,
                rules=list(drift.rules),
                level=Decimal(f"{drift.level:.3f}"),
                cases=len(since),
                items=_items_apart(since, direction),
            )
    except IntegrityError:  # raised meanwhile by another run
        return 0
    return 1


def _items_apart(attempts, direction):
    """[(code, label, mean difference)] of the rated items leaning most the drift's way."""
    versions = RubricVersion.objects.with_structure().in_bulk(
        {a.case.rubric_version_id for a in attempts}
    )
    differences, labels = {}, {}
    for attempt in attempts:
        definition = versions[attempt.case.rubric_version_id].definition()
        compared = calibration.compare(definition, attempt.case.master_scores, attempt.scores)
        for row in compared.counted:
            if row.item.kind == scoring.RATING and row.difference is not None:
                differences.setdefault(row.item.code, []).append(row.difference)
                labels[row.item.code] = row.item.label
    return [
        [code, labels[code], round(mean, 2)]
        for code, mean in rater_drift.items_apart(differences, direction)
    ]
