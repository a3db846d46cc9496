"""EwmaDetector: a self-starting EWMA chart against the mean and spread of earlier values."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from models import InvalidParameter, NotFittedError
from models.ewma import EwmaDetector
from tests.models.panels import frame_of, random_panel

NAN = math.nan


def reference_ewma(
    series: list[float],
    alpha: float,
    baseline: int | None,
    min_periods: int,
    standardize: bool = True,
) -> list[float]:
    """The documented chart, one value at a time, in plain Python."""
    scores, level, smoothed_before = [], None, 0
    for t, value in enumerate(series):
        if math.isnan(value):
            scores.append(NAN)
            continue
        level = value if level is None else level + alpha * (value - level)
        start = 0 if baseline is None else max(0, t - baseline)
        prior = [v for v in series[start:t] if not math.isnan(v)]
        if len(prior) < min_periods:
            scores.append(NAN)
        elif not standardize:
            scores.append(level)
        else:
            mean, std = statistics.fmean(prior), statistics.stdev(prior)
            decay = (1 - alpha) ** (2 * smoothed_before)
            scale = std * math.sqrt(decay + alpha / (2 - alpha) * (1 - decay))
            if scale == 0:
                scale = 1e-9 * max(1.0, abs(mean))
            scores.append((level - mean) / scale)
        smoothed_before += 1
    return scores


def ewma(values, **params) -> list[float]:
    frame = frame_of(values)
    return EwmaDetector(**params).fit(frame).score(frame)["firm"].tolist()


def test_ewma_scores_the_smoothed_level_in_standard_errors():
    # levels 1, 2, 3.5, 51.75; at t=2 the prior values 1, 3 have mean 2 and sd sqrt(2)
    # and the level has smoothed 2 earlier values: f = 0.5^4 + 1/3 * (1 - 0.5^4) = 0.375.
    scores = ewma([1.0, 3.0, 5.0, 100.0], alpha=0.5, min_periods=2)
    expected = [
        NAN,
        NAN,
        (3.5 - 2.0) / (math.sqrt(2.0) * math.sqrt(0.375)),
        (51.75 - 3.0) / (2.0 * math.sqrt(0.5**6 + (1 - 0.5**6) / 3)),
    ]
    np.testing.assert_allclose(scores, expected, rtol=1e-12, equal_nan=True)
    assert scores[2] == pytest.approx(math.sqrt(3.0))


def test_an_alpha_of_one_is_a_plain_z_score_against_earlier_values():
    scores = ewma([2.0, 4.0, 6.0, 8.0], alpha=1.0, min_periods=2)
    np.testing.assert_allclose(
        scores, [NAN, NAN, 3.0 / math.sqrt(2.0), 4.0 / 2.0], rtol=1e-12, equal_nan=True
    )


def test_a_missing_value_scores_nan_and_leaves_the_level_unchanged():
    scores = ewma([1.0, NAN, 3.0, 5.0], alpha=0.5, min_periods=2)
    # t=2 has one earlier value only; t=3 sees level 3.5 against 1 and 3, as above.
    np.testing.assert_allclose(scores, [NAN, NAN, NAN, math.sqrt(3.0)], rtol=1e-12, equal_nan=True)


def test_without_standardize_the_score_is_the_smoothed_level():
    scores = ewma([1.0, 3.0, 5.0, 100.0], alpha=0.5, min_periods=2, standardize=False)
    np.testing.assert_allclose(scores, [NAN, NAN, 3.5, 51.75], equal_nan=True)


def test_the_baseline_window_limits_the_reference_to_recent_periods():
    values = [100.0, 100.0, 1.0, 3.0, 5.0]
    scores = ewma(values, alpha=1.0, min_periods=2, baseline=2)
    # at t=4 only 1 and 3 form the reference: (5 - 2) / sqrt(2)
    assert scores[4] == pytest.approx(3.0 / math.sqrt(2.0))


def test_a_flat_history_scores_zero_and_a_move_off_it_very_high():
    scores = ewma([5.0, 5.0, 5.0, 5.0, 6.0], alpha=0.5, min_periods=2)
    assert scores[2] == scores[3] == 0.0
    assert 1e6 < scores[4] < math.inf


@pytest.mark.parametrize(
    "params",
    [
        {"alpha": 0.2, "baseline": None, "min_periods": 8},
        {"alpha": 0.5, "baseline": 12, "min_periods": 4},
        {"alpha": 1.0, "baseline": 6, "min_periods": 2},
        {"alpha": 0.1, "baseline": None, "min_periods": 3, "standardize": False},
    ],
)
def test_vectorised_scores_equal_the_per_series_reference(params):
    panel = random_panel(n_periods=60, n_entities=25, seed=4)
    scores = EwmaDetector(**params).fit(panel).score(panel)
    for column in panel.columns:
        expected = reference_ewma(panel[column].tolist(), **params)
        np.testing.assert_allclose(scores[column], expected, rtol=1e-8, equal_nan=True)


def run(panel: pd.DataFrame) -> pd.DataFrame:
    return EwmaDetector(alpha=0.3, min_periods=4).fit(panel).score(panel)


def test_scoring_a_prefix_gives_the_prefix_of_the_full_scores():
    panel = random_panel(n_periods=48, n_entities=12, seed=5)
    full = run(panel)
    for cut in (1, 5, 20, 47):
        pd.testing.assert_frame_equal(run(panel.iloc[:cut]), full.iloc[:cut])


def test_appending_future_periods_never_changes_earlier_scores():
    panel = random_panel(n_periods=36, n_entities=8, seed=6)
    future = frame_of(np.full((6, 8), 1e9), start="2023-01-01", columns=panel.columns)
    extended = pd.concat([panel, future])
    pd.testing.assert_frame_equal(run(extended).iloc[:36], run(panel))


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


def test_infinities_are_treated_as_missing_values():
    with_inf = frame_of([1.0, 2.0, math.inf, 3.0, 2.0, -math.inf, 4.0] * 3)
    pd.testing.assert_frame_equal(run(with_inf), run(with_inf.replace([math.inf, -math.inf], NAN)))


def test_a_stream_takes_any_sorted_timestamps():
    index = pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 00:05", "2024-01-01 00:07"])
    stream = pd.DataFrame({"sensor": [1.0, 3.0, 5.0]}, index=index)
    detector = EwmaDetector(alpha=0.5, min_periods=2, frequency=None).fit(stream)
    assert detector.score(stream)["sensor"].iloc[2] == pytest.approx(math.sqrt(3.0))


def test_scoring_before_fitting_raises():
    with pytest.raises(NotFittedError):
        EwmaDetector().score(frame_of([1.0, 2.0]))


@pytest.mark.parametrize(
    "params",
    [
        {"alpha": 0.0},
        {"alpha": 1.5},
        {"alpha": "0.2"},
        {"baseline": 1},
        {"baseline": 4, "min_periods": 5},
        {"min_periods": 1},
        {"standardize": "yes"},
        {"transform": "log"},
        {"frequency": None, "transform": "yoy"},
    ],
)
def test_ewma_refuses_bad_parameters(params):
    with pytest.raises(InvalidParameter):
        EwmaDetector(**params).fit(frame_of([1.0, 2.0]))
