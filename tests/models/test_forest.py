"""ForestDetector: an isolation forest per entity over its indicators."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import IsolationForest

from models import InvalidInput, InvalidParameter, NotFittedError
from models.forest import ForestDetector, isolation_score
from tests.models.panels import frame_of

NAN = math.nan


def entity_panel(n_periods: int = 48, seed: int = 0, entities=("a", "b")) -> pd.DataFrame:
    """Two indicators per entity that move together (y = 2x), with a little noise."""
    rng = np.random.default_rng(seed)
    blocks = {}
    for entity in entities:
        x = rng.normal(100.0, 5.0, n_periods)
        blocks[(entity, "output")] = x
        blocks[(entity, "power")] = 2.0 * x + rng.normal(0.0, 0.5, n_periods)
    frame = pd.DataFrame(blocks, index=frame_of(np.zeros(n_periods)).index)
    frame.columns = pd.MultiIndex.from_tuples(frame.columns, names=["entity", "indicator"])
    return frame


def test_the_score_turns_scikit_learns_sign_round():
    points = np.random.default_rng(1).normal(size=(64, 2))
    forest = IsolationForest(n_estimators=25, random_state=0).fit(points)
    np.testing.assert_allclose(isolation_score(forest, points), -forest.score_samples(points) - 0.5)
    np.testing.assert_allclose(isolation_score(forest, points), -forest.decision_function(points))


def test_a_period_far_from_the_entitys_usual_values_scores_highest_in_sample():
    panel = entity_panel()
    panel.loc[panel.index[-1], ("a", "power")] = 400.0
    scores = ForestDetector(n_estimators=50, random_state=0).fit(panel).score(panel)
    assert scores[("a", "power")].iloc[-1] == scores[("a", "power")].max() > 0.2
    assert scores[("b", "power")].iloc[-1] < 0.1


def test_a_forest_cannot_rank_a_new_value_beyond_its_training_range_above_the_edge():
    # isolation trees do not extrapolate: beyond the history, a value lands with the
    # history's most extreme periods, which the univariate models are there to catch
    panel = entity_panel()
    detector = ForestDetector(n_estimators=25).fit(panel.iloc[:-1])
    far, farther = panel.iloc[-1:].copy(), panel.iloc[-1:].copy()
    far[("a", "power")], farther[("a", "power")] = 400.0, 4000.0
    assert detector.score(far).iloc[0, 1] == detector.score(farther).iloc[0, 1]


def test_a_combination_never_seen_scores_above_the_usual_periods():
    # each value lies inside its usual range, but output and power no longer move together
    x = np.linspace(50.0, 150.0, 60)
    np.random.default_rng(0).shuffle(x)
    columns = pd.MultiIndex.from_tuples([("a", "output"), ("a", "power")])
    index = frame_of(np.zeros(61)).index
    history = pd.DataFrame(np.c_[x, 2.0 * x], index=index[:60], columns=columns)
    odd = pd.DataFrame([[140.0, 120.0]], index=index[60:], columns=columns)
    scores = ForestDetector().fit(history).score(pd.concat([history, odd]))["a", "output"]
    assert scores.iloc[-1] > 0 > scores.iloc[:-1].median()


def test_the_entitys_score_is_written_in_each_indicator_column_with_a_value():
    panel = entity_panel()
    panel.iloc[5, 1] = NAN  # a's power missing in period 5
    scores = ForestDetector(n_estimators=25).fit(panel).score(panel)
    assert math.isnan(scores.iloc[5, 1]) and not math.isnan(scores.iloc[5, 0])
    np.testing.assert_allclose(
        scores[("a", "output")].drop(index=panel.index[5]),
        scores[("a", "power")].drop(index=panel.index[5]),
    )


def reference_forest(history: pd.DataFrame, frame: pd.DataFrame, **params) -> pd.DataFrame:
    """Per entity with scikit-learn directly: fill gaps forward, then with history medians."""
    out = pd.DataFrame(np.nan, index=frame.index, columns=frame.columns)
    for entity in history.columns.get_level_values(0).unique():
        train = history[entity].ffill().dropna().to_numpy()
        forest = IsolationForest(random_state=0, **params).fit(train)
        points = (
            frame[entity]
            .ffill()
            .fillna(pd.Series(np.median(train, axis=0), index=frame[entity].columns))
        )
        score = -forest.score_samples(points.to_numpy()) - 0.5
        for indicator in frame[entity].columns:
            present = frame[(entity, indicator)].notna().to_numpy()
            out[(entity, indicator)] = np.where(present, score, np.nan)
    return out


def test_scores_equal_the_per_entity_reference():
    history = entity_panel(n_periods=40, seed=2, entities=("a", "b", "c"))
    frame = entity_panel(n_periods=30, seed=3, entities=("a", "b", "c"))
    frame.iloc[0, 0] = NAN  # filled by the history median
    frame.iloc[7, 3] = NAN  # filled by the value before
    scores = ForestDetector(n_estimators=25, random_state=0).fit(history).score(frame)
    pd.testing.assert_frame_equal(scores, reference_forest(history, frame, n_estimators=25))


def test_scoring_a_prefix_gives_the_prefix_of_the_full_scores():
    history, frame = entity_panel(seed=4), entity_panel(n_periods=30, seed=5)
    detector = ForestDetector(n_estimators=25).fit(history)
    full = detector.score(frame)
    for cut in (1, 7, 29):
        pd.testing.assert_frame_equal(detector.score(frame.iloc[:cut]), full.iloc[:cut])
    future = frame.iloc[:5] * 1e6
    future.index = pd.date_range(frame.index[-1], periods=6, freq="MS")[1:]
    pd.testing.assert_frame_equal(detector.score(pd.concat([frame, future])).iloc[:30], full)


def test_an_entity_with_too_little_history_scores_nan():
    history = entity_panel(n_periods=30)
    history.iloc[:25, 2:] = NAN  # b has 5 complete periods
    scores = ForestDetector(n_estimators=25, min_periods=8).fit(history).score(history)
    assert scores["b"].isna().all().all() and scores["a"].notna().all().all()


def test_an_entity_unknown_at_fit_scores_nan():
    detector = ForestDetector(n_estimators=25).fit(entity_panel(entities=("a",)))
    scores = detector.score(entity_panel())
    assert scores["b"].isna().all().all() and scores["a"].notna().all().all()


@pytest.mark.parametrize(
    "panel",
    [
        entity_panel().iloc[:0],
        entity_panel().iloc[:1],
        entity_panel() * 0.0 + 7.0,
        entity_panel() * NAN,
        entity_panel().replace(entity_panel().iloc[3, 0], math.inf),
    ],
    ids=["empty", "single period", "all equal", "all missing", "an infinity"],
)
def test_awkward_panels_give_defined_scores_of_the_same_shape(panel):
    scores = ForestDetector(n_estimators=25).fit(panel).score(panel)
    assert scores.shape == panel.shape
    assert not np.isinf(scores.to_numpy()).any()


def test_a_panel_without_entity_and_indicator_columns_is_refused():
    with pytest.raises(InvalidInput, match="two-level"):
        ForestDetector().fit(frame_of([[1.0, 2.0]] * 10))


def test_scoring_before_fitting_raises():
    with pytest.raises(NotFittedError):
        ForestDetector().score(entity_panel())


@pytest.mark.parametrize(
    "params",
    [
        {"n_estimators": 0},
        {"max_samples": 1},
        {"max_samples": "all"},
        {"min_periods": 1},
        {"random_state": "seed"},
        {"random_state": True},
        {"transform": "log"},
    ],
)
def test_forest_refuses_bad_parameters(params):
    with pytest.raises(InvalidParameter):
        ForestDetector(**params).fit(entity_panel())
