"""EnsembleDetector: calibrated member scores combined, with a refractory period."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models import InvalidParameter, NotFittedError, RobustZDetector, ThresholdDetector
from models.calibration import EnvelopeExceedance, TailProbability
from models.cusum import CusumDetector
from models.ensemble import (
    EnsembleDetector,
    Member,
    combine_scores,
    default_members,
    refractory_scores,
)
from models.ewma import EwmaDetector
from tests.models.panels import frame_of, random_panel
from tests.models.test_calibration import reference_envelope, reference_tail
from tests.models.test_cusum import reference_cusum
from tests.models.test_robust_z import reference_robust_z

NAN = math.nan


def two_voices() -> list[Member]:
    return [
        Member(ThresholdDetector(), EnvelopeExceedance(), 1.0),
        Member(EwmaDetector(alpha=0.5, min_periods=2), TailProbability(side="both"), 0.5),
    ]


def test_the_combined_score_is_the_weighted_maximum_of_calibrated_members():
    panel = random_panel(n_periods=40, n_entities=6, seed=19)
    scores = EnsembleDetector(members=two_voices()).fit(panel).score(panel)
    level = EnvelopeExceedance().calibrate(panel)
    chart = EwmaDetector(alpha=0.5, min_periods=2).fit(panel).score(panel)
    rarity = 0.5 * TailProbability(side="both").calibrate(chart)
    expected = np.fmax(level.to_numpy(), rarity.to_numpy())
    np.testing.assert_allclose(scores.to_numpy(), expected, equal_nan=True)


def test_the_mean_combination_averages_the_members_present():
    stacked = np.array([[[1.0, NAN, NAN]], [[3.0, 2.0, NAN]]])
    np.testing.assert_allclose(combine_scores(stacked, "mean"), [[2.0, 2.0, NAN]], equal_nan=True)
    np.testing.assert_allclose(combine_scores(stacked, "max"), [[3.0, 2.0, NAN]], equal_nan=True)


def test_the_refractory_period_keeps_only_what_a_score_adds_to_the_recent_maximum():
    scores = np.array([0.0, 1.0, 0.5, 2.0, 0.0, NAN, 0.0, 3.0])[:, None]
    # previous two scores' maximum: -, 0, 1, 1, 2, 2, 0, 0
    expected = [0.0, 1.0, 0.0, 1.0, 0.0, NAN, 0.0, 3.0]
    np.testing.assert_allclose(refractory_scores(scores, 2)[:, 0], expected, equal_nan=True)


def test_a_refractory_ensemble_reports_an_episode_once():
    values = [10.0, 11.0] * 10 + [50.0, 55.0, 60.0] + [10.0, 11.0] * 3
    frame = frame_of(values)
    member = [Member(ThresholdDetector(), EnvelopeExceedance(), 1.0)]
    plain = EnsembleDetector(members=member).fit(frame).score(frame)["firm"]
    quiet = EnsembleDetector(members=member, refractory=5).fit(frame).score(frame)["firm"]
    assert (plain.iloc[20:23] > 0).all()
    assert quiet.iloc[20] == plain.iloc[20] > 0
    assert quiet.iloc[21:23].max() < plain.iloc[21:23].min()


def test_fitting_copies_the_member_detectors_and_leaves_the_parameters_unfitted():
    members = two_voices()
    panel = random_panel(n_periods=20, n_entities=3, seed=20)
    ensemble = EnsembleDetector(members=members).fit(panel)
    assert all(member.detector.is_fitted() for member in ensemble.members_)
    assert not any(member.detector.is_fitted() for member in members)
    assert ensemble.get_params()["members"] is members


def test_the_default_members_follow_the_ensembles_transform_and_frequency():
    members = default_members(transform="yoy", frequency="Q")
    assert {type(member.detector).__name__ for member in members} == {
        "EwmaDetector",
        "CusumDetector",
        "LevelShiftDetector",
        "SeasonalDetector",
    }
    assert all(member.detector.get_params()["transform"] == "yoy" for member in members)
    assert all(member.detector.get_params()["frequency"] == "Q" for member in members)


def test_the_default_ensemble_flags_a_break_in_a_steady_series():
    rng = np.random.default_rng(3)
    values = 100.0 + rng.normal(0.0, 1.0, (60, 4))
    values[50:, 0] += 15.0
    panel = frame_of(values)
    scores = EnsembleDetector().fit(panel).score(panel)
    assert scores.iloc[50, 0] > scores.iloc[:50, 0].max()
    assert scores.iloc[50, 0] > scores.iloc[50, 1:].max()
    assert scores.iloc[50, 0] > 1.5  # rarer than one period in thirty


def run(panel: pd.DataFrame) -> pd.DataFrame:
    members = [
        Member(RobustZDetector(window=12, min_periods=4), TailProbability(side="both")),
        Member(CusumDetector(min_periods=4), EnvelopeExceedance(memory=12), 2.0),
    ]
    return EnsembleDetector(members=members, refractory=3).fit(panel).score(panel)


def run_members(panel: pd.DataFrame, combine: str, refractory: int) -> pd.DataFrame:
    members = [
        Member(RobustZDetector(window=12, min_periods=4), TailProbability(side="both")),
        Member(CusumDetector(min_periods=4), EnvelopeExceedance(memory=12), 2.0),
    ]
    ensemble = EnsembleDetector(members=members, combine=combine, refractory=refractory)
    return ensemble.fit(panel).score(panel)


def reference_ensemble(series: list[float], combine: str, refractory: int) -> list[float]:
    """The members of ``run_members`` through their plain references, combined one period
    at a time: weighted maximum or mean of the members present, then the refractory rule."""
    rarity = reference_tail(reference_robust_z(series, 12, 4), None, "both", 8)
    envelope = reference_envelope(reference_cusum(series, 0.5, 4.0, None, 4), 12, "both", 2)
    voices = [(1.0, rarity), (2.0, envelope)]
    combined = []
    for t in range(len(series)):
        present = [weight * scores[t] for weight, scores in voices if not math.isnan(scores[t])]
        if not present:
            combined.append(NAN)
        elif combine == "max":
            combined.append(max(present))
        else:
            combined.append(sum(present) / len(present))
    result = []
    for t, score in enumerate(combined):
        earlier = [s for s in combined[max(0, t - refractory) : t] if not math.isnan(s)]
        previous = max([0.0, *earlier]) if refractory else 0.0
        result.append(NAN if math.isnan(score) else max(score - previous, 0.0))
    return result


@pytest.mark.parametrize(("combine", "refractory"), [("max", 0), ("max", 3), ("mean", 5)])
def test_vectorised_scores_equal_the_per_series_reference(combine, refractory):
    panel = random_panel(n_periods=48, n_entities=15, seed=24)
    scores = run_members(panel, combine, refractory)
    for column in panel.columns:
        expected = reference_ensemble(panel[column].tolist(), combine, refractory)
        np.testing.assert_allclose(scores[column], expected, rtol=1e-8, equal_nan=True)


def test_scoring_a_prefix_gives_the_prefix_of_the_full_scores():
    panel = random_panel(n_periods=48, n_entities=12, seed=21)
    full = run(panel)
    for cut in (1, 5, 20, 47):
        pd.testing.assert_frame_equal(run(panel.iloc[:cut]), full.iloc[:cut])


def test_appending_future_periods_never_changes_earlier_scores():
    panel = random_panel(n_periods=36, n_entities=8, seed=22)
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
    for scores in (run(panel), EnsembleDetector().fit(panel).score(panel)):
        assert scores.shape == panel.shape
        assert not np.isinf(scores.to_numpy()).any()


def test_scoring_before_fitting_raises():
    with pytest.raises(NotFittedError):
        EnsembleDetector().score(frame_of([1.0, 2.0]))


def test_get_params_round_trips():
    ensemble = EnsembleDetector(members=two_voices(), combine="mean", refractory=4)
    assert EnsembleDetector(**ensemble.get_params()).get_params() == ensemble.get_params()


@pytest.mark.parametrize(
    "params",
    [
        {"members": []},
        {"members": ["ewma"]},
        {"members": [Member(ThresholdDetector(), EnvelopeExceedance(), 0.0)]},
        {"members": [Member(ThresholdDetector(), "tail")]},
        {"members": [Member(ThresholdDetector(transform="log"), EnvelopeExceedance())]},
        {"members": [Member(ThresholdDetector(), EnvelopeExceedance(side="left"))]},
        {"combine": "median"},
        {"refractory": -1},
        {"frequency": None, "transform": "yoy"},
    ],
)
def test_the_ensemble_refuses_bad_parameters(params):
    with pytest.raises(InvalidParameter):
        EnsembleDetector(**params).fit(frame_of([1.0, 2.0]))
