"""Every model is causal: the output for period t uses rows up to t only."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from models import (
    LevelShiftDetector,
    NoveltyDetector,
    PeerDetector,
    RobustZDetector,
    SeasonalDetector,
    StageParams,
    ThresholdDetector,
    VolatilityShiftDetector,
    classify_stages,
    to_levels,
)
from tests.models.panels import frame_of, random_panel

MODELS: dict[str, tuple[str, Callable[[pd.DataFrame], pd.DataFrame]]] = {
    "threshold_level": ("M", lambda f: ThresholdDetector().fit(f).score(f)),
    "threshold_yoy": ("M", lambda f: ThresholdDetector(transform="yoy").fit(f).score(f)),
    "threshold_pop_quarterly": (
        "Q",
        lambda f: ThresholdDetector(transform="pop", frequency="Q").fit(f).score(f),
    ),
    "robust_z": ("M", lambda f: RobustZDetector(window=12, min_periods=4).fit(f).score(f)),
    "robust_z_yoy": (
        "M",
        lambda f: RobustZDetector(window=6, min_periods=3, transform="yoy").fit(f).score(f),
    ),
    "to_levels": (
        "M",
        lambda f: to_levels(f - 100.0, (5, 10, 20, 30), "both", clear=2.0, min_periods=2),
    ),
    "stages_monthly": ("M", lambda f: classify_stages(f)),
    "stages_monthly_sticky": (
        "M",
        lambda f: classify_stages(f, StageParams(min_stage_length=5, hold_periods=4)),
    ),
    "stages_annual": ("A", lambda f: classify_stages(f, frequency="A")),
    "stages_quarterly": ("Q", lambda f: classify_stages(f, frequency="Q")),
    "stages_seasonal": ("M", lambda f: classify_stages(f, StageParams(seasonal=True))),
    "stages_warned": (
        "M",
        lambda f: classify_stages(f, warnings=f.lt(0.97 * f.shift(1)).where(f.notna())),
    ),
}


@pytest.mark.parametrize("model", MODELS)
def test_scoring_a_prefix_gives_the_prefix_of_the_full_result(model):
    frequency, run = MODELS[model]
    panel = random_panel(n_periods=70, n_entities=20, seed=21, frequency=frequency)
    full = run(panel)
    for cut in (1, 2, 13, 37, 69):
        pd.testing.assert_frame_equal(run(panel.iloc[:cut]), full.iloc[:cut])


@pytest.mark.parametrize("model", MODELS)
def test_appending_future_periods_never_changes_earlier_outputs(model):
    frequency, run = MODELS[model]
    panel = random_panel(n_periods=50, n_entities=20, seed=22, frequency=frequency)
    before = run(panel)
    rng = np.random.default_rng(0)
    future = rng.choice([0.0, 1e6, np.nan, 1.0], size=(15, panel.shape[1]))
    offset = {"M": "MS", "Q": "QS", "A": "YS"}[frequency]
    later = pd.date_range(panel.index[-1], periods=16, freq=offset)[1:]
    extended = pd.concat([panel, pd.DataFrame(future, index=later, columns=panel.columns)])
    pd.testing.assert_frame_equal(run(extended).iloc[: len(panel)], before)


def test_the_causal_models_see_a_shock_only_from_its_period_on():
    values = np.r_[np.full(30, 100.0), 60.0, np.full(5, 60.0)]
    panel = frame_of(values)
    z = RobustZDetector(window=12, min_periods=4).fit(panel).score(panel)["firm"]
    stages = classify_stages(panel)["firm"]
    assert (z.iloc[4:30] == 0).all() and z.iloc[30] < -1e6
    assert (stages.iloc[:30] == "preparation").all()
    assert stages.iloc[30] == "absorption"


# A new period needs only a bounded trailing window of the history: (detector, periods
# it reads before the newest one). What the pipeline reads for a new month rests on this.
TRAILING = {
    "robust_z_yoy": (RobustZDetector(window=12, min_periods=4, transform="yoy"), 12 + 12),
    "threshold_rule": (
        ThresholdDetector(transform="pop", steps=[{"ma": 3}, {"rise_from_low": 12}]),
        1 + 2 + 12,
    ),
    "level_shift": (LevelShiftDetector(window=3, reference=12, min_periods=6), 3 + 12 - 1),
    "volatility_shift": (VolatilityShiftDetector(window=4, reference=12), 4 + 12 - 1),
    "seasonal": (SeasonalDetector(cycles=2, window=12, min_periods=4), 12 + 2 * 12 + 1),
    "novelty": (NoveltyDetector(length=3, memory=20), 20 + 3 - 1),
    "peers": (PeerDetector(min_peers=3), 0),
}


@pytest.mark.parametrize("model", TRAILING)
def test_a_new_period_needs_only_the_trailing_window_of_the_history(model):
    detector, lookback = TRAILING[model]
    panel = random_panel(n_periods=90, n_entities=15, seed=23)
    full = detector.fit(panel).score(panel).iloc[-1]
    recent = panel.iloc[-(lookback + 1) :]
    newest = detector.fit(recent).score(recent).iloc[-1]
    assert newest.notna().sum() >= 5
    pd.testing.assert_series_equal(newest, full, rtol=1e-9)
    shorter = panel.iloc[-lookback:]
    if lookback:  # one period less changes some score: the window is not overstated
        assert not detector.fit(shorter).score(shorter).iloc[-1].equals(full)
