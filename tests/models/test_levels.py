"""to_levels and crossed_cutoff: scores cut into blue, yellow, orange and red."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models import SEVERITY_NAMES, InvalidInput, InvalidParameter, crossed_cutoff, to_levels
from models.levels import check_decision, cutoff_levels, level_codes
from tests.models.panels import random_panel

NAN = math.nan
UP = (10.0, 20.0, 30.0, 40.0)
DOWN = (0.0, -5.0, -10.0, -20.0)
BOTH = (2.0, 3.0, 4.0, 5.0)


def reference_levels(
    series: list[float],
    cutoffs: tuple[float, ...],
    direction: str,
    clear: float | None,
    min_periods: int,
) -> list[int]:
    """The documented rules, one period at a time, in plain Python."""
    clearing = cutoffs[0] if clear is None else clear
    code, run, codes = 0, 0, []
    for score in series:
        if math.isnan(score):
            codes.append(code)
            continue
        value = abs(score) if direction == "both" else score
        if direction == "down":
            raw, held = sum(value <= c for c in cutoffs), value <= clearing
        else:
            raw, held = sum(value >= c for c in cutoffs), value >= clearing
        run = run + 1 if raw else 0
        if code:
            code = raw if raw else int(held)
        else:
            code = raw if run >= min_periods else 0
        codes.append(code)
    return codes


CASES = [
    # a cut-off reached exactly counts
    ("up", UP, {}, [5, 10, 19.9, 20, 35, 40, 1000, -50], [0, 1, 1, 2, 3, 4, 4, 0]),
    ("down", DOWN, {}, [1, 0, -4, -5, -12, -20, -99, 3], [0, 1, 1, 2, 3, 4, 4, 0]),
    ("both", BOTH, {}, [1, -2, 2.5, -3.5, 4, -5, 6], [0, 1, 1, 2, 3, 4, 4]),
    # min_periods: three breaching periods in a row before any colour, then the raw code
    ("up", UP, {"min_periods": 3}, [15, 25, 5, 15, 15, 45, 15], [0, 0, 0, 0, 0, 4, 1]),
    # hysteresis: stays blue until the score is back below clear (5)
    ("up", UP, {"clear": 5}, [25, 8, 6, 4, 8, 12], [2, 1, 1, 0, 0, 1]),
    ("up", UP, {}, [25, 8, 6], [2, 0, 0]),
    ("down", DOWN, {"clear": 2}, [-6, 1, 1.5, 3, 1], [2, 1, 1, 0, 0]),
    ("both", BOTH, {"clear": 1}, [-3, 1.5, -1.2, 0.5], [2, 1, 1, 0]),
    # a missing score repeats the previous code; a pending run neither grows nor breaks
    ("up", UP, {"clear": 5}, [NAN, 25, NAN, NAN, 8, NAN, 4, NAN], [0, 2, 2, 2, 1, 1, 0, 0]),
    ("up", UP, {"min_periods": 2}, [15, NAN, 15, NAN, 5, 15], [0, 0, 1, 1, 0, 0]),
]


@pytest.mark.parametrize(("direction", "cutoffs", "options", "scores", "expected"), CASES)
def test_to_levels_gives_the_colour_codes(
    make_frame, direction, cutoffs, options, scores, expected
):
    codes = to_levels(make_frame(scores), cutoffs, direction, **options)
    assert codes["firm"].tolist() == expected
    assert codes["firm"].dtype == np.int8


@pytest.mark.parametrize(
    ("direction", "cutoffs", "clear", "min_periods"),
    [("up", UP, None, 1), ("up", UP, 3.0, 3), ("down", DOWN, 4.0, 2), ("both", BOTH, 0.5, 2)],
)
def test_vectorised_levels_equal_the_per_series_reference(direction, cutoffs, clear, min_periods):
    panel = random_panel(n_periods=80, n_entities=30, seed=11)
    scores = (panel - 100.0) / 2.0  # swings well across the cut-offs in both directions
    codes = to_levels(scores, cutoffs, direction, clear=clear, min_periods=min_periods)
    for column in scores.columns:
        expected = reference_levels(scores[column].tolist(), cutoffs, direction, clear, min_periods)
        assert codes[column].tolist() == expected


@pytest.mark.parametrize(
    ("direction", "cutoffs", "options"),
    [
        ("up", (1, 2, 3), {}),
        ("up", (1, 2, 3, 4, 5), {}),
        ("up", "1234", {}),
        ("up", (10, 30, 20, 40), {}),
        ("up", (10, 10, 20, 30), {}),
        ("down", UP, {}),
        ("both", (0, 1, 2, 3), {}),
        ("both", (-1, 2, 3, 4), {}),
        ("up", (NAN, 2, 3, 4), {}),
        ("up", (1, 2, 3, math.inf), {}),
        ("up", UP, {"clear": 11}),
        ("down", DOWN, {"clear": -1}),
        ("both", BOTH, {"clear": -0.5}),
        ("both", BOTH, {"clear": 2.5}),
        ("up", UP, {"clear": NAN}),
        ("up", UP, {"min_periods": 0}),
        ("up", UP, {"min_periods": 1.5}),
        ("sideways", UP, {}),
    ],
)
def test_to_levels_refuses_bad_cutoffs_and_options(make_frame, direction, cutoffs, options):
    with pytest.raises(InvalidParameter):
        to_levels(make_frame([1.0]), cutoffs, direction, **options)


@pytest.mark.parametrize(
    ("direction", "cutoffs", "codes", "expected"),
    [
        ("up", UP, [0, 1, 2, 3, 4], [NAN, 10, 20, 30, 40]),
        ("down", DOWN, [4, 0, 2], [-20, NAN, -5]),
        ("both", BOTH, [1, 3], [2, 4]),
    ],
)
def test_crossed_cutoff_reports_the_cutoff_of_each_code(
    make_frame, direction, cutoffs, codes, expected
):
    crossed = crossed_cutoff(make_frame(codes).astype("int8"), cutoffs, direction)
    np.testing.assert_array_equal(crossed["firm"].to_numpy(), expected)


def test_crossed_cutoff_of_a_code_held_by_hysteresis_is_the_blue_cutoff(make_frame):
    codes = to_levels(make_frame([25, 8]), UP, "up", clear=5)
    assert crossed_cutoff(codes, UP, "up")["firm"].tolist() == [20.0, 10.0]


@pytest.mark.parametrize("codes", [[0, 5], [-1], [1.5], [NAN]])
def test_crossed_cutoff_refuses_codes_outside_the_scale(make_frame, codes):
    with pytest.raises(InvalidInput):
        crossed_cutoff(make_frame(codes), UP, "up")


def test_severity_names_follow_the_codes():
    assert SEVERITY_NAMES == ("normal", "blue", "yellow", "orange", "red")


def test_to_levels_of_an_empty_panel_is_empty(make_frame):
    codes = to_levels(make_frame(np.empty((0, 3))), UP, "up", min_periods=2)
    assert codes.shape == (0, 3)
    assert (codes.dtypes == np.int8).all()


# --- "N of the last M periods" confirmation (of_last)


def reference_n_of_m(
    series: list[float], cutoffs: tuple[float, ...], clear: float | None, n: int, m: int
) -> list[int]:
    """The documented N-of-M rule for direction ``up``, one period at a time."""
    clearing = cutoffs[0] if clear is None else clear
    code, recent, codes = 0, [], []
    for score in series:
        if math.isnan(score):
            codes.append(code)
            continue
        raw = sum(score >= c for c in cutoffs)
        recent = (recent + [raw >= 1])[-m:]
        if code:
            code = raw if raw else int(score >= clearing)
        else:
            code = raw if raw and sum(recent) >= n else 0
        codes.append(code)
    return codes


OF_LAST_CASES = [
    # 2 of the last 3: a breach, a miss, a breach is enough; two misses in between are not
    (
        {"min_periods": 2, "of_last": 3},
        [15, 5, 25, 5, 5, 15, 5, 5, 15],
        [0, 0, 2, 0, 0, 0, 0, 0, 0],
    ),
    # the breach that completes the count must itself breach
    ({"min_periods": 2, "of_last": 3}, [15, 15, 5], [0, 1, 0]),
    # missing periods are skipped: the last 3 are the last 3 with a score
    ({"min_periods": 2, "of_last": 3}, [15, NAN, NAN, 5, 25], [0, 0, 0, 0, 2]),
    # of_last equal to min_periods is the consecutive rule
    ({"min_periods": 3, "of_last": 3}, [15, 25, 5, 15, 15, 45, 15], [0, 0, 0, 0, 0, 4, 1]),
    # with hysteresis: once on, it stays blue above clear
    ({"min_periods": 2, "of_last": 4, "clear": 5}, [15, 1, 15, 8, 2, 12], [0, 0, 1, 1, 0, 1]),
]


@pytest.mark.parametrize(("options", "scores", "expected"), OF_LAST_CASES)
def test_to_levels_confirms_n_of_the_last_m_periods(make_frame, options, scores, expected):
    codes = to_levels(make_frame(scores), UP, "up", **options)
    assert codes["firm"].tolist() == expected


@pytest.mark.parametrize(("n", "m", "clear"), [(2, 3, None), (3, 5, 4.0), (1, 4, 2.0)])
def test_vectorised_n_of_m_equals_the_per_series_reference(n, m, clear):
    panel = random_panel(n_periods=80, n_entities=30, seed=12)
    scores = (panel - 100.0) / 2.0
    codes = to_levels(scores, UP, "up", clear=clear, min_periods=n, of_last=m)
    for column in scores.columns:
        expected = reference_n_of_m(scores[column].tolist(), UP, clear, n, m)
        assert codes[column].tolist() == expected


def test_n_of_m_codes_are_causal():
    panel = (random_panel(n_periods=60, n_entities=10, seed=13) - 100.0) / 2.0
    full = to_levels(panel, UP, "up", clear=3.0, min_periods=2, of_last=4)
    for cut in (1, 9, 33):
        prefix = to_levels(panel.iloc[:cut], UP, "up", clear=3.0, min_periods=2, of_last=4)
        assert prefix.equals(full.iloc[:cut])


@pytest.mark.parametrize(
    "options", [{"of_last": 0}, {"of_last": 2.5}, {"min_periods": 3, "of_last": 2}]
)
def test_to_levels_refuses_a_bad_confirmation(make_frame, options):
    with pytest.raises(InvalidParameter):
        to_levels(make_frame([1.0]), UP, "up", **options)
    with pytest.raises(InvalidParameter):
        check_decision(UP, "up", **options)


def test_check_decision_accepts_what_to_levels_accepts():
    check_decision(DOWN, "down", clear=2.0, min_periods=2, of_last=3)
    with pytest.raises(InvalidParameter):
        check_decision(DOWN, "down", clear=-1.0)


@pytest.mark.parametrize("dtype", ["int8", "int64", "uint8"])
def test_crossed_cutoff_of_a_wide_integer_panel_is_the_cutoff_of_every_code(dtype):
    rng = np.random.default_rng(4)
    values = rng.integers(0, 5, (30, 500)).astype(dtype)
    codes = pd.DataFrame(values, index=random_panel(n_periods=30, n_entities=1, seed=4).index)
    crossed = crossed_cutoff(codes, DOWN, "down")
    expected = np.array((NAN, *DOWN))[values.astype(np.intp)]
    np.testing.assert_array_equal(crossed.to_numpy(), expected)
    assert crossed.columns.equals(codes.columns) and crossed.index.equals(codes.index)


def test_to_levels_does_not_depend_on_the_memory_layout_of_the_scores():
    panel = random_panel(n_periods=40, n_entities=30, seed=9) - 100.0
    values = panel.to_numpy()
    in_c = panel.copy()
    in_c[:] = np.ascontiguousarray(values)
    options = {"clear": 2.0, "min_periods": 2}
    expected = to_levels(panel, BOTH, "both", **options)
    for frame in (in_c, panel.T.T):
        np.testing.assert_array_equal(to_levels(frame, BOTH, "both", **options), expected)


def test_an_infinite_score_is_no_information_like_a_missing_one(make_frame):
    with_inf = to_levels(make_frame([25.0, math.inf, -math.inf, 5.0]), UP, "up")
    with_nan = to_levels(make_frame([25.0, NAN, NAN, 5.0]), UP, "up")
    assert with_inf["firm"].tolist() == with_nan["firm"].tolist() == [2, 2, 2, 0]


@pytest.mark.parametrize("of_last", [None, 3])
def test_level_codes_of_an_array_are_to_levels_of_its_frame(of_last):
    panel = random_panel(n_periods=50, n_entities=40, seed=6) - 100.0
    values = panel.to_numpy().copy()
    values[5, :3] = (math.inf, -math.inf, NAN)
    frame = panel.copy()
    frame[:] = values
    options = {"clear": 1.0, "min_periods": 2, "of_last": of_last}
    codes = level_codes(values, BOTH, "both", **options)
    np.testing.assert_array_equal(codes, to_levels(frame, BOTH, "both", **options).to_numpy())
    as_frame = pd.DataFrame(codes, index=frame.index, columns=frame.columns)
    expected = crossed_cutoff(as_frame, BOTH, "both").to_numpy()
    np.testing.assert_array_equal(cutoff_levels(codes, BOTH, "both"), expected)
