"""Writes to observations: drafts, submission, amendment, acknowledgement, recomputation;
and to rubric versions: publishing, retiring, copying, importing."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Max
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from coaching.models import trainer_certified_on
from coaching.services import drift_check_soon
from miiwrap.notifications.delivery import notify
from miiwrap.notifications.models import Notification, absolute_url
from miiwrap.people.models import Role
from observations import models as observation_models
from observations import rubric_io, scoring
from observations.models import Amendment, Observation, RubricVersion

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
    for code, message in scoring.problems(
        definition, observation.scores, complete=complete
    ).items():
        errors[f"item__{code}"] = message
    if errors:
        raise ValidationError(errors)


def apply_scores(observation, definition, now=None):
    """Store the computed metrics on the observation (it is not saved here)."""
    result = scoring.compute(definition, observation.scores)
    observation.metrics = result.as_json()
    observation.overall_score = None if result.overall is None else Decimal(str(result.overall))
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
    """Submit: every required item scored, scores computed and stored."""
    check_observation(observation, definition, complete=True)
    now = timezone.now()
    apply_scores(observation, definition, now)
    observation.status = Observation.Status.SUBMITTED
    observation.submitted_at = now
    observation.save()
    _tell_practitioner(observation)
    drift_check_soon([observation.practitioner_id])
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
    """Change a submitted observation, keeping who, when, why and the old values.

    `observation` holds the new values; `changed` is the same row as stored before.
    """
    if not reason.strip():
        raise ValidationError({"reason": "Say why the observation is being changed."})
    check_observation(observation, definition, complete=True)
    Amendment.objects.create(
        observation=observation,
        amended_by=amended_by,
        reason=reason.strip(),
        previous=snapshot(changed),
    )
    apply_scores(observation, definition)
    observation.save()
    drift_check_soon([observation.practitioner_id, changed.practitioner_id])
    return observation


@transaction.atomic
def observation_acknowledge(*, observation, response=""):
    """The practitioner has read the feedback; they may answer it."""
    if observation.status == Observation.Status.DRAFT:
        raise ValidationError("A draft cannot be acknowledged.")
    observation.status = Observation.Status.ACKNOWLEDGED
    observation.acknowledged_at = observation.acknowledged_at or timezone.now()
    observation.response = response.strip() or observation.response
    observation.save(update_fields=["status", "acknowledged_at", "response", "updated_at"])
    return observation


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
