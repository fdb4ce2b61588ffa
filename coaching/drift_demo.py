"""How far the drift alerts can be trusted, measured on the demo world, where the truth is known.

The demo generator (observations.demo) gives every practitioner a trajectory: most hold
steady, some slip after two or more good years (their scores fall over the last six to twelve
months, which is the drift the job exists to catch), a few struggle (a low level all along),
and new hires climb towards their level over their first year. Replaying those trajectories
with the world's seed says who is who, whatever the scores happen to show; the drift job's
not-closed practitioner alerts say whom it flagged. Two figures follow:

- precision: of the practitioners here on the day with a not-closed alert, the share who are
  slipping or struggling (the others are false alarms a coach would chase);
- recall: of the slipping practitioners here on the day, the share with a not-closed alert.

Grouping: a practitioner hired less than a learning year (observations.demo.LEARNING_MONTHS)
before the day is a new hire, whatever kind the generator labelled them: their scores are
still rising, so an alert about them is not the drift the product promises. The generator
never makes a new hire slipping (it needs two years' tenure) but may make one struggling;
those are counted among new hires and shown apart. Coaches hold the practitioner role and are
observed like anyone, so they count too. People who left before the day are left out of both
figures; alerts still open about them are counted on their own.

A third figure bounds the second. Many slipping practitioners slide less, by their last
observation, than one observation's noise, and few visits since the slide began show it. The
oracle bound asks what recall a detector could expect if it knew each slipping person's true
level, their spread and the exact shape and start of their slide, and read only their overall
scores on the MiiWrap fidelity tool: its best test (the matched filter) is normal with mean
nc = sqrt(sum_t (f_t / sigma)^2), f_t the expected fall at each observation since the slide
began, sigma the pooled within-person spread the job measured, and spread 1, so at a one-sided
limit h it alerts with chance Phi(nc - h). No real detector can expect to do better.

Each seed is measured in a database of its own, built fresh, so the job's run is its first
night: `run_seeds` starts one process per seed on a temporary SQLite file.
"""

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from statistics import NormalDist

from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count

from certification import demo as demo_certification
from coaching import levels, services
from coaching.models import DriftAlert, PooledSpread
from miiwrap.notifications.models import Notification
from miiwrap.people import demo
from miiwrap.people.models import Person
from observations import demo as demo_observations
from observations.models import ActivityType, Observation

DEFAULT_SCALE = "demo"
STEADY, SLIPPING, STRUGGLING, NEW_HIRE = "steady", "slipping", "struggling", "new hire"
GROUPS = (STEADY, SLIPPING, STRUGGLING, NEW_HIRE)
WORTH_AN_ALERT = (SLIPPING, STRUGGLING)
PRECISION_GOAL = RECALL_GOAL = 0.90
LEARNING_DAYS = demo_observations.LEARNING_MONTHS * 30.44  # as Trajectory.level counts months
# One-sided limits h of the oracle bound, in sigmas: the first is the one it is read at; the
# second shows how the bound moves with the false-alarm limit.
ORACLE_LIMITS = (2.4, 2.0)
NORMAL = NormalDist()
NINE_IN_TEN = NORMAL.inv_cdf(0.9)  # nc >= h + 1.28: alerted nine times in ten
WORKERS = 2
# Left out of each seed's process, so it builds on its own SQLite file and queues nothing
# on a shared broker.
SHARED_SERVICES = ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")
CHILD = (
    "import sys, django; django.setup(); "
    "from coaching import drift_demo; drift_demo.child(sys.argv[1:])"
)


@dataclasses.dataclass(frozen=True)
class Share:
    """hits out of `of`, e.g. alerted slipping practitioners out of all slipping ones."""

    hits: int
    of: int

    @property
    def value(self):
        return self.hits / self.of if self.of else None

    def meets(self, goal):
        return self.of > 0 and self.hits >= goal * self.of

    def __str__(self):
        shown = "—" if self.value is None else f"{100 * self.value:.1f} %"
        return f"{shown} ({self.hits}/{self.of})"


@dataclasses.dataclass
class SeedResult:
    """One seed's world on one day: who is who, whom the job flagged, what else it raised."""

    seed: int
    today: str
    practitioners: dict  # group: practitioners here on the day
    alerted: dict  # group: those of them with a not-closed person alert
    new_hire_kinds: dict  # kind the generator labelled the new hires: how many
    new_hires_alerted_kinds: dict  # the same, for the alerted new hires
    alerted_leavers: int  # not-closed person alerts about people who have left
    raised: dict  # scope: alerts this run raised
    active: dict  # scope: not-closed alerts after it
    person_alerts_by_org: dict  # organization slug: not-closed person alerts
    digest_items: list  # each leader: person alerts in their first digest
    seconds: dict = dataclasses.field(default_factory=dict)  # build, job
    # The pooled within-person sigma of overall scores on the fidelity tool after the job.
    spread: float | None = None
    # Each slipping practitioner's evidence (see `evidence`): noncentrality, last_fall, since.
    slipping_evidence: list = dataclasses.field(default_factory=list)

    @property
    def precision(self):
        return Share(sum(self.alerted[g] for g in WORTH_AN_ALERT), sum(self.alerted.values()))

    @property
    def recall(self):
        return Share(self.alerted[SLIPPING], self.practitioners[SLIPPING])

    def oracle_recall(self, limit):
        """The share of slipping practitioners the oracle is expected to alert at `limit`."""
        chances = [oracle_chance(e["noncentrality"], limit) for e in self.slipping_evidence]
        return sum(chances) / len(chances) if chances else None

    def oracle_sure(self, limit):
        """Slipping practitioners even the oracle alerts nine times in ten at `limit`."""
        sure = [e["noncentrality"] >= limit + NINE_IN_TEN for e in self.slipping_evidence]
        return Share(sum(sure), len(sure))

    def to_json(self):
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text):
        return cls(**json.loads(text))


# --- One seed, in this database --------------------------------------------------------------


def build_world(*, seed, today, scale=DEFAULT_SCALE, orgs=None):
    """seed_demo's layers (people, observations, certifications) without its nightly jobs,
    so that the drift job run by `measure` is the first night."""
    size = demo.SCALES[scale]
    wanted = demo.identities(seed, orgs or size.organizations)
    years = size.observation_years
    with transaction.atomic():
        plans = demo.build_world(wanted, seed=seed, today=today, scale=size)
        demo_observations.add_observations(plans, seed=seed, today=today, years=years)
        demo_certification.add_certifications(plans, seed=seed, today=today, years=years)
    return plans


def measure(*, seed, today, scale=DEFAULT_SCALE, orgs=None):
    """Run the drift job for `today` on the demo world of `seed` built here, and compare
    whom it flagged with what the generator made of each practitioner."""
    paths = practitioner_paths(seed=seed, today=today, scale=scale, orgs=orgs)
    groups = {pk: (group_of(path, today), path.kind) for pk, path in paths.items()}
    started = time.monotonic()
    report = services.drift_detect(today=today)
    seconds = time.monotonic() - started
    slipping = {pk: paths[pk] for pk, (group, _) in groups.items() if group == SLIPPING}
    spread, found = slipping_evidence(slipping, today)
    active = DriftAlert.objects.filter(status__in=DriftAlert.ACTIVE)
    about_people = active.filter(scope=DriftAlert.Scope.PERSON)
    flagged = set(about_people.values_list("practitioner", flat=True))
    here = {pk: group for pk, (group, _) in groups.items()}
    new_hires = {pk: kind for pk, (group, kind) in groups.items() if group == NEW_HIRE}
    return SeedResult(
        seed=seed,
        today=today.isoformat(),
        practitioners=_count(here.values()),
        alerted=_count(here[pk] for pk in flagged if pk in here),
        new_hire_kinds=dict(Counter(new_hires.values())),
        new_hires_alerted_kinds=dict(Counter(new_hires[pk] for pk in flagged if pk in new_hires)),
        alerted_leavers=len(flagged - set(here)),
        raised={scope: report.raised.get(scope, 0) for scope in DriftAlert.Scope.values},
        active=_by(active, "scope"),
        person_alerts_by_org=_by(about_people, "organization__slug"),
        digest_items=leaders_digest_items(about_people),
        seconds={"job": round(seconds, 2)},
        spread=spread,
        slipping_evidence=found,
    )


def run_seed(*, seed, today, scale=DEFAULT_SCALE, orgs=None):
    """Build the world of `seed` here and measure it; meant for an empty database."""
    started = time.monotonic()
    build_world(seed=seed, today=today, scale=scale, orgs=orgs)
    built = time.monotonic() - started
    result = measure(seed=seed, today=today, scale=scale, orgs=orgs)
    result.seconds["build"] = round(built, 2)
    return result


def practitioner_groups(*, seed, today, scale=DEFAULT_SCALE, orgs=None):
    """{person id: (group, kind the generator labelled)} for the practitioners here on
    `today`."""
    paths = practitioner_paths(seed=seed, today=today, scale=scale, orgs=orgs)
    return {pk: (group_of(path, today), path.kind) for pk, path in paths.items()}


def practitioner_paths(*, seed, today, scale=DEFAULT_SCALE, orgs=None):
    """{person id: Trajectory} for the practitioners here on `today`. The world is planned
    again in memory (the same seed plans the same people), its trajectories replayed, and
    each planned person found by their email."""
    size = demo.SCALES[scale]
    setting = demo_observations.Setting(
        today,
        size.observation_years,
        demo_observations.load_tools(),
        list(ActivityType.objects.filter(is_active=True)),
    )
    found = {}
    for identity in demo.identities(seed, orgs or size.organizations):
        plan = demo.plan_organization(identity, seed=seed, today=today, scale=size)
        paths = demo_observations.trajectories_for(plan, seed=seed, setting=setting)
        for person, path in paths.items():
            if person.leave_date is None or person.leave_date >= today:
                found[person.email] = path
    ids = dict(Person.objects.filter(email__in=found).values_list("email", "pk"))
    if len(ids) != len(found):
        raise ValueError(f"This database does not hold the demo world of seed {seed} on {today}.")
    return {ids[email]: value for email, value in found.items()}


def group_of(trajectory, today):
    """A new hire while still learning, else the kind the generator gave them."""
    if (today - trajectory.hired).days < LEARNING_DAYS:
        return NEW_HIRE
    return trajectory.kind


def slipping_evidence(slipping, today):
    """(sigma, [evidence of each slipping practitioner]) on the fidelity tool, from the
    overall scores the job read on `today` and the sigma it pooled over them; (None, [])
    when it pooled none."""
    version = demo_observations.load_tools()[demo_observations.FIDELITY_TOOL].version
    spread = PooledSpread.objects.filter(rubric_version=version).first()
    if spread is None or not spread.sigma > 0:
        return None, []
    scored = (
        Observation.objects.submitted()
        .filter(levels.Night.of(today).seen(), rubric_version=version)
        .filter(practitioner__in=list(slipping))
        .exclude(overall_score=None)
    )
    days = {pk: [] for pk in slipping}
    for pk, day in scored.values_list("practitioner", "observed_on"):
        days[pk].append(day)
    return spread.sigma, [evidence(slipping[pk], days[pk], spread.sigma) for pk in sorted(days)]


def evidence(trajectory, days, sigma):
    """What a slipping practitioner's observations since the slide began hold: the
    noncentrality of the matched filter over them, the expected fall at the last one in
    sigmas, and how many there are."""
    falls = [100 * trajectory.slide(day) for day in sorted(days) if day > trajectory.slide_from]
    return {
        "noncentrality": noncentrality(falls, sigma),
        "last_fall": falls[-1] / sigma if falls else 0.0,
        "since": len(falls),
    }


def noncentrality(falls, sigma):
    """sqrt(sum (f / sigma)^2): the mean, in its own standard deviations, of the best test
    of a known fall f at each observation against known noise sigma (the matched filter)."""
    return math.sqrt(sum((fall / sigma) ** 2 for fall in falls))


def oracle_chance(noncentrality, limit):
    """Phi(nc - h): the chance that the matched filter, normal with mean nc and sd 1,
    passes the one-sided limit h."""
    return NORMAL.cdf(noncentrality - limit)


def leaders_digest_items(person_alerts):
    """How many of these alerts each leader's first digest lists, most first."""
    links = [alert.get_absolute_url() for alert in person_alerts]
    items = Notification.objects.filter(
        kind=Notification.Kind.ALERT, delivery=Notification.Delivery.DIGEST, link__in=links
    )
    counts = items.values("recipient").annotate(n=Count("pk")).values_list("n", flat=True)
    return sorted(counts, reverse=True)


def _count(groups):
    counted = Counter(groups)
    return {group: counted[group] for group in GROUPS}


def _by(alerts, field):
    return dict(alerts.values_list(field).annotate(n=Count("pk")).order_by(field))


# --- Several seeds, each in a fresh database -------------------------------------------------


def run_seeds(seeds, *, today, scale=DEFAULT_SCALE, orgs=None, workers=WORKERS):
    """One process per seed, `workers` at a time, each on a new SQLite file of its own."""
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda seed: run_in_fresh_database(seed, today, scale, orgs), seeds))


def run_in_fresh_database(seed, today, scale=DEFAULT_SCALE, orgs=None):
    with tempfile.TemporaryDirectory(prefix=f"drift-demo-{seed}-") as var_dir:
        env = {name: value for name, value in os.environ.items() if name not in SHARED_SERVICES}
        env.update(MIIWRAP_VAR_DIR=var_dir, DJANGO_SETTINGS_MODULE="miiwrap.settings")
        args = ["--seed", str(seed), "--today", today.isoformat(), "--scale", scale]
        args += ["--orgs", str(orgs)] if orgs else []
        done = subprocess.run(
            [sys.executable, "-c", CHILD, *args],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode:
        raise RuntimeError(f"Seed {seed} failed:\n{done.stderr[-3000:]}")
    return SeedResult.from_json(done.stdout.strip().splitlines()[-1])


def child(argv):
    """In a seed's own process: migrate the empty database, build, measure, print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--today", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--scale", default=DEFAULT_SCALE)
    parser.add_argument("--orgs", type=int)
    options = parser.parse_args(argv)
    started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    migrated = time.monotonic() - started
    result = run_seed(**vars(options))
    result.seconds.update(migrate=round(migrated, 2), total=round(time.monotonic() - started, 2))
    print(result.to_json())


def seed_list(text):
    """'1,2,3' as (1, 2, 3), for the command line."""
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() and int(part) >= 1 for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of seeds such as 1,2,3.")
    return tuple(dict.fromkeys(int(part) for part in parts))


def bench(seeds, *, today, scale=DEFAULT_SCALE, orgs=None, workers=WORKERS):
    """Run the seeds and return the table to print."""
    started = time.monotonic()
    results = run_seeds(seeds, today=today, scale=scale, orgs=orgs, workers=workers)
    took = time.monotonic() - started
    return format_table(results, scale=scale, today=today, seconds=took, workers=workers)


# --- The table -------------------------------------------------------------------------------


def pooled(results):
    """The figures over all seeds: every count added up."""
    total = SeedResult(
        seed=0,
        today="",
        practitioners={},
        alerted={},
        new_hire_kinds={},
        new_hires_alerted_kinds={},
        alerted_leavers=0,
        raised={},
        active={},
        person_alerts_by_org={},
        digest_items=[],
    )
    for result in results:
        for name in ("practitioners", "alerted", "new_hire_kinds", "new_hires_alerted_kinds"):
            _add(getattr(total, name), getattr(result, name))
        _add(total.raised, result.raised)
        _add(total.active, result.active)
        total.alerted_leavers += result.alerted_leavers
        total.digest_items += result.digest_items
        total.slipping_evidence += result.slipping_evidence
        total.person_alerts_by_org.update(
            {f"{result.seed}:{slug}": n for slug, n in result.person_alerts_by_org.items()}
        )
    for name in ("practitioners", "alerted"):
        getattr(total, name).update({g: getattr(total, name).get(g, 0) for g in GROUPS})
    return total


def _add(into, counts):
    for key, number in counts.items():
        into[key] = into.get(key, 0) + number


def format_table(results, *, scale, today, seconds, workers):
    seeds = ", ".join(str(r.seed) for r in results)
    lines = [
        f"Drift alerts on the demo world (scale {scale}, day {today:%Y-%m-%d}), seeds {seeds}; "
        "each seed built in a fresh SQLite database and the job run once, its first night.",
        "",
        "Practitioners here on the day by what the generator made them: alerted / all "
        "(alerted = a not-closed practitioner alert).",
    ]
    rows = [(str(r.seed), r) for r in results] + [("all", pooled(results))]
    header = ("seed", *GROUPS, "new hires labelled", "leavers alerted")
    lines += _table(header, [(name, *_groups(r)) for name, r in rows])
    lines += [
        "",
        "Precision: alerted who are slipping or struggling / all alerted. Recall: slipping "
        "alerted / all slipping. Alerts by scope: person/team/item. Person alerts: per "
        "organization, and in each leader's first digest.",
    ]
    header = ("seed", "precision", "recall", "raised", "not closed", "per org", "per digest")
    lines += _table(header, [(name, *_figures(r)) for name, r in rows])
    lines += ["", *_verdicts(rows), "", *_oracle(rows), "", _timing(results, seconds, workers)]
    return "\n".join(lines)


def _table(header, rows):
    """Lines of left-aligned columns, each as wide as its widest cell."""
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header))]
    return [
        "  ".join(f"{cell:<{width}}" for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]


def _groups(result):
    labels = ", ".join(f"{n} {kind}" for kind, n in sorted(result.new_hire_kinds.items()))
    return (
        *(f"{result.alerted[g]} / {result.practitioners[g]}" for g in GROUPS),
        labels or "—",
        str(result.alerted_leavers),
    )


def _figures(result):
    scopes = DriftAlert.Scope.values
    per_org = sorted(result.person_alerts_by_org.values(), reverse=True)
    digest = result.digest_items
    return (
        str(result.precision),
        str(result.recall),
        "/".join(str(result.raised.get(scope, 0)) for scope in scopes),
        "/".join(str(result.active.get(scope, 0)) for scope in scopes),
        f"max {max(per_org, default=0)}, median {_median(per_org)}",
        f"max {max(digest, default=0)}, median {_median(digest)}",
    )


def _median(numbers):
    return f"{statistics.median(numbers):g}" if numbers else "0"


def _verdicts(rows):
    lines = []
    for goal_name, goal, figure in (
        ("Precision", PRECISION_GOAL, "precision"),
        ("Recall", RECALL_GOAL, "recall"),
    ):
        met = [name for name, r in rows[:-1] if getattr(r, figure).meets(goal)]
        overall = "met" if getattr(rows[-1][1], figure).meets(goal) else "NOT met"
        lines.append(
            f"{goal_name} >= {goal:.0%}: {overall} over all seeds; met by {len(met)} of "
            f"{len(rows) - 1} seeds" + (f" ({', '.join(met)})." if met else ".")
        )
    return lines


def _oracle(rows):
    """The oracle bound: what it means, then per seed and over all seeds."""
    h = ORACLE_LIMITS[0]
    chances = ", ".join(f"{1 - NORMAL.cdf(limit):.1%} at h = {limit}" for limit in ORACLE_LIMITS)
    lines = [
        "Oracle bound on recall, from overall scores on the fidelity tool. For each slipping "
        "practitioner, the best test a detector could make on their scores since their slide "
        "began, if it knew their true level, their spread (sigma, the pooled within-person "
        "sigma the job measured) and the exact shape and start of the slide, is normal with "
        "mean nc = sqrt(sum (expected fall at each observation / sigma)^2) and sd 1; at a "
        "one-sided limit h it alerts with chance Phi(nc - h). Bound: the expected share of "
        "slipping practitioners alerted; nc >= h + 1.28: those even it alerts nine times in "
        "ten. No detector that only reads overall scores can expect to alert more of them "
        "than this at this false-alarm limit, even knowing each person's true level and "
        f"spread. A steady person passes the limit by chance {chances}. Last fall: the "
        "expected fall at the last observation, in sigmas; since: observations since the "
        "slide began.",
    ]
    header = ("seed", "sigma")
    for limit in ORACLE_LIMITS:
        header += (f"bound h = {limit}", f"nc >= {limit + NINE_IN_TEN:.2f}")
    header += ("last fall (sigmas) min/median/max", "since min/median/max")
    lines += _table(header, [(name, *_bound(r)) for name, r in rows])
    bound = rows[-1][1].oracle_recall(h)
    if bound is not None:
        verdict = "out of reach" if bound < RECALL_GOAL else "within reach"
        lines.append(
            f"Recall >= {RECALL_GOAL:.0%} at h = {h}: {verdict} of any detector on overall "
            f"scores (bound {bound:.1%} over all seeds)."
        )
    return lines


def _bound(result):
    found = result.slipping_evidence
    cells = ["—" if result.spread is None else f"{result.spread:.2f}"]
    for limit in ORACLE_LIMITS:
        bound = result.oracle_recall(limit)
        expected = f"{bound * len(found):.1f} of {len(found)}" if found else "0 of 0"
        shown = "—" if bound is None else f"{100 * bound:.1f} %"
        cells += [f"{shown} ({expected})", str(result.oracle_sure(limit))]
    falls = [e["last_fall"] for e in found]
    since = [e["since"] for e in found]
    cells += [_spread_of(falls, "{:.2f}"), _spread_of(since, "{:g}")]
    return cells


def _spread_of(numbers, shown):
    if not numbers:
        return "—"
    picks = (min(numbers), statistics.median(numbers), max(numbers))
    return " / ".join(shown.format(n) for n in picks)


def _timing(results, seconds, workers):
    lines = [f"Took {seconds:.1f} s for {len(results)} seeds, {workers} at a time. Each seed:"]
    for r in results:
        took = {name: r.seconds.get(name, 0) for name in ("total", "migrate", "build", "job")}
        lines.append(
            f"  {r.seed}: {took['total']:.1f} s (migrate {took['migrate']:.1f}, build the world "
            f"{took['build']:.1f}, drift job {took['job']:.1f})"
        )
    return "\n".join(lines)
