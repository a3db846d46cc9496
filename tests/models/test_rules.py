"""Threshold rules written as configuration: parsed, checked, evaluated causally."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from models import InvalidInput, InvalidParameter
from models.composite import Scale
from models.rules import Confirm, Rule, Step, apply_steps, parse_rule, parse_steps
from models.signals import backtest, signal_panel
from models.transforms import fall_from_high, moving_average, share_of_total
from tests.models.panels import frame_of, random_panel
from tests.models.test_inputs import AWKWARD_PANELS, BAD_PANELS

NAN = math.nan
EXAMPLE = {
    "steps": [{"ma": 3}, {"rise_from_low": 12}],
    "direction": "up",
    "cutoffs": [0.5, 1, 1.5, 2],
    "clear": 0.3,
    "confirm": {"n": 2, "m": 3},
}


def test_the_issue_example_reads_as_a_rule():
    rule = parse_rule(EXAMPLE)
    assert rule == Rule(
        steps=(Step("ma", window=3), Step("rise_from_low", window=12)),
        direction="up",
        cutoffs=(0.5, 1.0, 1.5, 2.0),
        clear=0.3,
        confirm=Confirm(2, 3),
    )


def test_a_rule_reads_the_same_from_yaml_and_back_from_its_config():
    text = """
    steps:
      - ma: 3
      - rise_from_low: {window: 12, percent: true}
      - yoy
      - share_of: sum
    direction: down
    cutoffs: [-1, -2, -3, -4]
    """
    rule = parse_rule(yaml.safe_load(text))
    assert rule.steps[1] == Step("rise_from_low", window=12, percent=True)
    assert rule.steps[2] == Step("yoy")
    assert rule.steps[3] == Step("share_of", total="sum")
    assert parse_rule(json.loads(json.dumps(rule.to_config()))) == rule


def test_a_small_rule_gives_the_hand_computed_scores_and_colours(make_frame):
    """Steps ma(2) then rise_from_low(3) on the months 4, 2, 2, 6, 8, 2:

    ma(2):              4    3    2    4    7    5
    low of 3 before:    -    4    3    2    2    2
    rise (the score):   nan  -1   -1   2    5    3

    Cut-offs 1/2/3/4 upwards, 2 of the last 3 scored months must breach: month 4
    (score 2) is the first breach, so nothing yet; month 5 is the second, red at 5;
    month 6 stays on, orange at 3.
    """
    frame = make_frame([4.0, 2.0, 2.0, 6.0, 8.0, 2.0])
    rule = parse_rule(
        {
            "steps": [{"ma": 2}, {"rise_from_low": 3}],
            "direction": "up",
            "cutoffs": [1, 2, 3, 4],
            "clear": 0.5,
            "confirm": {"n": 2, "m": 3},
        }
    )
    scores = rule.scores(frame)["firm"].to_numpy()
    np.testing.assert_allclose(scores, [NAN, -1.0, -1.0, 2.0, 5.0, 3.0], equal_nan=True)
    assert rule.levels(frame)["firm"].tolist() == [0, 0, 0, 0, 4, 3]


def reference_steps(series: list[float], window_ma: int, window_low: int) -> list[float]:
    """ma(window_ma) then rise_from_low(window_low), in plain Python."""
    averages = []
    for t, value in enumerate(series):
        present = [v for v in series[max(0, t - window_ma + 1) : t + 1] if not math.isnan(v)]
        averages.append(sum(present) / len(present) if not math.isnan(value) else NAN)
    rises = []
    for t, value in enumerate(averages):
        prior = [v for v in averages[max(0, t - window_low) : t] if not math.isnan(v)]
        rises.append(value - min(prior) if prior and not math.isnan(value) else NAN)
    return rises


def test_vectorised_steps_equal_the_per_series_reference():
    panel = random_panel(n_periods=60, n_entities=20, seed=7)
    result = apply_steps(panel, parse_steps([{"ma": 3}, {"rise_from_low": 12}]))
    for column in panel.columns:
        expected = reference_steps(panel[column].tolist(), 3, 12)
        np.testing.assert_allclose(result[column].to_numpy(), expected, equal_nan=True)


def test_a_rule_is_causal():
    rule = parse_rule({**EXAMPLE, "cutoffs": [2, 4, 6, 8], "clear": 1})
    panel = random_panel(n_periods=50, n_entities=12, seed=8)
    scores, codes = rule.scores(panel), rule.levels(panel)
    future = pd.DataFrame(
        np.random.default_rng(1).choice([0.0, 1e6, NAN], size=(10, panel.shape[1])),
        index=pd.date_range(panel.index[-1] + pd.DateOffset(months=1), periods=10, freq="MS"),
        columns=panel.columns,
    )
    longer = pd.concat([panel, future])
    pd.testing.assert_frame_equal(rule.scores(longer).iloc[: len(panel)], scores)
    pd.testing.assert_frame_equal(rule.levels(longer).iloc[: len(panel)], codes)


def test_a_share_of_a_named_total_takes_the_total_given_at_evaluation(make_frame):
    rule = parse_rule(
        {"steps": [{"share_of": "province"}], "direction": "up", "cutoffs": [10, 20, 30, 40]}
    )
    frame = make_frame([[1.0, 3.0], [2.0, 2.0]], columns=["a", "b"])
    totals = {"province": make_frame([10.0, 8.0], columns=["SD"])}
    assert rule.totals_needed == ("province",)
    np.testing.assert_allclose(rule.scores(frame, totals=totals), [[10.0, 30.0], [25.0, 25.0]])
    assert rule.levels(frame, totals=totals).to_numpy().tolist() == [[1, 3], [2, 2]]
    with pytest.raises(InvalidParameter, match="province"):
        rule.scores(frame)


def test_quarterly_year_on_year_steps_use_the_frequency(make_frame):
    frame = make_frame([10.0, 20.0, 30.0, 40.0, 11.0], frequency="Q")
    scores = apply_steps(frame, parse_steps(["yoy"]), "Q")
    np.testing.assert_allclose(scores["firm"], [NAN, NAN, NAN, NAN, 10.0], equal_nan=True)


BAD_RULES = {
    "not a mapping": ["up"],
    "an unknown key": {**EXAMPLE, "window": 3},
    "no cut-offs": {"direction": "up"},
    "no direction": {"cutoffs": [1, 2, 3, 4]},
    "three cut-offs": {**EXAMPLE, "cutoffs": [1, 2, 3]},
    "cut-offs as text": {**EXAMPLE, "cutoffs": "1234"},
    "falling cut-offs for up": {**EXAMPLE, "cutoffs": [4, 3, 2, 1]},
    "a clearing level above blue": {**EXAMPLE, "clear": 0.6},
    "a NaN clearing level": {**EXAMPLE, "clear": NAN},
    "a sideways direction": {**EXAMPLE, "direction": "sideways"},
    "steps as a word": {**EXAMPLE, "steps": "ma"},
    "an unknown step": {**EXAMPLE, "steps": [{"median": 3}]},
    "a two-key step": {**EXAMPLE, "steps": [{"ma": 3, "yoy": None}]},
    "a zero window": {**EXAMPLE, "steps": [{"ma": 0}]},
    "a fractional window": {**EXAMPLE, "steps": [{"rise_from_low": 1.5}]},
    "a window as text": {**EXAMPLE, "steps": [{"fall_from_high": "12"}]},
    "an unknown option": {**EXAMPLE, "steps": [{"ma": {"window": 3, "centre": True}}]},
    "a percent moving average": {**EXAMPLE, "steps": [{"ma": {"window": 3, "percent": True}}]},
    "percent as text": {**EXAMPLE, "steps": [{"rise_from_low": {"window": 3, "percent": "y"}}]},
    "options on yoy": {**EXAMPLE, "steps": [{"yoy": 12}]},
    "share of nothing": {**EXAMPLE, "steps": [{"share_of": None}]},
    "share of a blank": {**EXAMPLE, "steps": [{"share_of": " "}]},
    "confirm without m": {**EXAMPLE, "confirm": {"n": 2}},
    "confirm n above m": {**EXAMPLE, "confirm": {"n": 4, "m": 3}},
    "confirm of zero": {**EXAMPLE, "confirm": {"n": 0, "m": 3}},
}


@pytest.mark.parametrize("case", BAD_RULES)
def test_a_bad_rule_is_refused_with_invalid_parameter(case):
    with pytest.raises(InvalidParameter):
        parse_rule(BAD_RULES[case])


def test_the_error_names_the_offending_step():
    with pytest.raises(InvalidParameter, match="step 2"):
        parse_rule({**EXAMPLE, "steps": [{"ma": 3}, {"rise_from_low": 0}]})


def test_no_steps_means_the_level(make_frame):
    frame = make_frame([1.0, NAN, 3.0])
    rule = parse_rule({"direction": "both", "cutoffs": [1, 2, 3, 4]})
    assert rule.steps == ()
    pd.testing.assert_frame_equal(rule.scores(frame), frame)
    assert rule.levels(frame)["firm"].tolist() == [1, 1, 3]


# --- awkward and malformed panels, across the rule steps and what builds on them

ENTRY_POINTS = {
    "rule scores": lambda f: parse_rule({**EXAMPLE, "cutoffs": [1, 2, 3, 4]}).scores(f),
    "rule levels": lambda f: parse_rule({**EXAMPLE, "cutoffs": [1, 2, 3, 4]}).levels(f),
    "moving average": lambda f: moving_average(f, 3, "M"),
    "fall from high": lambda f: fall_from_high(f, 4, "M", percent=True),
    "share of the sum": lambda f: share_of_total(f, None),
    "signals": lambda f: signal_panel(f, 1.0, "both"),
    "backtest": lambda f: backtest(f, (1, 2, 3, 4), "up", clear=0.5, min_periods=2).codes,
    "scaled": lambda f: Scale("down", 0.0, 5.0).apply(f),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("awkward", AWKWARD_PANELS)
def test_an_awkward_panel_gets_a_result_of_the_same_shape(entry, awkward):
    panel = AWKWARD_PANELS[awkward]
    result = ENTRY_POINTS[entry](panel)
    assert result.shape == panel.shape
    assert result.index.equals(panel.index)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("bad", BAD_PANELS)
def test_a_malformed_panel_raises_invalid_input(entry, bad):
    with pytest.raises(InvalidInput):
        ENTRY_POINTS[entry](BAD_PANELS[bad])


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_infinities_are_treated_as_missing_values(entry):
    with_inf = frame_of([1.0, 2.0, math.inf, 3.0, 2.0, -math.inf, 4.0] * 4)
    with_nan = with_inf.replace([math.inf, -math.inf], NAN)
    run = ENTRY_POINTS[entry]
    pd.testing.assert_frame_equal(run(with_inf), run(with_nan))
