"""Level and volatility shifts: the recent window against the reference window before it."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from models import InvalidInput, InvalidParameter
from models.shifts import LevelShiftDetector, VolatilityShiftDetector
from tests.models.panels import frame_of, random_panel

NAN = math.nan


def windows(series: list[float], t: int, window: int, reference: int):
    recent = [v for v in series[max(0, t - window + 1) : t + 1] if not math.isnan(v)]
    start = max(0, t - window - reference + 1)
    earlier = [v for v in series[start : max(0, t - window + 1)] if not math.isnan(v)]
    return recent, earlier


def reference_level_shift(series, window, reference, min_periods, standardize):
    scores = []
    for t, value in enumerate(series):
        recent, earlier = windows(series, t, window, reference)
        if math.isnan(value) or len(earlier) < min_periods:
            scores.append(NAN)
            continue
        centre = statistics.median(earlier)
        shift = statistics.median(recent) - centre
        if standardize:
            spread = 1.4826 * statistics.median(abs(v - centre) for v in earlier)
            spread = spread or statistics.stdev(earlier) or 1e-9 * max(1.0, abs(centre))
            shift /= spread
        scores.append(shift)
    return scores


def reference_volatility_shift(series, window, reference, min_periods):
    def spread(values):
        deviation = statistics.stdev(values)
        return deviation or 1e-9 * max(1.0, abs(statistics.fmean(values)))

    scores = []
    for t, value in enumerate(series):
        recent, earlier = windows(series, t, window, reference)
        if math.isnan(value) or len(recent) < 2 or len(earlier) < min_periods:
            scores.append(NAN)
        else:
            scores.append(math.log(spread(recent) / spread(earlier)))
    return scores


def level_shift(values, **params) -> list[float]:
    frame = frame_of(values)
    return LevelShiftDetector(**params).fit(frame).score(frame)["firm"].tolist()


def volatility_shift(values, **params) -> list[float]:
    frame = frame_of(values)
    return VolatilityShiftDetector(**params).fit(frame).score(frame)["firm"].tolist()


def test_level_shift_compares_the_recent_median_with_the_reference_median():
    # t=3: median(3, 10) - median(1, 2); t=4: median(10, 12) - median(1, 2, 3)
    scores = level_shift(
        [1.0, 2.0, 3.0, 10.0, 12.0], window=2, reference=3, min_periods=2, standardize=False
    )
    np.testing.assert_allclose(scores, [NAN, NAN, NAN, 5.0, 9.0], equal_nan=True)


def test_a_standardised_level_shift_reads_in_robust_standard_deviations():
    scores = level_shift([1.0, 2.0, 3.0, 10.0, 12.0], window=2, reference=3, min_periods=2)
    # MADs: 0.5 of (1, 2), 1 of (1, 2, 3)
    np.testing.assert_allclose(
        scores, [NAN, NAN, NAN, 5.0 / (1.4826 * 0.5), 9.0 / 1.4826], rtol=1e-12, equal_nan=True
    )


def test_a_level_shift_over_a_flat_reference_falls_back_to_its_deviation_then_a_floor():
    # reference 4 4 4 6: MAD 0, so its standard deviation 1 scales the shift
    assert level_shift([4.0, 4.0, 4.0, 6.0, 9.0], window=1, reference=4, min_periods=4)[4] == 5.0
    flat = level_shift([5.0] * 6 + [6.0], window=1, reference=4, min_periods=4)
    assert flat[4:6] == [0.0, 0.0] and 1e6 < flat[6] < math.inf


def test_a_lone_outlier_does_not_move_the_recent_median():
    values = [10.0] * 12 + [10.0, 90.0, 10.0]
    scores = level_shift(values, window=3, reference=12, min_periods=6, standardize=False)
    assert scores[-1] == 0.0


def test_volatility_shift_is_the_log_ratio_of_standard_deviations():
    values = [1.0, 2.0, 3.0, 4.0, 0.0, 10.0, 20.0]
    scores = volatility_shift(values, window=3, reference=4, min_periods=3)
    expected = math.log(10.0 / statistics.stdev([1.0, 2.0, 3.0, 4.0]))
    assert scores[6] == pytest.approx(expected)
    assert all(math.isnan(v) for v in scores[:5])


def test_a_calmer_series_has_a_negative_volatility_shift():
    values = [0.0, 4.0] * 6 + [1.0, 1.5, 1.0, 1.5]
    scores = volatility_shift(values, window=4, reference=8, min_periods=4)
    assert scores[-1] < -1.5


@pytest.mark.parametrize(
    ("window", "reference", "min_periods", "standardize"),
    [(3, 12, 6, True), (1, 5, 2, True), (4, 8, 8, False)],
)
def test_level_shift_equals_the_per_series_reference(window, reference, min_periods, standardize):
    panel = random_panel(n_periods=60, n_entities=25, seed=window)
    detector = LevelShiftDetector(window, reference, min_periods, standardize)
    scores = detector.fit(panel).score(panel)
    for column in panel.columns:
        expected = reference_level_shift(
            panel[column].tolist(), window, reference, min_periods, standardize
        )
        np.testing.assert_allclose(scores[column], expected, rtol=1e-8, equal_nan=True)


@pytest.mark.parametrize(("window", "reference", "min_periods"), [(6, 24, 8), (2, 3, 2)])
def test_volatility_shift_equals_the_per_series_reference(window, reference, min_periods):
    panel = random_panel(n_periods=60, n_entities=25, seed=reference)
    detector = VolatilityShiftDetector(window, reference, min_periods)
    scores = detector.fit(panel).score(panel)
    for column in panel.columns:
        expected = reference_volatility_shift(
            panel[column].tolist(), window, reference, min_periods
        )
        np.testing.assert_allclose(scores[column], expected, rtol=1e-7, atol=1e-12, equal_nan=True)


DETECTORS = {
    "level": lambda f: LevelShiftDetector(window=3, reference=8, min_periods=4).fit(f).score(f),
    "volatility": lambda f: (
        VolatilityShiftDetector(window=3, reference=8, min_periods=4).fit(f).score(f)
    ),
}


@pytest.mark.parametrize("kind", DETECTORS)
def test_scoring_a_prefix_gives_the_prefix_of_the_full_scores(kind):
    panel = random_panel(n_periods=48, n_entities=12, seed=13)
    full = DETECTORS[kind](panel)
    for cut in (1, 5, 20, 47):
        pd.testing.assert_frame_equal(DETECTORS[kind](panel.iloc[:cut]), full.iloc[:cut])


@pytest.mark.parametrize("kind", DETECTORS)
def test_appending_future_periods_never_changes_earlier_scores(kind):
    panel = random_panel(n_periods=36, n_entities=8, seed=14)
    future = frame_of(np.full((6, 8), 1e9), start="2023-01-01", columns=panel.columns)
    extended = DETECTORS[kind](pd.concat([panel, future]))
    pd.testing.assert_frame_equal(extended.iloc[:36], DETECTORS[kind](panel))


@pytest.mark.parametrize("kind", DETECTORS)
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
def test_awkward_panels_give_defined_scores_of_the_same_shape(kind, panel):
    scores = DETECTORS[kind](panel)
    assert scores.shape == panel.shape
    assert not np.isinf(scores.to_numpy()).any()


@pytest.mark.parametrize("kind", DETECTORS)
def test_an_all_equal_series_shows_no_shift(kind):
    scores = DETECTORS[kind](frame_of([7.0] * 14))["firm"]
    assert scores.iloc[:6].isna().all() and scores.iloc[6:].eq(0.0).all()


@pytest.mark.parametrize("kind", DETECTORS)
def test_a_missing_period_row_is_refused(kind):
    panel = frame_of(np.arange(30.0)).drop(index=pd.Timestamp("2020-05-01"))
    with pytest.raises(InvalidInput, match="consecutive"):
        DETECTORS[kind](panel)


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (LevelShiftDetector, {"window": 0}),
        (LevelShiftDetector, {"reference": 1}),
        (LevelShiftDetector, {"reference": 4, "min_periods": 5}),
        (LevelShiftDetector, {"standardize": 1}),
        (LevelShiftDetector, {"frequency": None, "transform": "yoy"}),
        (VolatilityShiftDetector, {"window": 1}),
        (VolatilityShiftDetector, {"reference": 6, "min_periods": 7}),
        (VolatilityShiftDetector, {"transform": "log"}),
    ],
)
def test_shift_detectors_refuse_bad_parameters(cls, params):
    with pytest.raises(InvalidParameter):
        cls(**params).fit(frame_of([1.0, 2.0]))
