"""SeasonalDetector: the residual from "last value plus the usual step into this season"."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from models import InvalidInput, InvalidParameter
from models.seasonal import SeasonalDetector, seasonal_residual
from tests.models.panels import frame_of, random_panel

NAN = math.nan


def reference_residual(series: list[float], period: int, cycles: int) -> list[float]:
    residuals = []
    for t, value in enumerate(series):
        steps = []
        for j in range(1, cycles + 1):
            now, before = t - j * period, t - j * period - 1
            if before >= 0 and not math.isnan(series[now]) and not math.isnan(series[before]):
                steps.append(series[now] - series[before])
        if t == 0 or not steps or math.isnan(value) or math.isnan(series[t - 1]):
            residuals.append(NAN)
        else:
            residuals.append(value - (series[t - 1] + statistics.median(steps)))
    return residuals


def reference_robust_z(series: list[float], window: int, min_periods: int) -> list[float]:
    scores = []
    for t, value in enumerate(series):
        prior = [v for v in series[max(0, t - window) : t] if not math.isnan(v)]
        if len(prior) < min_periods or math.isnan(value):
            scores.append(NAN)
            continue
        median = statistics.median(prior)
        scale = 1.4826 * statistics.median(abs(v - median) for v in prior)
        if scale == 0:
            mean_ad = sum(abs(v - median) for v in prior) / len(prior)
            scale = 1.2533 * mean_ad if mean_ad > 0 else 1e-9 * max(1.0, abs(median))
        scores.append((value - median) / scale)
    return scores


def residual(values, period, cycles) -> list[float]:
    return seasonal_residual(np.asarray(values, dtype=float)[:, None], period, cycles)[
        :, 0
    ].tolist()


PATTERN = [0.0, 5.0, -3.0, 1.0]
TRENDED = [t + PATTERN[t % 4] for t in range(20)]


def test_a_trend_with_a_fixed_season_leaves_no_residual():
    values = residual(TRENDED, period=4, cycles=2)
    assert all(math.isnan(v) for v in values[:5])
    assert values[5:] == pytest.approx([0.0] * 15)


def test_a_one_off_jump_shows_in_its_period_and_the_step_back():
    jumped = list(TRENDED)
    jumped[12] += 10.0
    values = residual(jumped, period=4, cycles=1)
    assert values[12] == pytest.approx(10.0) and values[13] == pytest.approx(-10.0)
    # one cycle later the jump's step is the only vote, and repeats as an echo ...
    assert values[16] == pytest.approx(-10.0)
    # ... which the median of three cycles outvotes
    assert residual(jumped, period=4, cycles=3)[16] == pytest.approx(0.0)


def test_a_period_of_one_is_a_drift_forecast():
    # forecast of the last value: 4 + median(4 - 3, 3 - 2) = 5
    assert residual([1.0, 2.0, 3.0, 4.0, 10.0], period=1, cycles=2)[4] == pytest.approx(5.0)


def test_the_default_period_follows_the_frequency():
    monthly = frame_of(np.arange(30.0))
    quarterly = frame_of(np.arange(30.0), frequency="Q")
    assert SeasonalDetector().fit(monthly).period_ == 12
    assert SeasonalDetector(frequency="Q").fit(quarterly).period_ == 4
    assert SeasonalDetector(frequency="A").fit(frame_of([1.0], frequency="A")).period_ == 1
    assert SeasonalDetector(frequency=None).fit(monthly).period_ == 1
    assert SeasonalDetector(period=3).fit(monthly).period_ == 3


def test_the_score_is_the_robust_z_of_the_residual():
    jumped = list(TRENDED)
    jumped[14] += 3.0
    frame = frame_of(jumped)
    scores = SeasonalDetector(period=4, cycles=2, window=6, min_periods=3).fit(frame).score(frame)
    # exact residuals of 0 before the jump: an unchanged season scores 0, the jump far out
    assert scores["firm"].iloc[8:14].eq(0.0).all()
    assert scores["firm"].iloc[14] > 1e6


@pytest.mark.parametrize(
    ("period", "cycles", "window", "min_periods"),
    [(12, 3, 24, 8), (4, 2, 6, 3), (1, 1, 5, 2)],
)
def test_vectorised_scores_equal_the_per_series_reference(period, cycles, window, min_periods):
    panel = random_panel(n_periods=72, n_entities=20, seed=period)
    detector = SeasonalDetector(
        period=period, cycles=cycles, window=window, min_periods=min_periods
    )
    scores = detector.fit(panel).score(panel)
    for column in panel.columns:
        residuals = reference_residual(panel[column].tolist(), period, cycles)
        expected = reference_robust_z(residuals, window, min_periods)
        np.testing.assert_allclose(scores[column], expected, rtol=1e-9, equal_nan=True)


def run(panel: pd.DataFrame) -> pd.DataFrame:
    return SeasonalDetector(window=12, min_periods=4).fit(panel).score(panel)


def test_scoring_a_prefix_gives_the_prefix_of_the_full_scores():
    panel = random_panel(n_periods=72, n_entities=10, seed=11)
    full = run(panel)
    for cut in (1, 13, 40, 71):
        pd.testing.assert_frame_equal(run(panel.iloc[:cut]), full.iloc[:cut])


def test_appending_future_periods_never_changes_earlier_scores():
    panel = random_panel(n_periods=60, n_entities=8, seed=12)
    future = frame_of(np.full((6, 8), 1e9), start="2025-01-01", columns=panel.columns)
    pd.testing.assert_frame_equal(run(pd.concat([panel, future])).iloc[:60], run(panel))


@pytest.mark.parametrize(
    "panel",
    [
        frame_of(np.empty((0, 2))),
        frame_of([[3.0, NAN]]),
        frame_of([[7.0, 7.0]] * 40),
        frame_of([[NAN, NAN]] * 40),
        frame_of([[1.0, math.inf], [2.0, -math.inf], [3.0, 4.0]] * 14),
    ],
    ids=["empty", "single period", "all equal", "all missing", "infinities"],
)
def test_awkward_panels_give_defined_scores_of_the_same_shape(panel):
    scores = run(panel)
    assert scores.shape == panel.shape
    assert not np.isinf(scores.to_numpy()).any()


def test_an_all_equal_series_scores_zero_once_it_has_history():
    scores = run(frame_of([7.0] * 40))["firm"]
    assert scores.iloc[:17].isna().all() and scores.iloc[17:].eq(0.0).all()


def test_a_missing_period_row_is_refused():
    panel = frame_of(np.arange(30.0)).drop(index=pd.Timestamp("2020-05-01"))
    with pytest.raises(InvalidInput, match="consecutive"):
        run(panel)


@pytest.mark.parametrize(
    "params",
    [
        {"period": 0},
        {"cycles": 0},
        {"window": 1},
        {"window": 4, "min_periods": 5},
        {"transform": "log"},
        {"frequency": None, "transform": "pop"},
    ],
)
def test_seasonal_refuses_bad_parameters(params):
    with pytest.raises(InvalidParameter):
        SeasonalDetector(**params).fit(frame_of([1.0, 2.0]))
