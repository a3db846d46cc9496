"""The compiled rolling median/MAD kernels give exactly what sorting every window gives."""

from __future__ import annotations

import numpy as np
import pytest

from models.robust_window import _pairwise_sum
from models.robust_z import prior_median_mad, robust_z_scores
from tests.models.sorted_windows import sorted_median_mad, sorted_robust_z

NAN = np.nan


def awkward_values(n_periods: int, n_entities: int, seed: int) -> np.ndarray:
    """Columns of every kind: smooth, coarse (ties, zero MADs), flat, mostly or all missing."""
    rng = np.random.default_rng(seed)
    scales = rng.choice([1e-6, 1.0, 1e6], n_entities)
    values = rng.normal(0.0, 1.0, (n_periods, n_entities)) * scales
    quarter = max(1, n_entities // 4)
    values[:, :quarter] = np.round(values[:, :quarter])
    values[:, quarter : 2 * quarter] = 7.0
    values[rng.random(values.shape) < 0.15] = np.nan
    values[rng.random(values.shape) < 0.6 * (np.arange(n_entities) % 5 == 0)] = np.nan
    values[:, -1] = np.nan
    return values


@pytest.mark.parametrize(
    ("n_periods", "window", "min_periods"),
    [(120, 24, 8), (60, 5, 2), (40, 3, 3), (30, 2, 2), (50, 12, 12), (400, 150, 10), (700, 300, 2)],
)
def test_robust_z_is_bit_for_bit_the_sorted_window_result(n_periods, window, min_periods):
    values = awkward_values(n_periods, 40, seed=window)
    expected = sorted_robust_z(values, window, min_periods)
    np.testing.assert_array_equal(robust_z_scores(values, window, min_periods), expected)


@pytest.mark.parametrize(("n_periods", "window"), [(120, 24), (45, 4), (300, 200)])
def test_median_mad_and_count_are_bit_for_bit_the_sorted_window_result(n_periods, window):
    values = awkward_values(n_periods, 30, seed=n_periods)
    got = prior_median_mad(values, window)
    expected = sorted_median_mad(values, window)
    for kernel_result, sorted_result in zip(got, expected, strict=True):
        np.testing.assert_array_equal(kernel_result, sorted_result)


def test_a_window_with_zero_mad_falls_back_to_the_mean_absolute_deviation():
    # prior 5 5 5 5 9: median 5, MAD 0, mean |x - 5| = 0.8
    values = np.array([[5.0], [5.0], [5.0], [5.0], [9.0], [7.0]])
    z = robust_z_scores(values, 5, 5)
    assert z[5, 0] == (7.0 - 5.0) / (1.2533 * 0.8)
    np.testing.assert_array_equal(z, sorted_robust_z(values, 5, 5))


def test_a_flat_window_scores_zero_for_the_same_value_and_very_high_for_another():
    values = np.array([[-3.0], [-3.0], [-3.0], [-3.0], [-2.0]])
    z = robust_z_scores(values, 3, 2)
    np.testing.assert_array_equal(z[:, 0], [NAN, NAN, 0.0, 0.0, 1.0 / (1e-9 * 3.0)])


def test_missing_values_are_skipped_in_the_window_and_score_nan():
    values = np.array([[1.0], [NAN], [3.0], [NAN], [5.0], [NAN]])
    z = robust_z_scores(values, 4, 2)
    # at t = 4 the prior values are 1 and 3: median 2, MAD 1
    np.testing.assert_array_equal(z[:, 0], [NAN, NAN, NAN, NAN, 3.0 / 1.4826, NAN])


def test_a_series_shorter_than_min_periods_scores_nothing():
    values = np.arange(7.0)[:, None] * np.ones((1, 3))
    assert np.isnan(robust_z_scores(values, 24, 8)).all()
    assert robust_z_scores(values[:0], 24, 8).shape == (0, 3)


def test_a_series_with_no_value_has_no_median_and_a_zero_count():
    values = np.full((10, 2), np.nan)
    median, mad, count = prior_median_mad(values, 4)
    assert np.isnan(median).all() and np.isnan(mad).all()
    assert (count == 0).all()


def test_the_memory_layout_of_the_input_does_not_change_the_result():
    values = awkward_values(80, 12, seed=5)
    in_c = robust_z_scores(np.ascontiguousarray(values), 24, 8)
    in_fortran = robust_z_scores(np.asfortranarray(values), 24, 8)
    np.testing.assert_array_equal(in_c, in_fortran)
    assert in_fortran.flags.f_contiguous  # each entity's periods contiguous, as in a frame


@pytest.mark.parametrize("n", [*range(1, 40), 127, 128, 129, 255, 256, 300, 1000, 4099])
def test_the_kernel_sums_in_numpy_order(n):
    rng = np.random.default_rng(n)
    values = rng.random(n) * rng.choice([1e-8, 1.0, 1e8], n)
    assert _pairwise_sum(values, 0, n) == values.sum()
    padded = np.r_[rng.random(3), values]
    assert _pairwise_sum(padded, 3, n) == values.sum()
