"""The shared pieces of the time-series detectors: running extremes and statistics."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from models import InvalidParameter
from models.series import (
    check_transform,
    model_values,
    nan_median,
    season_length,
    trailing_extreme,
    trailing_stats,
)
from tests.models.panels import frame_of, random_panel

NAN = math.nan


def windows(series: list[float], window: int | None):
    for t in range(len(series)):
        start = 0 if window is None else max(0, t - window + 1)
        yield [v for v in series[start : t + 1] if not math.isnan(v)]


@pytest.mark.parametrize("window", [None, 1, 2, 3, 7, 8, 13, 64, 500])
def test_trailing_extremes_equal_the_brute_force(window):
    panel = random_panel(n_periods=70, n_entities=6, seed=28).to_numpy()
    highs = trailing_extreme(panel, window, np.fmax)
    lows = trailing_extreme(panel, window, np.fmin)
    for column in range(panel.shape[1]):
        for t, values in enumerate(windows(panel[:, column].tolist(), window)):
            expected = (max(values), min(values)) if values else (NAN, NAN)
            np.testing.assert_equal((highs[t, column], lows[t, column]), expected)


@pytest.mark.parametrize("window", [None, 1, 2, 5, 12, 100])
def test_trailing_stats_equal_the_brute_force(window):
    panel = random_panel(n_periods=60, n_entities=8, seed=29).to_numpy() * 1e3
    count, mean, std = trailing_stats(panel, window)
    for column in range(panel.shape[1]):
        for t, values in enumerate(windows(panel[:, column].tolist(), window)):
            assert count[t, column] == len(values)
            expected_mean = statistics.fmean(values) if values else NAN
            expected_std = statistics.stdev(values) if len(values) > 1 else NAN
            np.testing.assert_allclose(mean[t, column], expected_mean, rtol=1e-12)
            np.testing.assert_allclose(std[t, column], expected_std, rtol=1e-8, atol=1e-9)


def test_a_window_of_equal_values_has_a_deviation_of_exactly_zero():
    values = np.array([[0.3], [0.1], [0.1], [0.1], [NAN], [0.1], [7.0]])
    _, mean, std = trailing_stats(values, 3)
    assert std[3, 0] == 0.0 and std[5, 0] == 0.0 and std[6, 0] > 0
    assert mean[5, 0] == pytest.approx(0.1)


def test_nan_median_takes_the_middle_of_the_values_present():
    block = np.array([[3.0, 1.0, NAN, 2.0], [NAN, NAN, NAN, NAN], [4.0, 1.0, 2.0, 8.0]])
    median, count = nan_median(block)
    np.testing.assert_equal(median, [2.0, NAN, 3.0])
    np.testing.assert_equal(count, [3, 0, 4])


def test_a_stream_takes_rows_as_they_come_and_only_the_level():
    index = pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 00:01", "2024-03-09"])
    stream = pd.DataFrame({"s": [1.0, 2.0, 3.0]}, index=index)
    np.testing.assert_equal(model_values(stream, "level", None), [[1.0], [2.0], [3.0]])
    with pytest.raises(InvalidParameter, match="stream"):
        check_transform("yoy", None)


def test_a_calendar_panel_gets_its_transform():
    panel = frame_of([100.0, 110.0, 99.0])
    np.testing.assert_allclose(model_values(panel, "pop", "M")[:, 0], [NAN, 10.0, -10.0])


def test_the_season_length_follows_the_frequency_unless_given():
    assert [season_length(None, f) for f in ("M", "Q", "A", None)] == [12, 4, 1, 1]
    assert season_length(7, "M") == 7
