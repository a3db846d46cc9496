"""apply_transform: the level, or its year-on-year / period-on-period change in percent."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models import InvalidInput, InvalidParameter, apply_transform

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
