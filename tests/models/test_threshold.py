"""ThresholdDetector: the score is the value the four-colour cut-offs are compared with."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models import InvalidParameter, NotFittedError, ThresholdDetector, apply_transform
from tests.models.panels import random_panel

NAN = math.nan

CASES = [
    ({}, [5.0, NAN, -2.0], [5.0, NAN, -2.0]),
    ({"transform": "pop"}, [100.0, 90.0, 99.0], [NAN, -10.0, 10.0]),
    ({"transform": "yoy", "frequency": "A"}, [200.0, 150.0, 300.0], [NAN, -25.0, 100.0]),
]


@pytest.mark.parametrize(("params", "values", "expected"), CASES)
def test_threshold_detector_scores_the_transformed_value(make_frame, params, values, expected):
    frame = make_frame(values, frequency=params.get("frequency", "M"))
    scores = ThresholdDetector(**params).fit(frame).score(frame)
    np.testing.assert_allclose(scores["firm"].to_numpy(), expected, equal_nan=True)


def test_threshold_detector_equals_the_transform_on_a_whole_panel():
    panel = random_panel(n_periods=30, n_entities=12)
    scores = ThresholdDetector(transform="yoy").fit(panel).score(panel)
    np.testing.assert_array_equal(scores.to_numpy(), apply_transform(panel, "yoy", "M"))


def test_threshold_detector_must_be_fitted_before_scoring(make_frame):
    with pytest.raises(NotFittedError, match="ThresholdDetector"):
        ThresholdDetector().score(make_frame([1.0, 2.0]))


def test_threshold_detector_fit_records_the_history_it_saw(make_frame):
    history = make_frame([[1.0, 2.0]] * 5, columns=["a", "b"])
    detector = ThresholdDetector()
    assert detector.fit(history) is detector
    assert detector.n_periods_ == 5
    assert list(detector.entities_) == ["a", "b"]


@pytest.mark.parametrize("params", [{"transform": "ratio"}, {"frequency": "D"}, {"transform": 1}])
def test_threshold_detector_refuses_bad_parameters_at_fit(make_frame, params):
    with pytest.raises(InvalidParameter):
        ThresholdDetector(**params).fit(make_frame([1.0]))


def test_threshold_detector_applies_rule_steps_after_its_transform(make_frame):
    frame = make_frame([100.0, 110.0, 99.0, 108.9, 130.68])
    detector = ThresholdDetector(transform="pop", steps=[{"ma": 2}, {"rise_from_low": 2}])
    scores = detector.fit(frame).score(frame)["firm"].to_numpy()
    # pop: nan, 10, -10, 10, 20; ma(2): nan, 10, 0, 0, 15; less the low of the 2 before
    np.testing.assert_allclose(scores, [NAN, NAN, -10.0, 0.0, 15.0], atol=1e-9, equal_nan=True)


def test_threshold_detector_without_steps_is_unchanged(make_frame):
    frame = random_panel(n_periods=20, n_entities=4)
    plain = ThresholdDetector(transform="yoy").fit(frame).score(frame)
    empty = ThresholdDetector(transform="yoy", steps=[]).fit(frame).score(frame)
    pd.testing.assert_frame_equal(plain, empty)
    assert ThresholdDetector().get_params() == {
        "transform": "level",
        "frequency": "M",
        "steps": None,
    }


@pytest.mark.parametrize(
    "steps",
    [[{"ma": 0}], [{"share_of": "GOV_TOTAL"}], "ma", [{"median": 3}], [{"ma": 3, "pop": None}]],
)
def test_threshold_detector_refuses_bad_or_unusable_steps(make_frame, steps):
    with pytest.raises(InvalidParameter):
        ThresholdDetector(steps=steps).fit(make_frame([1.0]))


def test_threshold_detector_can_take_a_share_of_the_panel_sum(make_frame):
    frame = make_frame([[1.0, 3.0], [1.0, 1.0]], columns=["a", "b"])
    scores = ThresholdDetector(steps=[{"share_of": "sum"}]).fit(frame).score(frame)
    np.testing.assert_allclose(scores.to_numpy(), [[25.0, 75.0], [50.0, 50.0]])


def reference_change(series: list[float], lag: int) -> list[float]:
    """``100 * (x_t - x_{t-lag}) / |x_{t-lag}|``, NaN without a usable base."""
    result = []
    for t, value in enumerate(series):
        base = series[t - lag] if t >= lag else NAN
        usable = not (math.isnan(value) or math.isnan(base) or base == 0)
        result.append(100.0 * (value - base) / abs(base) if usable else NAN)
    return result


def reference_moving_average(series: list[float], window: int) -> list[float]:
    result = []
    for t, value in enumerate(series):
        present = [v for v in series[max(0, t - window + 1) : t + 1] if not math.isnan(v)]
        result.append(NAN if math.isnan(value) else sum(present) / len(present))
    return result


def reference_fall_from_high(series: list[float], window: int) -> list[float]:
    """How far below the high of the previous ``window`` periods, in percent of the high."""
    result = []
    for t, value in enumerate(series):
        prior = [v for v in series[max(0, t - window) : t] if not math.isnan(v)]
        high = max(prior) if prior else NAN
        usable = not (math.isnan(value) or math.isnan(high) or high == 0)
        result.append(100.0 * (high - value) / abs(high) if usable else NAN)
    return result


@pytest.mark.parametrize(
    ("params", "reference"),
    [
        (
            {"transform": "yoy", "steps": [{"fall_from_high": {"window": 6, "percent": True}}]},
            lambda s: reference_fall_from_high(reference_change(s, 12), 6),
        ),
        (
            {"transform": "pop", "steps": [{"ma": 3}]},
            lambda s: reference_moving_average(reference_change(s, 1), 3),
        ),
        (
            {"transform": "level", "steps": ["pop", "pop"]},
            lambda s: reference_change(reference_change(s, 1), 1),
        ),
    ],
    ids=["yoy then fall from high", "pop then moving average", "pop of pop"],
)
def test_vectorised_scores_equal_the_per_series_reference(params, reference):
    panel = random_panel(n_periods=60, n_entities=20, seed=31)
    scores = ThresholdDetector(**params).fit(panel).score(panel)
    for column in panel.columns:
        expected = reference(panel[column].tolist())
        np.testing.assert_allclose(scores[column], expected, rtol=1e-12, equal_nan=True)


def test_the_share_of_the_panel_sum_equals_the_period_by_period_reference():
    panel = random_panel(n_periods=24, n_entities=9, seed=32)
    scores = ThresholdDetector(steps=[{"share_of": "sum"}]).fit(panel).score(panel)
    for period, row in panel.iterrows():
        present = [v for v in row if not math.isnan(v)]
        total = sum(present)
        expected = [NAN if math.isnan(v) or total == 0 else 100.0 * v / total for v in row]
        np.testing.assert_allclose(scores.loc[period], expected, rtol=1e-12, equal_nan=True)
