"""bench_observations --keep, run once for this module (a run takes seconds): the dataset
it builds and the timings it prints, each test reading them inside a transaction that is
rolled back."""

import re

import pytest
from django.test import override_settings

from coaching.models import CoachAssignment
from miiwrap.notifications.models import Notification
from miiwrap.once.models import FormToken
from observations import scoring
from observations.models import Observation, RubricVersion
from tests.factories import FAST_HASHERS, wipe_world
from tests.observations.test_bench_command import (
    DATASET_LINE,
    LIST_ROW,
    POST_LINE,
    SUBMIT_LINE,
    TINY,
    bench,
    generated,
    number,
)


@pytest.fixture(scope="module")
def kept_run(django_db_setup, django_db_blocker):
    """What one kept run printed; its people and rows are removed after the module."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        yield bench(*TINY, "--keep")
        wipe_world()


@pytest.fixture
def output(kept_run, db):
    return kept_run


def test_it_builds_the_dataset_it_was_asked_for_and_says_so(output):
    total, people, made, there = map(number, DATASET_LINE.search(output).groups())
    assert (total, made, there) == (200, 200, 0)
    assert people > 100
    assert generated().count() == Observation.objects.count() == 200


def test_it_prints_the_submit_median_and_p95(output):
    median, p95, queries, verdict = SUBMIT_LINE.search(output).groups()
    assert 0 < float(median) <= float(p95)
    assert int(queries) > 3
    assert verdict == ("met" if float(median) <= 50 else "NOT met")


def test_it_times_the_coachs_real_post_and_leaves_nothing_of_it(output):
    median, p95, queries = POST_LINE.search(output).groups()
    assert 0 < float(median) <= float(p95)
    # The session, the token's claim and the history rows come on top of the service's.
    assert int(queries) > int(SUBMIT_LINE.search(output).group(3))
    assert not Observation.objects.exclude(import_key__startswith="bench:").exists()
    assert not Observation.history.exclude(import_key__startswith="bench:").exists()
    assert not FormToken.objects.exists()
    assert not Notification.objects.exists()


def test_it_times_the_list_page_for_three_viewers_at_two_sizes(output):
    rows = LIST_ROW.findall(output)
    assert [row[0] for row in rows] == ["Leader", "Coach", "Purveyor admin"] * 2
    assert {number(row[1]) for row in rows[:3]} == {200}
    small = number(rows[3][1])
    assert 0 < small < 200
    assert all(float(row[3]) > 0 and float(row[4]) >= float(row[3]) for row in rows)
    assert number(rows[2][2]) == 200  # the purveyor admin sees every row


def test_the_list_query_count_is_the_same_at_both_sizes(output):
    rows = LIST_ROW.findall(output)
    assert [row[5] for row in rows[:3]] == [row[5] for row in rows[3:]]
    assert all(int(row[5]) >= 4 for row in rows)
    assert re.search(r"Query counts equal at 200 and [\d,]+ rows: yes", output)


def test_the_subset_is_only_measured_and_the_table_keeps_its_rows(output):
    assert Observation.objects.count() == 200


def test_generated_observations_are_valid_and_by_the_assigned_coach(output):
    versions = {v.pk: v.definition() for v in RubricVersion.objects.with_structure()}
    for row in generated():
        assert CoachAssignment.objects.filter(
            coach_id=row.coach_id,
            practitioner_id=row.practitioner_id,
            starts_on__lte=row.observed_on,
        ).exists()
        definition = versions[row.rubric_version_id]
        assert scoring.problems(definition, row.scores, complete=True) == {}
        assert row.metrics == scoring.compute(definition, row.scores).as_json()


def test_generated_observations_name_their_practitioners_organization(output):
    rows = generated().select_related("practitioner")
    assert rows.exists()
    assert all(row.organization_id == row.practitioner.organization_id for row in rows)


def test_a_second_run_reuses_the_kept_rows(output):
    again = bench(*TINY)
    total, _, made, there = map(number, DATASET_LINE.search(again).groups())
    assert (total, made, there) == (200, 0, 200)
    assert "Removed" not in again
    assert generated().count() == 200


def test_a_larger_dataset_adds_only_the_missing_rows(output):
    more = bench("--observations", "250", "--runs", "2", "--allow-sqlite", "--keep")
    total, _, made, there = map(number, DATASET_LINE.search(more).groups())
    assert (total, made, there) == (250, 50, 200)
    assert len(set(generated().values_list("import_key", flat=True))) == 250
