"""classify_stages and stage_since: the resilience stage of each entity, period by period."""

from __future__ import annotations

import math
from itertools import groupby

import numpy as np
import pandas as pd
import pytest

from models import STAGES, InvalidInput, InvalidParameter, StageParams, classify_stages, stage_since
from tests.models.panels import frame_of, random_panel

NAN = math.nan
PREP, ABSORB, ADAPT, RECOVER = STAGES

# The paper's Table 1 (new firms entering a cluster) and Table 3 (export complexity).
WEIFANG_POWER = [900, 853, 840, 737, 955, 1020]
QINGDAO_HOME = [301, 316, 318, 325, 369, 391]
GUANGDONG_EXPORT = [34421, 28760, 39447, 40114, 43603, 43550]
JIANGSU_EXPORT = [37485, 40133, 41988, 42932, 46337, 49023]


def annual(values: list[float]) -> pd.DataFrame:
    return frame_of(values, frequency="A", start="2017-01-01")


def runs(stages: pd.Series) -> list[str]:
    """The stages a series went through, each run collapsed to one entry."""
    return [stage for stage, _ in groupby(stages)]


def test_weifang_power_entries_absorb_the_2018_to_2020_fall_then_recover():
    stages = classify_stages(annual(WEIFANG_POWER), frequency="A")["firm"]
    before_rebound = stages.loc[:"2020"].tolist()
    assert ABSORB in before_rebound
    assert stages.loc["2020-01-01"] == ABSORB
    assert stages.loc["2021-01-01"] in (RECOVER, PREP)
    assert stages.loc["2022-01-01"] in (RECOVER, PREP)


def test_guangdong_export_complexity_drops_in_2018_and_recovers_in_2019():
    stages = classify_stages(annual(GUANGDONG_EXPORT), frequency="A")["firm"]
    assert stages.loc["2017-01-01"] == PREP
    assert stages.loc["2018-01-01"] == ABSORB
    assert stages.loc["2019-01-01"] == RECOVER
    assert stages.loc["2022-01-01"] == PREP


@pytest.mark.parametrize("values", [QINGDAO_HOME, JIANGSU_EXPORT], ids=["qingdao", "jiangsu"])
def test_a_growing_series_never_leaves_preparation(values):
    stages = classify_stages(annual(values), frequency="A")
    assert set(stages["firm"]) == {PREP}


def test_a_larger_drop_parameter_ignores_the_weifang_fall():
    stages = classify_stages(annual(WEIFANG_POWER), StageParams(drop=0.2), frequency="A")
    assert set(stages["firm"]) == {PREP}


def shock_series(shape: str, noise: float, seed: int = 5) -> pd.DataFrame:
    """Ten years of months around 100: a 30 % fall over four months in month 36."""
    fall = np.linspace(100.0, 70.0, 5)[1:]
    if shape == "V":
        rebound = np.linspace(70.0, 100.0, 13)[1:]
        path = np.r_[np.full(36, 100.0), fall, np.full(6, 70.0), rebound]
    else:
        path = np.r_[np.full(36, 100.0), fall]
    path = np.r_[path, np.full(120 - len(path), path[-1])]
    rng = np.random.default_rng(seed)
    return frame_of(path * (1.0 + rng.uniform(-noise, noise, 120)))


@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_a_v_shaped_shock_goes_round_the_whole_cycle(noise):
    stages = classify_stages(shock_series("V", noise))["firm"]
    assert runs(stages) == [PREP, ABSORB, ADAPT, RECOVER, PREP]
    assert stages.iloc[:36].eq(PREP).all()
    assert stages.iloc[38] == ABSORB  # caught within two months of the fall


@pytest.mark.parametrize("noise", [0.0, 0.02])
def test_an_l_shaped_shock_stays_in_absorption_or_adaptation(noise):
    stages = classify_stages(shock_series("L", noise))["firm"]
    assert stages.iloc[:36].eq(PREP).all()
    assert stages.iloc[38] == ABSORB
    assert set(stages.iloc[38:]) <= {ABSORB, ADAPT}
    assert stages.iloc[-1] == ADAPT


def test_plain_noise_of_two_percent_never_leaves_preparation():
    rng = np.random.default_rng(9)
    panel = frame_of(100.0 * (1.0 + rng.uniform(-0.02, 0.02, (120, 200))))
    stages = classify_stages(panel)
    assert (stages == PREP).all().all()


def test_a_stage_lasts_at_least_the_minimum_stage_length():
    params = StageParams(min_stage_length=8)
    stages = classify_stages(shock_series("V", 0.0), params)["firm"]
    lengths = [len(list(run)) for _, run in groupby(stages)]
    assert min(lengths[1:-1]) >= 8


@pytest.mark.parametrize("hold", [1, 2, 4])
def test_recovery_holds_the_baseline_for_hold_periods_before_preparation(make_frame, hold):
    values = [100, 100, 80, 80] + [100] * 8
    params = StageParams(hold_periods=hold, min_stage_length=1)
    stages = classify_stages(make_frame(values, frequency="A"), params, frequency="A")["firm"]
    back = 4  # the first period back at the baseline
    assert stages.tolist()[:back] == [PREP, PREP, ABSORB, ADAPT]
    assert stages.tolist()[back : back + hold] == [RECOVER] * hold
    assert stages.tolist()[back + hold :] == [PREP] * (len(values) - back - hold)


def test_each_entity_is_classified_on_its_own():
    panel = random_panel(n_periods=90, n_entities=12, seed=4)
    together = classify_stages(panel)
    assert together.isin(STAGES).all().all()
    assert len(set(together.to_numpy().ravel())) > 1  # the walks do have shocks
    for column in panel.columns:
        alone = classify_stages(panel[[column]])
        pd.testing.assert_series_equal(alone[column], together[column])


def test_missing_values_keep_the_stage_and_start_in_preparation(make_frame):
    values = [NAN, NAN, 100, 100, 80, NAN, NAN, 80]
    stages = classify_stages(make_frame(values, frequency="A"), frequency="A")["firm"]
    assert stages.tolist()[:4] == [PREP] * 4
    assert stages.tolist()[4:] == [ABSORB, ABSORB, ABSORB, ADAPT]


def test_a_change_across_missing_periods_counts_per_period(make_frame):
    # 80 -> 77 over three years is 1 % of the baseline a year: flat, not a new fall
    values = [100, 100, 80, 80, NAN, NAN, 77]
    stages = classify_stages(make_frame(values, frequency="A"), frequency="A")["firm"]
    assert stages.tolist() == [PREP, PREP, ABSORB, ADAPT, ADAPT, ADAPT, ADAPT]


@pytest.mark.parametrize(("smoothing", "shock_seen"), [(1, True), (3, False)])
def test_smoothing_irons_out_a_one_month_dip(make_frame, smoothing, shock_seen):
    values = [100.0] * 12 + [92.0] + [100.0] * 11
    stages = classify_stages(make_frame(values), StageParams(smoothing=smoothing))["firm"]
    assert (stages.iloc[12] == ABSORB) is shock_seen
    assert stages.iloc[:12].eq(PREP).all() and stages.iloc[-1] == PREP


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([100, 100, 90, 80, 70, 70, 70], [PREP, PREP, ABSORB, ABSORB, ABSORB, ADAPT, ADAPT]),
        # a climb smaller than ``drop`` ends the fall but is not a recovery yet
        ([100, 100, 80, 83, 84, 86, 90], [PREP, PREP, ABSORB, ADAPT, ADAPT, RECOVER, RECOVER]),
    ],
)
def test_absorption_ends_when_the_fall_stops(make_frame, values, expected):
    stages = classify_stages(make_frame(values, frequency="A"), frequency="A")["firm"]
    assert stages.tolist() == expected


def test_an_all_missing_entity_stays_in_preparation(make_frame):
    stages = classify_stages(make_frame([[NAN, 1.0]] * 5, frequency="Q"), frequency="Q")
    assert set(stages["e0"]) == {PREP}


@pytest.mark.parametrize(
    "params",
    [
        StageParams(drop=0),
        StageParams(drop=1.5),
        StageParams(slope_tolerance=-0.1),
        StageParams(recovered=0.05),
        StageParams(hold_periods=0),
        StageParams(min_stage_length=0),
        StageParams(smoothing=0),
        StageParams(baseline_window=2.5),
    ],
)
def test_classify_stages_refuses_bad_parameters(make_frame, params):
    with pytest.raises(InvalidParameter):
        classify_stages(make_frame([1.0, 2.0]), params)


def test_defaults_adapt_to_the_frequency():
    monthly, annual_ = StageParams().resolved("M"), StageParams().resolved("A")
    assert monthly.baseline_window > annual_.baseline_window
    assert monthly.smoothing > annual_.smoothing == 1
    assert StageParams(smoothing=5).resolved("A").smoothing == 5
    assert annual_.recovered == annual_.drop / 2


def test_classify_stages_refuses_an_unknown_frequency(make_frame):
    with pytest.raises(InvalidParameter):
        classify_stages(make_frame([1.0]), frequency="W")


def test_stage_since_gives_the_start_of_the_current_run():
    stages = classify_stages(annual(WEIFANG_POWER + [1030]), frequency="A")
    stages["flat"] = PREP
    since = stage_since(stages)
    assert since["firm"] == pd.Timestamp("2022-01-01")
    assert since["flat"] == pd.Timestamp("2017-01-01")


def test_stage_since_of_no_periods_is_not_a_time(make_frame):
    since = stage_since(make_frame(np.empty((0, 2))).astype(object))
    assert since.isna().all()
    assert list(since.index) == ["e0", "e1"]


def test_stage_since_refuses_a_frame_without_periods():
    with pytest.raises(InvalidInput):
        stage_since(pd.DataFrame({"firm": [PREP]}))
