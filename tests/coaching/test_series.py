"""Cutting sorted rows into series with whole-array operations, checked against the
one-series functions of coaching.drift and against Python's own dates."""

import datetime as dt

import numpy as np
import pytest

from coaching import drift
from coaching.levels import DayNumber, _yyyymmdd
from coaching.series import Series, pooled_sigma, ymd_to_date


def rows(seed=3, series=40):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 15, series)
    keys = np.repeat(np.arange(series), lengths)
    values = rng.normal(80, 5, len(keys))
    values[rng.random(len(keys)) < 0.05] = np.nan
    return keys, values, lengths


def test_split_finds_each_run_of_equal_keys():
    first, second = np.array([1, 1, 1, 2, 2, 2]), np.array([7, 7, 8, 8, 8, 9])
    series = Series.split([first, second])
    assert series.start.tolist() == [0, 2, 3, 5]
    assert series.length.tolist() == [2, 1, 2, 1]
    assert series.position.tolist() == [0, 1, 0, 0, 1, 0]


def test_split_of_nothing_is_empty():
    assert len(Series.split([np.array([], dtype=np.int64)])) == 0


def test_matrix_left_aligns_each_series_from_its_first_monitored_place():
    keys = np.array([1, 1, 1, 2, 2])
    values = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    x, lengths = Series.split([keys]).matrix(values, np.array([1, 0]))
    assert lengths.tolist() == [2, 2]
    assert x.tolist() == [[2.0, 3.0], [4.0, 5.0]]


def test_mean_skips_missing_scores_and_rows_not_chosen():
    keys, values = np.array([1, 1, 1, 2]), np.array([1.0, np.nan, 3.0, 5.0])
    series = Series.split([keys])
    assert series.mean(values, np.array([True, True, True, False])).tolist()[0] == 2.0
    assert np.isnan(series.mean(values, np.array([True, True, True, False]))[1])


def test_per_series_robust_sigma_matches_the_one_series_function():
    keys, values, _ = rows()
    series = Series.split([keys])
    ranges = series.moving_ranges(values)
    sigma, counts = series.robust_sigma(ranges)
    for index in range(len(series)):
        mine = ranges[series.start[index] : series.start[index] + series.length[index]]
        expected = drift._sigma_from(mine[~np.isnan(mine)])
        if counts[index]:
            assert sigma[index] == pytest.approx(expected)
        else:
            assert np.isnan(sigma[index])


def test_pooled_sigma_is_the_median_range_of_the_group():
    keys, values, _ = rows()
    series = Series.split([keys])
    ranges = series.moving_ranges(values)
    groups = keys % 2
    pooled = pooled_sigma(ranges, groups)
    for group in (0, 1):
        chosen = ranges[(groups == group) & ~np.isnan(ranges)]
        assert pooled[group][0] == pytest.approx(np.median(chosen) / drift.MEDIAN_MOVING_RANGE)
        assert pooled[group][1] == len(chosen)


def test_moving_ranges_do_not_cross_series_or_versions():
    keys, values = np.array([1, 1, 2, 2, 2]), np.array([1.0, 3.0, 10.0, 11.0, 15.0])
    versions = np.array([5, 5, 5, 6, 6])
    ranges = Series.split([keys]).moving_ranges(values, same=versions)
    assert np.isnan(ranges[[0, 2, 3]]).all()
    assert ranges[[1, 4]].tolist() == [2.0, 4.0]


def test_day_numbers_become_the_same_dates_as_python_gives():
    days = np.arange(-800, 25_000, 3)
    expected = [
        int((dt.date(1970, 1, 1) + dt.timedelta(days=int(d))).strftime("%Y%m%d")) for d in days
    ]
    assert _yyyymmdd(days).tolist() == expected
    assert ymd_to_date(20240229) == dt.date(2024, 2, 29)


@pytest.mark.django_db
def test_the_database_counts_days_from_1970_as_numpy_does(world):
    from observations.models import Observation
    from tests.factories import make_observation

    made = make_observation(world.coach, world.practitioner, observed_on=dt.date(2024, 2, 29))
    days = Observation.objects.filter(pk=made.pk).values_list(DayNumber("observed_on"), flat=True)
    assert _yyyymmdd(np.array(list(days))).tolist() == [20240229]
