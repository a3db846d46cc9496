"""CusumDetector: two-sided tabular CUSUM of values standardised against earlier ones."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from models import InvalidParameter, NotFittedError
from models.cusum import CusumDetector
from tests.models.panels import frame_of, random_panel

NAN = math.nan


def reference_cusum(
    series: list[float], k: float, clip: float, baseline: int | None, min_periods: int
) -> list[float]:
    """The documented recursion, one value at a time, in plain Python."""
    upper = lower = 0.0
    scores = []
    for t, value in enumerate(series):
        start = 0 if baseline is None else max(0, t - baseline)
        prior = [v for v in series[start:t] if not math.isnan(v)]
        if math.isnan(value) or len(prior) < min_periods:
            scores.append(NAN)
            continue
        mean, std = statistics.fmean(prior), statistics.stdev(prior)
        scale = std if std > 0 else 1e-9 * max(1.0, abs(mean))
        u = max(-clip, min(clip, (value - mean) / scale))
        upper, lower = max(0.0, upper + u - k), max(0.0, lower - u - k)
        scores.append(upper if upper >= lower else -lower)
    return scores


def cusum(values, **params) -> list[float]:
    frame = frame_of(values)
    return CusumDetector(**params).fit(frame).score(frame)["firm"].tolist()


def test_cusum_accumulates_standardised_deviations_beyond_the_allowance():
    # t=4: prior 0 2 1 1 (mean 1, sd sqrt(2/3)) -> u = 2.449; t=5: prior mean 1.4,
    # sd sqrt(1.3) -> u = 1.403; each step adds u - 0.5 to the upper sum.
    scores = cusum([0.0, 2.0, 1.0, 1.0, 3.0, 3.0], k=0.5, min_periods=2)
    first = 2.0 / math.sqrt(2.0 / 3.0) - 0.5
    second = first + 1.6 / math.sqrt(1.3) - 0.5
    np.testing.assert_allclose(
        scores, [NAN, NAN, 0.0, 0.0, first, second], rtol=1e-12, equal_nan=True
    )


def test_a_run_below_the_usual_level_scores_negative():
    values = [0.0, 2.0, 1.0, 1.0, 3.0, 3.0]
    down = cusum([-v for v in values], k=0.5, min_periods=2)
    up = cusum(values, k=0.5, min_periods=2)
    np.testing.assert_allclose(down, [-s for s in up], equal_nan=True)


def test_small_deviations_within_the_allowance_never_build_up():
    values = [0.0, 1.0] * 10
    scores = cusum(values, k=1.5, min_periods=2)
    assert all(s == 0.0 for s in scores[2:])


def test_one_wild_value_is_clipped_so_it_cannot_hold_the_chart_for_ever():
    scores = cusum([5.0, 5.0, 5.0, 5.0, 50.0], k=0.5, clip=4.0, min_periods=2)
    assert scores[2:4] == [0.0, 0.0]
    assert scores[4] == pytest.approx(3.5)


def test_a_missing_value_scores_nan_and_carries_the_sums_over():
    values = [0.0, 2.0, 1.0, 1.0, 3.0, 3.0]
    with_gap = cusum(values[:3] + [NAN] + values[3:], k=0.5, min_periods=2)
    without = cusum(values, k=0.5, min_periods=2)
    assert math.isnan(with_gap[3])
    np.testing.assert_allclose(with_gap[:3] + with_gap[4:], without, equal_nan=True)


@pytest.mark.parametrize(
    "params",
    [
        {"k": 0.5, "clip": 4.0, "baseline": None, "min_periods": 8},
        {"k": 0.25, "clip": 3.0, "baseline": 12, "min_periods": 4},
        {"k": 0.0, "clip": 1.0, "baseline": 5, "min_periods": 2},
    ],
)
def test_vectorised_scores_equal_the_per_series_reference(params):
    panel = random_panel(n_periods=60, n_entities=25, seed=7)
    scores = CusumDetector(**params).fit(panel).score(panel)
    for column in panel.columns:
        expected = reference_cusum(panel[column].tolist(), **params)
        np.testing.assert_allclose(scores[column], expected, rtol=1e-8, equal_nan=True)


def run(panel: pd.DataFrame) -> pd.DataFrame:
    return CusumDetector(k=0.5, min_periods=4, baseline=12).fit(panel).score(panel)


def test_scoring_a_prefix_gives_the_prefix_of_the_full_scores():
    panel = random_panel(n_periods=48, n_entities=12, seed=8)
    full = run(panel)
    for cut in (1, 5, 20, 47):
        pd.testing.assert_frame_equal(run(panel.iloc[:cut]), full.iloc[:cut])


def test_appending_future_periods_never_changes_earlier_scores():
    panel = random_panel(n_periods=36, n_entities=8, seed=9)
    future = frame_of(np.full((6, 8), -1e9), start="2023-01-01", columns=panel.columns)
    pd.testing.assert_frame_equal(run(pd.concat([panel, future])).iloc[:36], run(panel))


@pytest.mark.parametrize(
    "panel",
    [
        frame_of(np.empty((0, 2))),
        frame_of([[3.0, NAN]]),
        frame_of([[7.0, 7.0]] * 12),
        frame_of([[NAN, NAN]] * 12),
        frame_of([[1.0, math.inf], [2.0, -math.inf], [3.0, 4.0]] * 4),
    ],
    ids=["empty", "single period", "all equal", "all missing", "infinities"],
)
def test_awkward_panels_give_defined_scores_of_the_same_shape(panel):
    scores = run(panel)
    assert scores.shape == panel.shape
    assert not np.isinf(scores.to_numpy()).any()


def test_an_all_equal_series_scores_zero_once_it_has_history():
    scores = run(frame_of([7.0] * 12))["firm"]
    assert scores.iloc[:4].isna().all() and (scores.iloc[4:] == 0.0).all()


def test_scoring_before_fitting_raises():
    with pytest.raises(NotFittedError):
        CusumDetector().score(frame_of([1.0, 2.0]))


@pytest.mark.parametrize(
    "params",
    [
        {"k": -0.1},
        {"clip": 0.0},
        {"k": 2.0, "clip": 1.5},
        {"baseline": 1},
        {"baseline": 4, "min_periods": 6},
        {"min_periods": 1},
        {"transform": "log"},
        {"frequency": "W"},
    ],
)
def test_cusum_refuses_bad_parameters(params):
    with pytest.raises(InvalidParameter):
        CusumDetector(**params).fit(frame_of([1.0, 2.0]))
