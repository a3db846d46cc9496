"""classify_lifecycle: emergence, growth or maturity from firm-entry and output growth."""

from __future__ import annotations

import math
from itertools import groupby

import numpy as np
import pandas as pd
import pytest

from models import InvalidParameter
from models.lifecycle import (
    EMERGENCE,
    GROWTH,
    MATURITY,
    NAMES,
    LifecycleParams,
    classify_lifecycle,
    recommended_policy,
    trailing_growth,
)
from tests.models.panels import frame_of
from tests.models.test_stages import QINGDAO_HOME, WEIFANG_POWER

NAN = math.nan


def annual(values, start: str = "2017-01-01") -> pd.DataFrame:
    return frame_of(values, frequency="A", start=start)


def compounding(rate: float, years: int, start: float = 100.0) -> list[float]:
    return [start * (1 + rate) ** i for i in range(years)]


def test_trailing_growth_is_the_mean_of_the_last_changes_by_hand():
    growth = trailing_growth(annual(QINGDAO_HOME), window=3)["firm"]
    changes = [316 / 301 - 1, 318 / 316 - 1, 325 / 318 - 1, 369 / 325 - 1, 391 / 369 - 1]
    assert math.isnan(growth.iloc[0])
    assert growth.iloc[1] == pytest.approx(changes[0])
    assert growth.iloc[2] == pytest.approx((changes[0] + changes[1]) / 2)
    # 2022: (2.2 % + 13.5 % + 6.0 %) / 3 = 7.2 %
    assert growth.iloc[5] == pytest.approx(sum(changes[2:]) / 3)
    assert growth.iloc[5] == pytest.approx(0.0724, abs=1e-4)


def test_trailing_growth_skips_a_missing_year_and_needs_this_years_change():
    growth = trailing_growth(annual([100, 110, NAN, 121, 133.1]), window=3)["firm"]
    assert math.isnan(growth.iloc[2]) and math.isnan(growth.iloc[3])
    assert growth.iloc[4] == pytest.approx(0.10)  # 2018's 10 % and 2021's 10 %


def test_a_surge_of_entrants_ahead_of_output_is_emergence():
    entries = annual(compounding(0.25, 6))
    output = annual(compounding(0.12, 6))
    stages = classify_lifecycle(entries, output)["firm"]
    assert pd.isna(stages.iloc[0])  # no growth rate in the first year
    assert stages.iloc[1:].tolist() == [EMERGENCE] * 5


def test_output_scaling_up_past_entries_is_growth():
    entries = annual(compounding(0.04, 6))
    output = annual(compounding(0.15, 6))
    assert classify_lifecycle(entries, output)["firm"].iloc[1:].tolist() == [GROWTH] * 5


def test_brisk_entry_with_output_growing_even_faster_is_growth():
    entries = annual(compounding(0.12, 6))
    output = annual(compounding(0.20, 6))
    assert classify_lifecycle(entries, output)["firm"].iloc[-1] == GROWTH


def test_slow_output_and_few_entrants_is_maturity():
    entries = annual(QINGDAO_HOME)  # 7.2 % a year over 2020-2022
    output = annual(compounding(0.03, 6))
    assert classify_lifecycle(entries, output)["firm"].iloc[-1] == MATURITY


def test_weifang_falling_entries_with_slow_output_are_maturity():
    # Entries fell three years running (-5.2 %, -1.5 %, -12.3 %): no surge of entrants.
    stages = classify_lifecycle(annual(WEIFANG_POWER), annual(compounding(0.04, 6)))["firm"]
    assert stages.iloc[1:4].tolist() == [MATURITY] * 3


def test_a_cluster_moves_from_emergence_through_growth_to_maturity():
    entries = annual([100, 130, 170, 220, 240, 250, 255, 258, 260, 262, 263, 264])
    output = annual([100, 110, 125, 145, 175, 210, 245, 270, 285, 295, 302, 308])
    stages = classify_lifecycle(entries, output)["firm"].iloc[1:].tolist()
    assert stages[0] == EMERGENCE and stages[-1] == MATURITY
    assert GROWTH in stages
    # the stages come in life-cycle order, never back
    order = [(EMERGENCE, GROWTH, MATURITY).index(s) for s in stages]
    assert order == sorted(order)


def test_the_minimum_stage_length_holds_a_stage():
    entries = annual([100, 130, 170, 220, 240, 250, 255, 258, 260, 262, 263, 264])
    output = annual([100, 110, 125, 145, 175, 210, 245, 270, 285, 295, 302, 308])
    loose = classify_lifecycle(entries, output, LifecycleParams(window=1))["firm"]
    sticky = classify_lifecycle(entries, output, LifecycleParams(window=1, min_stage_length=4))[
        "firm"
    ]
    runs = [len(list(group)) for _, group in groupby(sticky.iloc[1:])]
    assert min(runs[:-1]) >= 4
    assert loose.iloc[1:].tolist() != sticky.iloc[1:].tolist()


def test_without_output_there_is_no_stage():
    entries = annual(compounding(0.25, 4))
    output = annual([NAN] * 4)
    assert classify_lifecycle(entries, output)["firm"].isna().all()


def test_entries_and_output_are_aligned_on_their_years_and_entities():
    entries = annual(compounding(0.25, 4), start="2017-01-01")
    output = frame_of(
        np.c_[compounding(0.12, 4), compounding(0.02, 4)],
        frequency="A",
        start="2018-01-01",
        columns=["firm", "other"],
    )
    stages = classify_lifecycle(entries, output)
    assert stages.index[0] == pd.Timestamp("2017-01-01")
    assert stages.index[-1] == pd.Timestamp("2021-01-01")
    assert list(stages.columns) == ["firm", "other"]
    assert stages["other"].isna().all()  # no entries for it
    assert stages["firm"].iloc[2] == EMERGENCE


@pytest.mark.parametrize(
    ("stage", "policy"),
    [(EMERGENCE, "demand"), (GROWTH, "supply_environment"), (MATURITY, "environment")],
)
def test_each_stage_has_the_policy_the_paper_recommends(stage, policy):
    assert recommended_policy(stage) == policy


def test_the_policy_names_follow_the_paper():
    assert NAMES["demand"][0] == "需求型政策"
    assert NAMES["supply_environment"][0] == "供给型与环境型政策"
    assert NAMES["environment"][0].startswith("环境型政策为主")
    assert NAMES[EMERGENCE][0] == "萌芽期" and NAMES[MATURITY][0] == "成熟期"


def test_an_unknown_stage_has_no_policy():
    with pytest.raises(InvalidParameter):
        recommended_policy("decline")


@pytest.mark.parametrize(
    "params",
    [
        LifecycleParams(window=0),
        LifecycleParams(min_stage_length=0),
        LifecycleParams(entry_fast=float("nan")),
        LifecycleParams(output_fast=-2.0),
    ],
)
def test_bad_parameters_are_refused(params):
    with pytest.raises(InvalidParameter):
        classify_lifecycle(annual([1.0, 2.0]), annual([1.0, 2.0]), params)


def test_the_life_cycle_is_causal():
    entries = annual([100, 130, 170, 220, 240, 250, 255, 258, 260, 262, 263, 264])
    output = annual([100, 110, 125, 145, 175, 210, 245, 270, 285, 295, 302, 308])
    full = classify_lifecycle(entries, output)
    for cut in (3, 7, 10):
        part = classify_lifecycle(entries.iloc[:cut], output.iloc[:cut])
        pd.testing.assert_frame_equal(part, full.iloc[:cut])
