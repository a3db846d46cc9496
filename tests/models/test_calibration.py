"""Calibrations: tail rarity and envelope exceedance, each against the series' own past."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models import InvalidInput, InvalidParameter
from models.calibration import CALIBRATIONS, EnvelopeExceedance, TailProbability
from tests.models.panels import frame_of, random_panel

NAN = math.nan


def oriented(value: float, side: str) -> float:
    return -value if side == "down" else abs(value) if side == "both" else value


def reference_tail(series, memory, side, min_periods):
    out = []
    for t, value in enumerate(series):
        start = 0 if memory is None else max(0, t - memory)
        prior = [oriented(v, side) for v in series[start:t] if not math.isnan(v)]
        if math.isnan(value) or len(prior) < min_periods:
            out.append(NAN)
            continue
        current = oriented(value, side)
        rarer = sum(1 for v in prior if v >= current)
        out.append(-math.log10((1 + rarer) / (1 + len(prior))))
    return out


def reference_envelope(series, memory, side, min_periods):
    out = []
    for t, value in enumerate(series):
        start = 0 if memory is None else max(0, t - memory)
        prior = [v for v in series[start:t] if not math.isnan(v)]
        if math.isnan(value) or len(prior) < min_periods:
            out.append(NAN)
            continue
        high, low = max(prior), min(prior)
        width = high - low or 1e-9 * max(1.0, abs(high), abs(low))
        margins = {"up": value - high, "down": low - value}
        margin = max(margins.values()) if side == "both" else margins[side]
        out.append(max(margin, 0.0) / width)
    return out


def calibrate(calibration, values) -> list[float]:
    return calibration.calibrate(frame_of(values))["firm"].tolist()


def test_tail_probability_is_the_rarity_among_earlier_scores():
    scores = calibrate(TailProbability(min_periods=1), [1.0, 2.0, 3.0, 1.0, 5.0])
    expected = [NAN, -math.log10(1 / 2), -math.log10(1 / 3), 0.0, -math.log10(1 / 5)]
    np.testing.assert_allclose(scores, expected, rtol=1e-12, equal_nan=True)


def test_tail_probability_reads_the_chosen_side():
    values = [0.0, 1.0, -1.0, -3.0]
    down = calibrate(TailProbability(side="down", min_periods=1), values)
    both = calibrate(TailProbability(side="both", min_periods=1), values)
    up = calibrate(TailProbability(side="up", min_periods=1), values)
    assert down[3] == pytest.approx(math.log10(4)) and both[3] == pytest.approx(math.log10(4))
    assert up[3] == 0.0


def test_tail_probability_with_memory_ranks_among_recent_scores_only():
    scores = calibrate(TailProbability(memory=2, min_periods=1), [9.0, 1.0, 3.0, 1.0, 5.0])
    assert scores[4] == pytest.approx(math.log10(3))  # among 3 and 1: a record


def test_envelope_exceedance_counts_records_by_their_margin():
    scores = calibrate(EnvelopeExceedance(), [1.0, 3.0, 2.0, 5.0, 0.0, 10.0])
    np.testing.assert_allclose(scores, [NAN, NAN, 0.0, 1.0, 0.25, 1.0], equal_nan=True)


def test_envelope_exceedance_reads_the_chosen_side_and_memory():
    values = [1.0, 3.0, 2.0, 5.0, 0.0, 10.0]
    up = calibrate(EnvelopeExceedance(side="up"), values)
    down = calibrate(EnvelopeExceedance(side="down"), values)
    recent = calibrate(EnvelopeExceedance(memory=2), values)
    assert up[4] == 0.0 and down[4] == 0.25 and down[5] == 0.0
    assert recent[5] == 1.0  # the envelope of 5 and 0


def test_leaving_a_flat_envelope_scores_very_high_but_finite():
    scores = calibrate(EnvelopeExceedance(), [2.0, 2.0, 2.0, 3.0])
    assert scores[2] == 0.0
    assert scores[3] == pytest.approx(1.0 / 2e-9)


@pytest.mark.parametrize("memory", [None, 7])
@pytest.mark.parametrize("side", ["up", "down", "both"])
def test_vectorised_calibrations_equal_the_per_series_reference(memory, side):
    panel = random_panel(n_periods=40, n_entities=12, seed=17) - 100.0
    tail = TailProbability(memory=memory, side=side, min_periods=3).calibrate(panel)
    envelope = EnvelopeExceedance(memory=memory, side=side, min_periods=3).calibrate(panel)
    for column in panel.columns:
        series = panel[column].tolist()
        np.testing.assert_allclose(
            tail[column], reference_tail(series, memory, side, 3), rtol=1e-12, equal_nan=True
        )
        np.testing.assert_allclose(
            envelope[column],
            reference_envelope(series, memory, side, 3),
            rtol=1e-12,
            equal_nan=True,
        )


@pytest.mark.parametrize("kind", CALIBRATIONS)
def test_calibrating_a_prefix_gives_the_prefix_of_the_full_result(kind):
    calibration = CALIBRATIONS[kind](memory=10)
    panel = random_panel(n_periods=40, n_entities=10, seed=18)
    full = calibration.calibrate(panel)
    for cut in (1, 4, 25, 39):
        pd.testing.assert_frame_equal(calibration.calibrate(panel.iloc[:cut]), full.iloc[:cut])
    future = frame_of(np.full((5, 10), -1e9), start="2023-05-01", columns=panel.columns)
    pd.testing.assert_frame_equal(calibration.calibrate(pd.concat([panel, future])).iloc[:40], full)


@pytest.mark.parametrize("kind", CALIBRATIONS)
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
def test_awkward_scores_give_a_defined_result_of_the_same_shape(kind, panel):
    result = CALIBRATIONS[kind]().calibrate(panel)
    assert result.shape == panel.shape
    assert not np.isinf(result.to_numpy()).any()


@pytest.mark.parametrize("kind", CALIBRATIONS)
def test_an_all_equal_series_is_never_rare(kind):
    result = CALIBRATIONS[kind]().calibrate(frame_of([7.0] * 12))["firm"].dropna()
    assert len(result) > 0 and (result == 0.0).all()


def test_a_malformed_score_frame_raises_invalid_input():
    with pytest.raises(InvalidInput):
        TailProbability().calibrate(pd.DataFrame({"firm": [1.0, 2.0]}))


@pytest.mark.parametrize("kind", CALIBRATIONS)
@pytest.mark.parametrize(
    "params",
    [{"memory": 0}, {"min_periods": 0}, {"memory": 3, "min_periods": 4}, {"side": "left"}],
)
def test_calibrations_refuse_bad_parameters(kind, params):
    with pytest.raises(InvalidParameter):
        CALIBRATIONS[kind](**params).calibrate(frame_of([1.0, 2.0]))


def test_calibrations_show_and_compare_their_parameters():
    assert repr(TailProbability(memory=5)) == "TailProbability(memory=5, side='up', min_periods=8)"
    assert EnvelopeExceedance(memory=3) == EnvelopeExceedance(memory=3)
    assert EnvelopeExceedance(memory=3) != EnvelopeExceedance(memory=4)
    assert TailProbability().get_params() == {"memory": None, "side": "up", "min_periods": 8}
