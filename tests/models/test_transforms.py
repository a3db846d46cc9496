"""Transforms: the level, its change in percent, and rolling views of it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models import InvalidInput, InvalidParameter, apply_transform
from models.transforms import fall_from_high, moving_average, rise_from_low, share_of_total
from tests.models.panels import random_panel

NAN = math.nan

CASES = [
    ("level", "M", [3.0, NAN, 5.0], [3.0, NAN, 5.0]),
    ("pop", "M", [100.0, 110.0, 99.0], [NAN, 10.0, -10.0]),
    ("pop", "A", [50.0, 0.0, 10.0], [NAN, -100.0, NAN]),  # a zero base has no change
    ("pop", "Q", [10.0, NAN, 12.0, 15.0], [NAN, NAN, NAN, 25.0]),  # a missing base neither
    ("pop", "M", [-10.0, -5.0, -20.0], [NAN, 50.0, -300.0]),  # |base|: a rise stays positive
    ("yoy", "A", [100.0, 120.0, 90.0], [NAN, 20.0, -25.0]),
    ("yoy", "Q", [10.0, 20.0, 30.0, 40.0, 11.0, 30.0], [NAN, NAN, NAN, NAN, 10.0, 50.0]),
]


@pytest.mark.parametrize(("transform", "frequency", "values", "expected"), CASES)
def test_transform_gives_the_percent_change_against_its_base(
    make_frame, transform, frequency, values, expected
):
    result = apply_transform(make_frame(values, frequency=frequency), transform, frequency)
    np.testing.assert_allclose(result["firm"].to_numpy(), expected, equal_nan=True)


def test_monthly_year_on_year_compares_with_the_same_month_a_year_earlier(make_frame):
    values = np.arange(1.0, 26.0)  # 25 months
    result = apply_transform(make_frame(values), "yoy", "M")["firm"].to_numpy()
    assert np.isnan(result[:12]).all()
    np.testing.assert_allclose(result[12:], 100.0 * 12.0 / values[:13])


def test_a_change_too_large_for_a_float_is_nan_not_infinite(make_frame):
    result = apply_transform(make_frame([1e-300, 1e300]), "pop", "M")
    assert np.isnan(result.iloc[1, 0])


def test_transform_keeps_index_and_columns(make_frame):
    frame = make_frame([[1.0, 2.0], [2.0, 3.0]], columns=[11, 12])
    result = apply_transform(frame, "pop", "M")
    assert result.index.equals(frame.index)
    assert list(result.columns) == [11, 12]
    assert (result.dtypes == "float64").all()


@pytest.mark.parametrize(("transform", "frequency"), [("log", "M"), ("yoy", "W"), (None, "M")])
def test_unknown_transform_or_frequency_is_refused(make_frame, transform, frequency):
    with pytest.raises(InvalidParameter):
        apply_transform(make_frame([1.0, 2.0]), transform, frequency)


def test_a_lag_across_a_missing_period_is_refused(make_frame):
    frame = make_frame([1.0, 2.0, 3.0]).drop(index=pd.Timestamp("2020-02-01"))
    with pytest.raises(InvalidInput, match="consecutive"):
        apply_transform(frame, "pop", "M")


def test_period_dates_that_are_not_period_starts_are_refused():
    frame = pd.DataFrame({"firm": [1.0, 2.0]}, index=pd.to_datetime(["2020-01-31", "2020-02-29"]))
    with pytest.raises(InvalidInput, match="consecutive"):
        apply_transform(frame, "pop", "M")


# --- rolling views: moving average, distance from a rolling low or high, share of a total

ROLLING_CASES = [
    # the mean of the values present in the window, NaN where the value itself is missing
    (lambda f: moving_average(f, 3, "M"), [3.0, 6.0, 9.0, 12.0], [3.0, 4.5, 6.0, 9.0]),
    (lambda f: moving_average(f, 2, "M"), [4.0, NAN, 2.0, 6.0], [4.0, NAN, 2.0, 4.0]),
    (lambda f: moving_average(f, 1, "M"), [1.0, NAN, 5.0], [1.0, NAN, 5.0]),
    # above the low of the previous window periods (the current one excluded)
    (lambda f: rise_from_low(f, 2, "M"), [5.0, 3.0, 4.0, 9.0, 1.0], [NAN, -2.0, 1.0, 6.0, -3.0]),
    (lambda f: rise_from_low(f, 2, "M"), [NAN, NAN, 4.0, 6.0], [NAN, NAN, NAN, 2.0]),
    (
        lambda f: rise_from_low(f, 3, "M", percent=True),
        [4.0, 2.0, 3.0, -2.0, 1.0],
        [NAN, -50.0, 50.0, -200.0, 150.0],
    ),
    (lambda f: rise_from_low(f, 1, "M", percent=True), [0.0, 3.0], [NAN, NAN]),  # low of 0
    # below the high of the previous window periods
    (lambda f: fall_from_high(f, 2, "M"), [5.0, 3.0, 4.0, 9.0, 1.0], [NAN, 2.0, 1.0, -5.0, 8.0]),
    (
        lambda f: fall_from_high(f, 12, "M", percent=True),
        [10.0, 8.0, NAN, 5.0],
        [NAN, 20.0, NAN, 50.0],
    ),
]


@pytest.mark.parametrize(("view", "values", "expected"), ROLLING_CASES)
def test_rolling_views_give_the_documented_values(make_frame, view, values, expected):
    result = view(make_frame(values))
    np.testing.assert_allclose(result["firm"].to_numpy(), expected, equal_nan=True)


def reference_rise_from_low(series: list[float], window: int) -> list[float]:
    """Rise above the previous window's low, one period at a time."""
    result = []
    for t, value in enumerate(series):
        prior = [v for v in series[max(0, t - window) : t] if not math.isnan(v)]
        result.append(value - min(prior) if prior and not math.isnan(value) else NAN)
    return result


def test_vectorised_rise_from_low_equals_the_per_series_reference():
    panel = random_panel(n_periods=40, n_entities=15, seed=5)
    result = rise_from_low(panel, 6, "M")
    for column in panel.columns:
        expected = reference_rise_from_low(panel[column].tolist(), 6)
        np.testing.assert_allclose(result[column].to_numpy(), expected, equal_nan=True)


@pytest.mark.parametrize(
    "view",
    [
        lambda f: moving_average(f, 4, "M"),
        lambda f: rise_from_low(f, 5, "M"),
        lambda f: fall_from_high(f, 5, "M", percent=True),
        lambda f: share_of_total(f, None),
    ],
)
def test_rolling_views_are_causal(view):
    panel = random_panel(n_periods=30, n_entities=8, seed=3)
    full = view(panel)
    for cut in (1, 7, 20):
        pd.testing.assert_frame_equal(view(panel.iloc[:cut]), full.iloc[:cut])


def test_share_of_the_panel_sum_is_each_entitys_percent_of_the_period_total(make_frame):
    frame = make_frame([[1.0, 3.0], [2.0, NAN], [0.0, 0.0]], columns=["a", "b"])
    shares = share_of_total(frame, None)
    np.testing.assert_allclose(
        shares.to_numpy(), [[25.0, 75.0], [100.0, NAN], [NAN, NAN]], equal_nan=True
    )


def test_share_of_a_given_total_accepts_one_column_or_one_per_entity(make_frame):
    frame = make_frame([[1.0, 3.0], [2.0, 4.0]], columns=["a", "b"])
    province = make_frame([10.0, 0.0], columns=["SD"])
    own = make_frame([[2.0, 6.0], [NAN, 8.0]], columns=["a", "b"])
    np.testing.assert_allclose(
        share_of_total(frame, province).to_numpy(), [[10.0, 30.0], [NAN, NAN]], equal_nan=True
    )
    np.testing.assert_allclose(
        share_of_total(frame, own).to_numpy(), [[50.0, 50.0], [NAN, 50.0]], equal_nan=True
    )


def test_share_of_a_total_on_other_periods_or_entities_is_refused(make_frame):
    frame = make_frame([[1.0, 3.0], [2.0, 4.0]], columns=["a", "b"])
    with pytest.raises(InvalidInput, match="same periods"):
        share_of_total(frame, make_frame([1.0, 2.0], start="2021-01-01"))
    with pytest.raises(InvalidInput, match="one column"):
        share_of_total(frame, make_frame([[1.0, 1.0], [1.0, 1.0]], columns=["a", "c"]))


@pytest.mark.parametrize(
    "call",
    [
        lambda f: moving_average(f, 0, "M"),
        lambda f: moving_average(f, 2.5, "M"),
        lambda f: rise_from_low(f, True, "M"),
        lambda f: fall_from_high(f, 3, "W"),
        lambda f: rise_from_low(f, 3, "M", percent="yes"),
    ],
)
def test_rolling_views_refuse_bad_parameters(make_frame, call):
    with pytest.raises(InvalidParameter):
        call(make_frame([1.0, 2.0, 3.0]))


def test_rolling_views_refuse_a_panel_with_missing_period_rows(make_frame):
    frame = make_frame([1.0, 2.0, 3.0]).drop(index=pd.Timestamp("2020-02-01"))
    with pytest.raises(InvalidInput, match="consecutive"):
        rise_from_low(frame, 2, "M")


def test_the_change_is_the_documented_float_arithmetic_for_every_value():
    rng = np.random.default_rng(12)
    values = rng.normal(0.0, 1.0, (40, 50)) * rng.choice([1e-300, 1.0, 1e300], (40, 50))
    values[rng.random(values.shape) < 0.1] = 0.0
    values[rng.random(values.shape) < 0.1] = NAN
    panel = pd.DataFrame(values, index=pd.date_range("2020-01-01", periods=40, freq="MS"))
    base = np.full_like(values, NAN)
    base[12:] = values[:-12]
    with np.errstate(all="ignore"):
        expected = (values - base) / np.abs(base) * 100.0
    expected[~np.isfinite(expected)] = NAN
    np.testing.assert_array_equal(apply_transform(panel, "yoy", "M").to_numpy(), expected)
