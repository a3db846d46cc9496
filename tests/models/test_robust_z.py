"""RobustZDetector: each value against the median and MAD of the periods before it."""

from __future__ import annotations

import math
import statistics
import time

import numpy as np
import pandas as pd
import pytest

from models import InvalidParameter, RobustZDetector, apply_transform
from tests.models.panels import frame_of, random_panel

NAN = math.nan


def reference_robust_z(series: list[float], window: int, min_periods: int) -> list[float]:
    """The documented rule, one value at a time, in plain Python."""
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


CASES = [
    # prior (1, 2, 3): median 2, MAD 1; prior (1, 2, 3, 4): median 2.5, MAD 1
    ({"window": 4, "min_periods": 3}, [1, 2, 3, 4, 10], [NAN, NAN, NAN, 2 / 1.4826, 7.5 / 1.4826]),
    # the window slides: at t=4 the prior rows are 2, 3, 4 only
    ({"window": 3, "min_periods": 3}, [100, 2, 3, 4, 5], [NAN, NAN, NAN, 1 / 1.4826, 2 / 1.4826]),
    # missing values are skipped inside the window, and a missing value scores NaN
    ({"window": 4, "min_periods": 2}, [1, NAN, 3, NAN, 5], [NAN, NAN, NAN, NAN, 3 / 1.4826]),
    # MAD of 0 (prior 5 5 5 5 9): mean absolute deviation 0.8 takes over
    ({"window": 5, "min_periods": 5}, [5, 5, 5, 5, 9, 7], [NAN] * 5 + [2 / (1.2533 * 0.8)]),
    # a flat history: an unchanged value scores 0, a moved one very high but finite
    ({"window": 3, "min_periods": 2}, [4, 4, 4, 4, 5], [NAN, NAN, 0.0, 0.0, 1 / 4e-9]),
    ({"window": 3, "min_periods": 2}, [0, 0, 0, -1], [NAN, NAN, 0.0, -1 / 1e-9]),
]


@pytest.mark.parametrize(("params", "values", "expected"), CASES)
def test_robust_z_scores_against_the_prior_window(make_frame, params, values, expected):
    frame = make_frame(values)
    scores = RobustZDetector(**params).fit(frame).score(frame)
    np.testing.assert_allclose(scores["firm"].to_numpy(), expected, rtol=1e-12, equal_nan=True)


def test_an_outlier_cannot_mask_itself(make_frame):
    values = [10.0, 11.0, 9.0, 10.0, 10.5, 9.5, 10.0, 60.0]
    scores = RobustZDetector(window=7, min_periods=7).fit(make_frame(values))
    assert scores.score(make_frame(values))["firm"].iloc[-1] > 30


@pytest.mark.parametrize(("window", "min_periods"), [(24, 8), (5, 2), (3, 3)])
def test_vectorised_scores_equal_the_per_series_reference(window, min_periods):
    panel = random_panel(n_periods=50, n_entities=30, seed=window)
    scores = RobustZDetector(window=window, min_periods=min_periods).fit(panel).score(panel)
    for column in panel.columns:
        expected = reference_robust_z(panel[column].tolist(), window, min_periods)
        np.testing.assert_allclose(scores[column], expected, rtol=1e-9, equal_nan=True)


def test_robust_z_scores_the_transformed_series(make_frame):
    panel = random_panel(n_periods=40, n_entities=6, seed=3)
    detector = RobustZDetector(window=6, min_periods=4, transform="yoy").fit(panel)
    changes = apply_transform(panel, "yoy", "M")
    for column in panel.columns:
        expected = reference_robust_z(changes[column].tolist(), 6, 4)
        np.testing.assert_allclose(detector.score(panel)[column], expected, equal_nan=True)


def test_robust_z_without_enough_history_is_all_nan(make_frame):
    frame = make_frame([1.0, 2.0, 3.0])
    assert RobustZDetector().fit(frame).score(frame).isna().all().all()


@pytest.mark.parametrize(
    "params",
    [
        {"window": 1, "min_periods": 1},
        {"window": 12, "min_periods": 1},
        {"window": 4, "min_periods": 5},
        {"window": 12.5},
        {"window": True},
        {"min_periods": "8"},
        {"transform": "log"},
        {"frequency": "W"},
    ],
)
def test_robust_z_refuses_bad_parameters(make_frame, params):
    with pytest.raises(InvalidParameter):
        RobustZDetector(**params).fit(make_frame([1.0, 2.0]))


def test_robust_z_scores_ten_thousand_entities_in_well_under_two_seconds():
    rng = np.random.default_rng(1)
    values = rng.lognormal(3.0, 0.3, (120, 10_000))
    values[rng.random(values.shape) < 0.05] = np.nan
    panel = frame_of(values, columns=range(10_000))
    detector = RobustZDetector().fit(panel.iloc[:1])
    started = time.process_time()  # CPU time: other work on a shared machine does not count
    scores = detector.score(panel)
    elapsed = time.process_time() - started
    assert scores.shape == panel.shape
    assert scores.iloc[8:].notna().to_numpy().mean() > 0.9
    assert elapsed < 2.0, f"took {elapsed:.2f} s"


def test_robust_z_keeps_entity_labels_and_periods():
    panel = frame_of(np.ones((10, 2)), columns=pd.Index([101, 202], name="entity_id"))
    scores = RobustZDetector(window=3, min_periods=2).fit(panel).score(panel)
    assert scores.columns.equals(panel.columns)
    assert scores.index.equals(panel.index)
