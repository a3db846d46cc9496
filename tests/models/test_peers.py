"""PeerDetector: each entity against the other members of its group in the same period."""

from __future__ import annotations

import math
import statistics
import time

import numpy as np
import pandas as pd
import pytest

from models import InvalidParameter
from models.peers import PeerDetector
from tests.models.panels import frame_of, random_panel

NAN = math.nan


def reference_peers(panel: pd.DataFrame, groups, min_peers: int) -> pd.DataFrame:
    """Leave-one-out median and MAD per period and entity, in plain Python."""
    out = pd.DataFrame(np.nan, index=panel.index, columns=panel.columns)
    for t in range(len(panel)):
        for entity in panel.columns:
            group = None if groups is None else groups.get(entity, "none")
            value = panel[entity].iloc[t]
            if group == "none" or math.isnan(value):
                continue
            peers = [
                panel[other].iloc[t]
                for other in panel.columns
                if other != entity and (groups is None or groups.get(other) == group)
            ]
            peers = [v for v in peers if not math.isnan(v)]
            if len(peers) < min_peers:
                continue
            median = statistics.median(peers)
            deviations = [abs(v - median) for v in peers]
            scale = 1.4826 * statistics.median(deviations)
            if scale == 0:
                scale = 1.2533 * statistics.fmean(deviations) or 1e-9 * max(1.0, abs(median))
            out.iloc[t, out.columns.get_loc(entity)] = (value - median) / scale
    return out


def test_a_firm_far_from_its_peers_scores_high_and_cannot_mask_itself():
    panel = frame_of([[10.0, 12.0, 14.0, 100.0]], columns=["a", "b", "c", "d"])
    scores = PeerDetector().fit(panel).score(panel).iloc[0]
    # d against 10, 12, 14: median 12, MAD 2; a against 12, 14, 100: median 14, MAD 2
    assert scores["d"] == pytest.approx(88.0 / (1.4826 * 2.0))
    assert scores["a"] == pytest.approx(-4.0 / (1.4826 * 2.0))


def test_groups_keep_clusters_apart_and_an_entity_without_a_group_scores_nan():
    panel = frame_of([[10.0, 11.0, 12.0, 500.0, 510.0, 520.0, 7.0]], columns=list("abcdefg"))
    groups = {"a": "steel", "b": "steel", "c": "steel", "d": "cars", "e": "cars", "f": "cars"}
    scores = PeerDetector(groups=groups, min_peers=2).fit(panel).score(panel).iloc[0]
    assert scores["a"] == pytest.approx(-1.5 / (1.4826 * 0.5))
    assert scores["d"] == pytest.approx(-15.0 / (1.4826 * 5.0))
    assert math.isnan(scores["g"])


def test_too_few_peers_with_values_scores_nan():
    panel = frame_of([[1.0, 2.0, NAN, 4.0], [1.0, 2.0, 3.0, 4.0]], columns=list("abcd"))
    scores = PeerDetector(min_peers=3).fit(panel).score(panel)
    assert scores.iloc[0].isna().all() and scores.iloc[1].notna().all()


def test_peers_all_alike_fall_back_to_the_mean_deviation_then_a_floor():
    panel = frame_of([[5.0, 5.0, 9.0, 20.0], [5.0, 5.0, 5.0, 6.0]], columns=list("abcd"))
    scores = PeerDetector().fit(panel).score(panel)
    assert scores.loc[panel.index[0], "d"] == pytest.approx(15.0 / (1.2533 * 4.0 / 3.0))
    assert scores.loc[panel.index[1], "a"] == 0.0
    assert 1e6 < scores.loc[panel.index[1], "d"] < math.inf


@pytest.mark.parametrize("groups", [None, {f"e{i}": i % 3 for i in range(20)}])
def test_vectorised_scores_equal_the_per_entity_reference(groups):
    panel = random_panel(n_periods=12, n_entities=24, seed=23)
    scores = PeerDetector(groups=groups, min_peers=3).fit(panel).score(panel)
    pd.testing.assert_frame_equal(scores, reference_peers(panel, groups, 3), rtol=1e-12)


def test_ties_and_gaps_leave_the_leave_one_out_statistics_exact():
    rng = np.random.default_rng(26)
    values = rng.integers(0, 4, (15, 9)).astype(float)
    values[rng.random(values.shape) < 0.2] = NAN
    panel = frame_of(values)
    scores = PeerDetector(min_peers=2).fit(panel).score(panel)
    pd.testing.assert_frame_equal(scores, reference_peers(panel, None, 2), rtol=1e-12)


def test_a_cluster_of_ten_thousand_firms_is_scored_in_seconds_not_minutes():
    rng = np.random.default_rng(27)
    values = rng.lognormal(3.0, 0.3, (120, 10_000))
    values[rng.random(values.shape) < 0.05] = np.nan
    panel = frame_of(values, columns=range(10_000))
    detector = PeerDetector().fit(panel.iloc[:1])
    started = time.perf_counter()
    scores = detector.score(panel)
    assert time.perf_counter() - started < 5.0
    assert scores.notna().to_numpy().mean() > 0.9


def test_each_period_is_compared_within_itself():
    panel = random_panel(n_periods=30, n_entities=10, seed=25)
    full = PeerDetector().fit(panel).score(panel)
    for cut in (1, 9, 29):
        pd.testing.assert_frame_equal(
            PeerDetector().fit(panel).score(panel.iloc[:cut]), full.iloc[:cut]
        )
    future = frame_of(np.full((3, 10), 1e9), start="2022-07-01", columns=panel.columns)
    extended = pd.concat([panel, future])
    pd.testing.assert_frame_equal(PeerDetector().fit(extended).score(extended).iloc[:30], full)


@pytest.mark.parametrize(
    "panel",
    [
        frame_of(np.empty((0, 4))),
        frame_of([[3.0, NAN, 1.0, 2.0]]),
        frame_of([[7.0] * 4] * 5),
        frame_of([[NAN] * 4] * 5),
        frame_of([[1.0, math.inf, 2.0, 3.0], [2.0, -math.inf, 3.0, 4.0]]),
        pd.DataFrame(index=frame_of([1.0]).index),
    ],
    ids=["empty", "single period", "all equal", "all missing", "infinities", "no entities"],
)
def test_awkward_panels_give_defined_scores_of_the_same_shape(panel):
    scores = PeerDetector(min_peers=2).fit(panel).score(panel)
    assert scores.shape == panel.shape
    assert not np.isinf(scores.to_numpy()).any()


@pytest.mark.parametrize(
    "params",
    [{"groups": [("a", 1)]}, {"min_peers": 1}, {"transform": "log"}, {"frequency": "W"}],
)
def test_peers_refuse_bad_parameters(params):
    with pytest.raises(InvalidParameter):
        PeerDetector(**params).fit(frame_of([1.0, 2.0]))
