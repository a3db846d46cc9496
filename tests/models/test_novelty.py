"""NoveltyDetector: the distance from the latest stretch to its nearest earlier stretch."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models import InvalidParameter
from models.novelty import NoveltyDetector
from tests.models.panels import frame_of, random_panel

NAN = math.nan


def reference_novelty(series: list[float], length: int, exclusion: int, memory: int):
    """Brute force: every earlier complete stretch within memory, plain Python."""
    scores = []
    for t in range(len(series)):
        current = series[t - length + 1 : t + 1] if t >= length - 1 else []
        if len(current) < length or any(math.isnan(v) for v in current):
            scores.append(NAN)
            continue
        best = math.inf
        for lag in range(exclusion, memory + 1):
            end = t - lag
            if end - length + 1 < 0:
                break
            earlier = series[end - length + 1 : end + 1]
            if any(math.isnan(v) for v in earlier):
                continue
            gap = sum((a - b) ** 2 for a, b in zip(current, earlier, strict=True))
            best = min(best, math.sqrt(gap / length))
        scores.append(best if best < math.inf else NAN)
    return scores


def novelty(values, **params) -> list[float]:
    frame = frame_of(values)
    return NoveltyDetector(**params).fit(frame).score(frame)["firm"].tolist()


def test_novelty_is_the_rms_gap_to_the_nearest_earlier_stretch():
    # t=3: (0, 1) repeats (0, 1) exactly; t=4: (1, 5) is nearest to (0, 1): sqrt(17 / 2)
    scores = novelty([0.0, 1.0, 0.0, 1.0, 5.0, 1.0], length=2, memory=10)
    near = math.sqrt(17.0 / 2.0)
    np.testing.assert_allclose(scores, [NAN, NAN, NAN, 0.0, near, near], equal_nan=True)


def test_memory_limits_how_far_back_neighbours_are_sought():
    # with memory 2 the stretch (1, 5) at t=4 only meets (1, 0): sqrt(25 / 2)
    scores = novelty([0.0, 1.0, 0.0, 1.0, 5.0], length=2, memory=2)
    assert scores[4] == pytest.approx(math.sqrt(12.5))


def test_a_repeated_extreme_pattern_is_not_novel_the_second_time():
    calm_then_spike = [0.0] * 6 + [9.0]
    scores = novelty(calm_then_spike * 2, length=3, memory=20)
    assert scores[6] == pytest.approx(math.sqrt(81.0 / 3.0))  # (0, 0, 9) against (0, 0, 0)
    assert scores[13] == 0.0  # the same stretch again


def test_a_value_never_seen_before_is_novel_with_length_one():
    scores = novelty([1.0, 2.0, 1.0, 2.0, 7.0], length=1, memory=10)
    np.testing.assert_allclose(scores, [NAN, 1.0, 0.0, 0.0, 5.0], equal_nan=True)


def test_stretches_with_missing_values_take_no_part():
    scores = novelty([0.0, 1.0, NAN, 1.0, 0.0, 1.0], length=2, memory=10)
    # t=2, t=3 hold the gap; (1, 0) at t=4 meets (0, 1) of t=1, (0, 1) at t=5 repeats it
    np.testing.assert_allclose(scores, [NAN, NAN, NAN, NAN, 1.0, 0.0], equal_nan=True)


@pytest.mark.parametrize(
    ("length", "exclusion", "memory"), [(3, 3, 40), (1, 1, 5), (4, 2, 30), (6, 6, 100)]
)
def test_vectorised_scores_equal_the_per_series_reference(length, exclusion, memory):
    panel = random_panel(n_periods=50, n_entities=15, seed=length)
    scores = NoveltyDetector(length, memory, exclusion).fit(panel).score(panel)
    for column in panel.columns:
        expected = reference_novelty(panel[column].tolist(), length, exclusion, memory)
        np.testing.assert_allclose(scores[column], expected, rtol=1e-6, atol=1e-9, equal_nan=True)


def run(panel: pd.DataFrame) -> pd.DataFrame:
    return NoveltyDetector(length=3, memory=24).fit(panel).score(panel)


def test_scoring_a_prefix_gives_the_prefix_of_the_full_scores():
    panel = random_panel(n_periods=48, n_entities=12, seed=15)
    full = run(panel)
    for cut in (1, 5, 20, 47):
        pd.testing.assert_frame_equal(run(panel.iloc[:cut]), full.iloc[:cut])


def test_appending_future_periods_never_changes_earlier_scores():
    panel = random_panel(n_periods=36, n_entities=8, seed=16)
    future = frame_of(np.full((6, 8), 1e9), start="2023-01-01", columns=panel.columns)
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


def test_an_all_equal_series_is_an_exact_repeat():
    scores = run(frame_of([7.0] * 12))["firm"]
    assert scores.iloc[:5].isna().all() and scores.iloc[5:].eq(0.0).all()


@pytest.mark.parametrize(
    "params",
    [
        {"length": 0},
        {"memory": 0},
        {"exclusion": 0},
        {"length": 5, "memory": 4},
        {"exclusion": 10, "memory": 6},
        {"transform": "log"},
        {"frequency": None, "transform": "yoy"},
    ],
)
def test_novelty_refuses_bad_parameters(params):
    with pytest.raises(InvalidParameter):
        NoveltyDetector(**params).fit(frame_of([1.0, 2.0]))
