"""bench_drift: the trials on several seeds with a summary judged against the goals, then the
nightly job timed on a dataset."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from coaching import drift_trials
from observations.models import Observation

TINY = ("--allow-sqlite", "--observations", "300", "--series", "50", "--runs", "1")
DAY = ("--today", "2026-06-30")
SEEDS_LINE = re.compile(r"run night by night with the job's alert lifecycle, on seeds ([\d, ]+) ")
SEED_TABLE = re.compile(r"^Seed (\d+):$", re.MULTILINE)
SUMMARY_ROW = re.compile(
    r"^((?:false alarms|median delay|changes missed|silent nights|flaps)[^\n]*?)\s+"
    r"(<= [\d.]+|\d+|—)\s+([\d.]+|—)\s+(met|MISSED(?: \(none caught\))?|—)"
    r"\s+(\S+)\s+(\S+)\s+(\S+)$",
    re.MULTILINE,
)
# No goal: the share of in-control series ending with an alert open, in %.
OPEN_AT_END = re.compile(
    r"^open at the end %, in-control series\s+—\s+([\d.]+)\s+—\s+(—)\s+([\d.]+)\s+([\d.]+)$",
    re.MULTILINE,
)
FIRST_NIGHT_LINE = re.compile(
    r"^First night \(none of the job's outputs before it\): ([\d.]+) s; goal <= 60 s: "
    r"(met|NOT met)$",
    re.MULTILINE,
)


def bench(*args):
    out = io.StringIO()
    call_command("bench_drift", *args, stdout=out)
    return out.getvalue()


def number(text):
    return int(text.replace(",", ""))


# --- The trials ------------------------------------------------------------------------------


# Module-wide, without the database: each trials run takes a few seconds even when small.
@pytest.fixture(scope="module")
def trials():
    """{seed: the trials' rows} (20 series), computed once per seed."""
    found = {}

    def of(seed):
        if seed not in found:
            found[seed] = drift_trials.run_trials(20, seed)
        return found[seed]

    return of


@pytest.fixture(scope="module")
def seed_7():
    # No db fixture: any query would fail the test.
    return bench("--skip-job", "--series", "20", "--seed", "7")


@pytest.fixture(scope="module")
def two_seeds():
    return bench("--skip-job", "--series", "20", "--seeds", "2")


def test_the_trials_need_no_database_and_print_the_table_of_the_seed_asked(seed_7, trials):
    assert SEEDS_LINE.search(seed_7).group(1) == "7"
    assert SEED_TABLE.findall(seed_7) == ["7"]
    assert drift_trials.format_table(trials(7)) in seed_7
    assert "Nightly drift job" not in seed_7


def test_by_default_fresh_seeds_each_with_its_table_and_printed_to_repeat(two_seeds, trials):
    seeds = SEED_TABLE.findall(two_seeds)
    assert len(seeds) == 2 and seeds[0] != seeds[1] and "7" not in seeds
    assert SEEDS_LINE.search(two_seeds).group(1) == ", ".join(seeds)
    for seed in seeds:
        assert drift_trials.format_table(trials(int(seed))) in two_seeds
    assert "repeat one with --seed N" in two_seeds


def summary(text):
    return {label.strip(): rest for label, *rest in SUMMARY_ROW.findall(text)}


def test_the_summary_judges_the_apps_detector_against_every_goal(seed_7):
    lines = summary(seed_7)
    assert list(lines) == [
        "false alarms /100, stable + bad day",
        "false alarms /100, items stable",
        f"median delay, {drift_trials.STEP}",
        f"median delay, {drift_trials.SLIDE}",
        f"median delay, {drift_trials.ITEMS_SLIP}",
        "changes missed, step + slide",
        "changes missed, items slip",
        "silent nights, every scenario",
        "flaps, every scenario",
    ]
    goals = [goal for goal, *_ in lines.values()]
    assert goals == ["<= 1", "<= 1", "<= 4", "<= 6", "<= 4", "0", "—", "0", "0"]
    for goal, app, verdict, *_ in lines.values():
        if goal == "—":
            assert verdict == "—"
        elif app == "—":
            assert verdict == "MISSED (none caught)"
        else:
            limit = float(goal.removeprefix("<= "))
            assert verdict == ("met" if float(app) <= limit else "MISSED")


def test_the_summary_figures_are_the_trials_pooled_over_the_seeds(two_seeds, trials):
    seeds = [int(seed) for seed in SEED_TABLE.findall(two_seeds)]
    rows = [row for seed in seeds for row in trials(seed)]
    t, lines = drift_trials, summary(two_seeds)
    calm = t.pooled(t.pick(rows, (t.STABLE, t.BAD_DAY), t.SHIFT))
    _, app, _, alone, ewma, _ = lines["false alarms /100, stable + bad day"]
    assert float(app) == pytest.approx(calm.false_per_100, abs=0.005)
    assert alone == "—"  # the overall-score rule alone is shown only on the item series
    assert float(ewma) == pytest.approx(
        t.pooled(t.pick(rows, (t.STABLE, t.BAD_DAY), t.EWMA)).false_per_100, abs=0.005
    )
    slip = lines[f"median delay, {t.ITEMS_SLIP}"]
    assert slip[1] == f"{t.pooled(t.pick(rows, t.ITEMS_SLIP, t.COMBINED)).median_delay:.1f}"
    assert slip[3] == f"{t.pooled(t.pick(rows, t.ITEMS_SLIP, t.SHIFT)).median_delay:.1f}"
    missed = lines["changes missed, step + slide"]
    assert int(missed[1]) == t.pooled(t.pick(rows, (t.STEP, t.SLIDE), t.SHIFT)).missed
    assert int(missed[5]) == t.pooled(t.pick(rows, (t.STEP, t.SLIDE), t.CUSUM)).missed
    app_rows = [
        r for r in rows if r.detector == (t.COMBINED if r.scenario in t.WITH_ITEMS else t.SHIFT)
    ]
    assert int(lines["silent nights, every scenario"][1]) == sum(r.silent_nights for r in app_rows)
    assert int(lines["flaps, every scenario"][1]) == sum(r.flaps for r in app_rows)
    calm_rows = [r for r in app_rows if r.scenario in t.IN_CONTROL]
    share = sum(r.open_at_end for r in calm_rows) / sum(r.series for r in calm_rows)
    shown = OPEN_AT_END.search(two_seeds)
    assert shown and float(shown[1]) == pytest.approx(100 * share, abs=0.05)
    ewma = t.pooled(t.pick(rows, t.IN_CONTROL, t.EWMA))
    assert float(shown[3]) == pytest.approx(100 * ewma.open_at_end / ewma.series, abs=0.05)
    assert "Summary over 2 seed(s), 40 series per scenario" in two_seeds


# --- The job -------------------------------------------------------------------------------


def test_a_first_night_is_timed_against_its_goal_only_when_it_is_one(db):
    kept = bench(*TINY, *DAY, "--skip-trials", "--keep")
    assert FIRST_NIGHT_LINE.search(kept)  # a fresh database: the first run is a first night
    again = bench(*TINY, *DAY, "--skip-trials", "--keep")
    assert not FIRST_NIGHT_LINE.search(again)  # the alerts of the one before are there
    fresh = bench(*TINY, *DAY, "--skip-trials", "--keep", "--first-night")
    seconds, verdict = FIRST_NIGHT_LINE.search(fresh).groups()
    assert verdict == ("met" if float(seconds) <= 60 else "NOT met")
    assert re.search(r"it raised [1-9][\d,]* alerts", fresh)


def test_without_keep_the_rows_it_generated_are_removed(db):
    text = bench(*TINY, *DAY, "--skip-trials")
    assert "Removed the 300 observations generated by this run." in text
    assert not Observation.objects.exists()


# --- Refusals ------------------------------------------------------------------------------


def test_on_sqlite_the_job_is_refused_without_allow_sqlite(db, monkeypatch):
    # Runs on every database: the command only asks which vendor it is talking to.
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match=r"meant for PostgreSQL.*--allow-sqlite.*--skip-job"):
        bench("--observations", "10", "--series", "50")
    assert not Observation.objects.exists()


def test_skipping_both_halves_is_refused():
    with pytest.raises(CommandError, match="nothing to run"):
        bench("--skip-trials", "--skip-job")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--series", "0"], "'0' is not a whole number of 1 or more"),
        (["--runs", "many"], "'many' is not a whole number"),
        (["--observations", "-5"], "'-5' is not a whole number"),
        (["--seed", "1.5"], "'1.5' is not a whole number"),
        (["--seeds", "0"], "'0' is not a whole number of 1 or more"),
        (["--today", "2026-13-01"], "--today must be a date such as 2026-06-30"),
    ],
)
def test_bad_numbers_are_refused_with_a_clear_error(db, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        bench(*args, "--allow-sqlite")
    assert not Observation.objects.exists()
