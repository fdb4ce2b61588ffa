"""Summaries of observations kept on write, for the figures that would otherwise read every
observation on each request: each person's latest observation on each rubric
(LatestObservation: "last observed", the band of the latest, who is overdue) and each
coach's observations a month (CoachMonth: observations against the cadence, feedback
quality).

They are kept by one function, `refresh`, which recomputes the rows of the people a write
touched from the observations themselves, inside the writing transaction (a submit, which
can only add, upserts its two rows in place: `added`): a reader sees them change with the
observation, and a write that fails leaves them as they were. On PostgreSQL both first
take a lock per person, so that two writers for the same person write one after the
other, each seeing what the other committed; SQLite runs one writer at a time anyway.

Everything that writes observations reaches it: saving or deleting one (the signals in
observations.apps), and ObservationQuerySet's bulk_create, bulk_update and update. `rebuild`
recomputes them whole; the tests hold both to `latest_rows` and `month_rows` read afresh.

Both keep every rubric, practice and coaching alike: a reader names the audience it wants,
so a rubric's audience can change without anything to recompute.
"""

from django.apps import apps as global_apps
from django.db import connection, transaction
from django.db.models import Count, DateField, F, Q, Sum, Window
from django.db.models.functions import Cast, RowNumber, TruncMonth

from miiwrap import months, planner
from miiwrap.people.models import Role

# What an observation's summaries read of it: a save that changes none of these (an
# acknowledgement, a reply, a duration) recomputes nothing.
READ = (
    "practitioner_id",
    "coach_id",
    "observed_on",
    "rubric_version_id",
    "overall_score",
    "band",
    "growth_areas_items",
    "next_steps",
)
FIELDS = {name.removesuffix("_id") for name in READ} | set(READ) | {"status"}
# Feedback a practitioner can act on: growth areas tied to items, and a next step written
# (ObservationQuerySet.with_feedback_tied).
TIED = ~Q(growth_areas_items=[]) & ~Q(next_steps="")
# The summaries' models (observations.models).
KEPT = ("LatestObservation", "CoachMonth")
# Bulk writes recompute this many people at a time.
CHUNK = 500
# PostgreSQL advisory lock keys: a kind's own key, and its key plus a person's id.
LOCKS = {"latest": 0x4D57_0100_0000_0000, "months": 0x4D57_0200_0000_0000}
# More people than this in one write: it takes the kind's whole lock rather than one each.
FEW = 50
# An observation's signature when a field it is read from was not loaded.
UNKNOWN = "unknown"


def signature(values):
    """What the summaries read of an observation (its attribute dict), or None for a
    draft, which they do not count; UNKNOWN when a field was not loaded."""
    if values.get("status", UNKNOWN) is UNKNOWN or any(name not in values for name in READ):
        return UNKNOWN
    if values["status"] == "draft":
        return None
    return tuple(values[name] for name in READ)


def keys(signatures):
    """(practitioner ids, (coach id, month) pairs) that these signatures count in."""
    found = [s for s in signatures if s not in (None, UNKNOWN)]
    return (
        {s[0] for s in found},
        {(s[1], months.first_day(s[2])) for s in found},
    )


def _in_database(pk):
    from observations.models import Observation

    values = Observation.objects.filter(pk=pk).values("status", *READ).first()
    return None if values is None else signature(values)


def _before(instance):
    """The signature an observation was loaded (or last saved) with."""
    before = getattr(instance, "_summarized", None if instance._state.adding else UNKNOWN)
    if before is UNKNOWN and instance.pk is not None:
        return _in_database(instance.pk)
    return before


def before_save(sender, instance, raw=False, **kwargs):
    """pre_save: what the row counted in, read before it changes if it was not loaded."""
    instance._summarized = _before(instance)


def after_save(sender, instance, raw=False, **kwargs):
    """post_save: recompute what the row counted in before and counts in now."""
    after = signature(instance.__dict__)
    if after is UNKNOWN:  # saved with deferred fields: read what the database now holds
        after = _in_database(instance.pk)
    if instance._summarized is None and after not in (None, UNKNOWN):
        added(instance)  # newly counted: a submit, the common write
    else:
        written([(instance._summarized, after)])
    instance._summarized = after


def after_delete(sender, instance, **kwargs):
    """post_delete: recompute what the row counted in."""
    written([(_before(instance), None)])


def added(observation):
    """One observation newly counted (submitted now, or a draft submitted): it can only
    become its person's latest on its rubric and add one to its coach's month, so both rows
    are upserted in place, two statements, under the same locks as a recompute (which then
    runs before or after it, never beside it)."""
    from observations.models import CoachMonth, LatestObservation

    latest, month = (
        connection.ops.quote_name(m._meta.db_table) for m in (LatestObservation, CoachMonth)
    )
    day = connection.ops.adapt_datefield_value(observation.observed_on)
    first = connection.ops.adapt_datefield_value(months.first_day(observation.observed_on))
    score = observation.overall_score
    score = None if score is None else connection.ops.adapt_decimalfield_value(score, 6, 2)
    rubric = observation.rubric_version.rubric_id
    tied = observation.growth_areas_items != [] and observation.next_steps != ""
    with transaction.atomic(savepoint=False):
        _lock(latest=[observation.practitioner_id], months=[observation.coach_id])
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {latest} (practitioner_id, rubric_id, observation_id, observed_on,"
                " overall_score, band) VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (practitioner_id, rubric_id) DO UPDATE SET"
                " observation_id = excluded.observation_id, observed_on = excluded.observed_on,"
                " overall_score = excluded.overall_score, band = excluded.band"
                f" WHERE excluded.observed_on > {latest}.observed_on"
                f" OR (excluded.observed_on = {latest}.observed_on"
                f" AND excluded.observation_id > {latest}.observation_id)",
                [observation.practitioner_id, rubric, observation.pk, day, score, observation.band],
            )
            cursor.execute(
                f"INSERT INTO {month} (coach_id, rubric_id, month, observed, tied)"
                " VALUES (%s, %s, %s, 1, %s) ON CONFLICT (coach_id, month, rubric_id)"
                f" DO UPDATE SET observed = {month}.observed + 1,"
                f" tied = {month}.tied + excluded.tied",
                [observation.coach_id, rubric, first, int(tied)],
            )


def written(pairs):
    """Bring the summaries up to date after observations changed, given (before, after)
    signatures of each: the people counted before and after are recomputed."""
    changed = [s for before, after in pairs if before != after for s in (before, after)]
    if changed:
        refresh(*keys(changed))


def refresh(practitioner_ids=(), coach_months=()):
    """Recompute the summaries of these practitioners (every rubric) and of these coaches
    in these months, from their observations."""
    practitioner_ids = sorted({pk for pk in practitioner_ids if pk})
    coach_months = {(coach, month) for coach, month in coach_months if coach}
    if not practitioner_ids and not coach_months:
        return
    with transaction.atomic(savepoint=False):
        _lock(latest=practitioner_ids, months=sorted({coach for coach, _ in coach_months}))
        for start in range(0, len(practitioner_ids), CHUNK):
            _refresh_latest(practitioner_ids[start : start + CHUNK])
        by_coach = sorted(coach_months)
        for start in range(0, len(by_coach), CHUNK):
            _refresh_months(by_coach[start : start + CHUNK])


def rebuild(apps=global_apps):
    """Recompute both summaries whole, from every observation (`apps`: a migration's)."""
    latest, coach_month = (apps.get_model("observations", name) for name in KEPT)
    observations = apps.get_model("observations", "Observation")
    with transaction.atomic():
        _lock(latest=None, months=None)
        latest.objects.all().delete()
        coach_month.objects.all().delete()
        every = latest_rows(observations=observations).iterator(chunk_size=2000)
        latest.objects.bulk_create(_latest(every, latest), batch_size=2000)
        every = month_rows(observations=observations).iterator(chunk_size=2000)
        coach_month.objects.bulk_create(_months(every, coach_month), batch_size=2000)
    if not connection.in_atomic_block:
        planner.analyze(latest, coach_month)


def raw_delete(observations):
    """Delete these observations with one DELETE, sending no signals and collecting no
    cascades (a benchmark's million rows, which nothing else refers to), and bring the
    summaries up to date: the rows naming them go first, then what they counted in is
    recomputed. Returns the rows deleted."""
    from observations.models import LatestObservation

    practitioners = set(observations.order_by().values_list("practitioner_id", flat=True))
    coach_months = set(
        observations.order_by()
        .annotate(month=TruncMonth("observed_on"))
        .values_list("coach_id", "month")
        .distinct()
    )
    with transaction.atomic():
        doomed = LatestObservation.objects.filter(observation__in=observations.values("pk"))
        doomed._raw_delete(doomed.db)
        removed = observations._raw_delete(observations.db)
        refresh(practitioners, coach_months)
    return removed


def _lock(**ids):
    """Wait for any other writer of the same people's rows to commit (PostgreSQL), in one
    statement: {kind's lock key: person ids}. A write of a few people locks each; a bulk
    write (None: everyone) locks them all."""
    if connection.vendor != "postgresql":
        return
    calls, params = [], []
    for kind, pks in ids.items():
        key = LOCKS[kind]
        if pks is None or len(pks) > FEW:
            calls.append("pg_advisory_xact_lock(%s)")
            params.append(key)
        elif pks:
            # In the order given (sorted): two writers never wait for each other in a circle.
            calls.append(
                "pg_advisory_xact_lock_shared(%s), "
                "(SELECT count(pg_advisory_xact_lock(%s + id)) FROM unnest(%s::bigint[]) id)"
            )
            params += [key, key, pks]
    if calls:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(calls)}", params)


def _refresh_latest(practitioner_ids):
    from observations.models import LatestObservation

    LatestObservation.objects.filter(practitioner_id__in=practitioner_ids).delete()
    LatestObservation.objects.bulk_create(_latest(latest_rows(practitioner_ids), LatestObservation))


def _refresh_months(coach_months):
    """The coaches' months from the earliest to the latest named (a few; all of them
    recomputed, which is never wrong)."""
    from observations.models import CoachMonth

    coaches = sorted({coach for coach, _ in coach_months})
    first = min(month for _, month in coach_months)
    last = months.last_day(max(month for _, month in coach_months))
    CoachMonth.objects.filter(coach_id__in=coaches, month__range=(first, last)).delete()
    CoachMonth.objects.bulk_create(_months(month_rows(coaches, first, last), CoachMonth))


def latest_rows(practitioner_ids=None, observations=None):
    """(practitioner, rubric, observation, observed on, overall score, band) of each
    person's latest submitted observation on each rubric, read from the observations."""
    ranked = _submitted(observations)
    if practitioner_ids is not None:
        ranked = ranked.filter(practitioner_id__in=practitioner_ids)
    ranked = ranked.annotate(
        rubric=F("rubric_version__rubric_id"),
        rank=Window(
            RowNumber(),
            partition_by=[F("practitioner_id"), F("rubric_version__rubric_id")],
            order_by=[F("observed_on").desc(), F("pk").desc()],
        ),
    )
    return ranked.filter(rank=1).values_list(
        "practitioner_id", "rubric", "pk", "observed_on", "overall_score", "band"
    )


def month_rows(coach_ids=None, first=None, last=None, observations=None):
    """(coach, rubric, month, observations, tied) of submitted observations, read from the
    observations: those of these coaches from `first` to `last`, or all."""
    rows = _submitted(observations)
    if coach_ids is not None:
        rows = rows.filter(coach_id__in=coach_ids)
    if first is not None:
        rows = rows.filter(observed_on__range=(first, last))
    return (
        rows.annotate(month=TruncMonth("observed_on"), rubric=F("rubric_version__rubric_id"))
        .values_list("coach_id", "rubric", "month")
        .annotate(observed=Count("pk"), tied=Count("pk", filter=TIED))
    )


def _submitted(observations):
    """Submitted observations (ObservationQuerySet.submitted), of a migration's model too."""
    observations = observations or global_apps.get_model("observations", "Observation")
    return observations._default_manager.exclude(status="draft").order_by()


def _latest(rows, model):
    for practitioner, rubric, pk, observed_on, score, band in rows:
        yield model(
            practitioner_id=practitioner,
            rubric_id=rubric,
            observation_id=pk,
            observed_on=observed_on,
            overall_score=score,
            band=band,
        )


def _months(rows, model):
    for coach, rubric, month, observed, tied in rows:
        yield model(coach_id=coach, rubric_id=rubric, month=month, observed=observed, tied=tied)


# Reading ----------------------------------------------------------------------------------


def coach_counts(coach_ids, start, end, audience=Role.PRACTITIONER):
    """{(coach id, first day of month): (observations, tied)} of the coaches' submitted
    observations on rubrics of `audience`, dated `start` to `end`, in one query: whole
    months from CoachMonth, and a month the range cuts counted from its observations
    (those days only)."""
    from observations.models import CoachMonth, Observation

    if not coach_ids:
        return {}
    # Each month the range covers whole, and a test of the days of each it cuts.
    whole, cut = [], Q()
    for month in months.months_between(start, end):
        first, last = max(start, month), min(end, months.last_day(month))
        if (first, last) == (month, months.last_day(month)):
            whole.append(month)
        else:
            cut |= Q(observed_on__range=(first, last))
    parts = []
    if whole:
        kept = CoachMonth.objects.filter(
            coach_id__in=coach_ids, month__range=(whole[0], whole[-1]), rubric__audience=audience
        )
        parts.append(
            kept.order_by()
            .values_list("coach_id", "month")
            .annotate(o=Sum("observed"), t=Sum("tied"))
        )
    if cut:
        rows = Observation.objects.submitted().filter(
            cut, coach_id__in=coach_ids, rubric_version__rubric__audience=audience
        )
        parts.append(
            rows.order_by()
            # A date, as CoachMonth.month is (PostgreSQL truncates to a timestamp).
            .annotate(month=Cast(TruncMonth("observed_on"), DateField()))
            .values_list("coach_id", "month")
            .annotate(o=Count("pk"), t=Count("pk", filter=TIED))
        )
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return {(coach, month): (observed, tied) for coach, month, observed, tied in rows}


def check():
    """The rows each summary holds that differ from those read afresh: ([(row, kept or
    missing)], [...]). Both empty when they are up to date."""
    from observations.models import CoachMonth, LatestObservation

    fields = ["practitioner_id", "rubric_id", "observation_id", "observed_on"]
    latest = set(LatestObservation.objects.values_list(*fields, "overall_score", "band").order_by())
    months_kept = set(
        CoachMonth.objects.values_list("coach_id", "rubric_id", "month", "observed", "tied")
    )
    return (_differences(latest, set(latest_rows())), _differences(months_kept, set(month_rows())))


def _differences(kept, fresh):
    return sorted(
        [(row, "kept, not read afresh") for row in kept - fresh]
        + [(row, "read afresh, not kept") for row in fresh - kept],
        key=str,
    )
