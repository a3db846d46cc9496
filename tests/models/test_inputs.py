"""Bad and awkward panels: a clear InvalidInput, or a defined result, never a numpy crash."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from models import (
    DETECTORS,
    InvalidInput,
    RobustZDetector,
    ThresholdDetector,
    apply_transform,
    classify_stages,
    to_levels,
)
from tests.models.panels import frame_of

NAN = math.nan
MONTHS = pd.date_range("2020-01-01", periods=3, freq="MS")

ENTRY_POINTS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "threshold": lambda f: ThresholdDetector().fit(f).score(f),
    "threshold_yoy": lambda f: ThresholdDetector(transform="yoy").fit(f).score(f),
    "robust_z": lambda f: RobustZDetector(window=3, min_periods=2).fit(f).score(f),
    "transform_pop": lambda f: apply_transform(f, "pop", "M"),
    "to_levels": lambda f: to_levels(f, (1, 2, 3, 4), "up", clear=0.5, min_periods=2),
    "stages": lambda f: classify_stages(f),
}

BAD_PANELS = {
    "a list": [[1.0, 2.0]],
    "a numpy array": np.ones((3, 2)),
    "no DatetimeIndex": pd.DataFrame({"firm": [1.0, 2.0, 3.0]}),
    "periods as strings": pd.DataFrame({"firm": [1.0]}, index=["2020-01-01"]),
    "unsorted periods": pd.DataFrame({"firm": [1.0, 2.0, 3.0]}, index=MONTHS[::-1]),
    "repeated periods": pd.DataFrame({"firm": [1.0, 2.0]}, index=MONTHS[[0, 0]]),
    "a missing date": pd.DataFrame({"firm": [1.0, 2.0]}, index=pd.DatetimeIndex([MONTHS[0], None])),
    "repeated entities": pd.DataFrame([[1.0, 2.0]] * 3, index=MONTHS, columns=["a", "a"]),
    "text values": pd.DataFrame({"firm": ["1", "2", "x"]}, index=MONTHS),
    "numbers as text": pd.DataFrame({"firm": pd.array(["1", "2", "3"], dtype=object)}, MONTHS),
    "dates as values": pd.DataFrame({"firm": MONTHS}, index=MONTHS),
    "complex values": pd.DataFrame({"firm": [1 + 1j, 2.0, 3.0]}, index=MONTHS),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("bad", BAD_PANELS)
def test_a_malformed_panel_raises_invalid_input(entry, bad):
    with pytest.raises(InvalidInput):
        ENTRY_POINTS[entry](BAD_PANELS[bad])


AWKWARD_PANELS = {
    "no periods, no entities": pd.DataFrame(index=pd.DatetimeIndex([], name="period")),
    "no periods": frame_of(np.empty((0, 3))),
    "no entities": pd.DataFrame(index=MONTHS),
    "one period": frame_of([[5.0, NAN]]),
    "all missing": frame_of([[NAN, NAN]] * 30),
    "all equal": frame_of([[7.0, 7.0]] * 30),
    "infinities": frame_of([[1.0, math.inf], [2.0, -math.inf], [3.0, 4.0]] * 10),
    "empty object columns": pd.DataFrame(index=MONTHS, columns=["a", "b"]),
    "nullable integers": pd.DataFrame({"firm": pd.array([1, None, 3], dtype="Int64")}, MONTHS),
    "booleans": pd.DataFrame({"firm": [True, False, True]}, index=MONTHS),
    "numbers in object columns": pd.DataFrame(
        {"firm": pd.array([1, 2.5, None], dtype=object)}, MONTHS
    ),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("awkward", AWKWARD_PANELS)
def test_an_awkward_panel_gets_a_result_of_the_same_shape(entry, awkward):
    panel = AWKWARD_PANELS[awkward]
    result = ENTRY_POINTS[entry](panel)
    assert result.shape == panel.shape
    assert result.index.equals(panel.index)


@pytest.mark.parametrize("entry", ["threshold", "robust_z", "to_levels", "stages"])
def test_infinities_are_treated_as_missing_values(entry):
    with_inf = frame_of([1.0, 2.0, math.inf, 3.0, 2.0, -math.inf, 4.0] * 4)
    with_nan = with_inf.replace([math.inf, -math.inf], NAN)
    run = ENTRY_POINTS[entry]
    pd.testing.assert_frame_equal(run(with_inf), run(with_nan))


def test_an_all_equal_series_has_a_robust_z_of_zero():
    panel = AWKWARD_PANELS["all equal"]
    scores = ENTRY_POINTS["robust_z"](panel)
    assert scores.iloc[:2].isna().all().all()
    assert (scores.iloc[2:] == 0.0).all().all()


@pytest.mark.parametrize("entry", ["threshold_yoy", "robust_z", "transform_pop", "stages"])
def test_a_panel_with_a_missing_period_row_is_refused(entry):
    panel = frame_of(np.arange(30.0)).drop(index=pd.Timestamp("2020-05-01"))
    with pytest.raises(InvalidInput, match="consecutive"):
        ENTRY_POINTS[entry](panel)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_scoring_leaves_the_callers_panel_untouched(entry):
    panel = frame_of([[1.0, math.inf], [NAN, 2.0], [3.0, 4.0]] * 5)
    before = panel.copy()
    ENTRY_POINTS[entry](panel)
    pd.testing.assert_frame_equal(panel, before)


def test_a_single_series_is_accepted_as_a_one_entity_panel():
    series = frame_of([1.0, 2.0, 4.0])["firm"]
    scores = ThresholdDetector(transform="pop").fit(series).score(series)
    assert list(scores.columns) == ["firm"]
    assert scores["firm"].tolist()[1:] == [100.0, 100.0]


# --- every detector of the library on the same awkward panels


def detector_input(kind: str, panel: pd.DataFrame) -> pd.DataFrame:
    """The panel as ``kind`` reads it: the forest wants (entity, indicator) columns."""
    if kind != "forest":
        return panel
    paired = panel.copy()
    paired.columns = pd.MultiIndex.from_product([["firm"], range(panel.shape[1])])
    return paired


def score_with(kind: str, panel: pd.DataFrame) -> pd.DataFrame:
    frame = detector_input(kind, panel)
    return DETECTORS[kind]().fit(frame).score(frame)


GAPPY = np.random.default_rng(33).normal(100.0, 5.0, (40, 3))
GAPPY[np.random.default_rng(34).random(GAPPY.shape) < 0.3] = NAN
DETECTOR_PANELS = {
    "empty": frame_of(np.empty((0, 3))),
    "single period": frame_of([[5.0, 6.0, 7.0]]),
    "all equal": frame_of([[7.0, 7.0, 7.0]] * 40),
    "all missing": frame_of([[NAN, NAN, NAN]] * 40),
    "missing values": frame_of(GAPPY),
    "infinities": frame_of([[1.0, math.inf, 2.0], [2.0, -math.inf, 3.0], [3.0, 4.0, 5.0]] * 14),
}


@pytest.mark.parametrize("case", DETECTOR_PANELS)
@pytest.mark.parametrize("kind", DETECTORS)
def test_every_detector_gives_finite_or_missing_scores_of_the_same_shape(kind, case):
    panel = detector_input(kind, DETECTOR_PANELS[case])
    scores = score_with(kind, DETECTOR_PANELS[case])
    assert scores.shape == panel.shape
    assert scores.index.equals(panel.index) and scores.columns.equals(panel.columns)
    assert (scores.dtypes == "float64").all()
    assert not np.isinf(scores.to_numpy()).any()


@pytest.mark.parametrize("kind", DETECTORS)
def test_every_detector_reads_an_infinity_as_a_missing_value(kind):
    with_inf = DETECTOR_PANELS["infinities"]
    with_nan = with_inf.replace([math.inf, -math.inf], NAN)
    pd.testing.assert_frame_equal(score_with(kind, with_inf), score_with(kind, with_nan))


@pytest.mark.parametrize("kind", [kind for kind in DETECTORS if kind != "threshold"])
def test_every_detector_that_looks_back_refuses_a_missing_period_row(kind):
    panel = frame_of(GAPPY).drop(index=pd.Timestamp("2020-05-01"))
    with pytest.raises(InvalidInput, match="consecutive"):
        score_with(kind, panel)


def test_the_level_threshold_needs_no_earlier_period_and_scores_the_rows_given():
    panel = frame_of(GAPPY).drop(index=pd.Timestamp("2020-05-01"))
    pd.testing.assert_frame_equal(score_with("threshold", panel), panel)
