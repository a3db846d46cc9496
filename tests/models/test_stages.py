"""classify_stages and stage_since: the resilience stage of each entity, period by period."""

from __future__ import annotations

import math
from itertools import groupby

import numpy as np
import pandas as pd
import pytest

from models import STAGES, InvalidInput, InvalidParameter, StageParams, classify_stages, stage_since
from models.stages import performance_level, seasonal_adjust, trace_stages
from tests.models.panels import frame_of, random_panel

NAN = math.nan
PREP, ABSORB, ADAPT, RECOVER = STAGES

# The paper's Table 1 (new firms entering a cluster) and Table 3 (export complexity).
WEIFANG_POWER = [900, 853, 840, 737, 955, 1020]
QINGDAO_HOME = [301, 316, 318, 325, 369, 391]
QINGDAO_RAIL = [150, 155, 164, 168, 191, 189]
SHANDONG_EXPORT = [22042, 23415, 24495, 23950, 24706, 27110]
JIANGSU_EXPORT = [37485, 40133, 41988, 42932, 46337, 49023]
ZHEJIANG_EXPORT = [21160, 22464, 23850, 25182, 28522, 29628]
FUJIAN_EXPORT = [18660, 19443, 19837, 21111, 23629, 25535]
GUANGDONG_EXPORT = [34421, 28760, 39447, 40114, 43603, 43550]


def annual(values: list[float]) -> pd.DataFrame:
    return frame_of(values, frequency="A", start="2017-01-01")


def runs(stages: pd.Series) -> list[str]:
    """The stages a series went through, each run collapsed to one entry."""
    return [stage for stage, _ in groupby(stages)]


def test_weifang_power_entries_absorb_the_2018_to_2020_fall_then_recover():
    stages = classify_stages(annual(WEIFANG_POWER), frequency="A")["firm"]
    # 853 is 5.2 % below the 900 of 2017; 840 and 737 keep falling; 955 is back above.
    assert stages.tolist() == [PREP, ABSORB, ABSORB, ABSORB, RECOVER, PREP]


def test_shandong_export_complexity_dips_in_2020_and_recovers():
    stages = classify_stages(annual(SHANDONG_EXPORT), frequency="A")["firm"]
    # 23950 is 2.2 % below the 24495 of 2019, past the annual drop of 2 %.
    assert stages.tolist() == [PREP, PREP, PREP, ABSORB, RECOVER, PREP]


def test_guangdong_export_complexity_drops_in_2018_and_recovers_in_2019():
    stages = classify_stages(annual(GUANGDONG_EXPORT), frequency="A")["firm"]
    assert stages.tolist() == [PREP, ABSORB, RECOVER, PREP, PREP, PREP]


@pytest.mark.parametrize(
    "values",
    [QINGDAO_HOME, QINGDAO_RAIL, JIANGSU_EXPORT, ZHEJIANG_EXPORT, FUJIAN_EXPORT],
    ids=["qingdao-home", "qingdao-rail", "jiangsu", "zhejiang", "fujian"],
)
def test_a_growing_series_never_leaves_preparation(values):
    # Qingdao rail's 191 -> 189 in 2022 is a 1 % dip: noise, not a shock.
    stages = classify_stages(annual(values), frequency="A")
    assert set(stages["firm"]) == {PREP}


TABLES = {
    "WF": WEIFANG_POWER,
    "QD": QINGDAO_HOME,
    "SD": SHANDONG_EXPORT,
    "JS": JIANGSU_EXPORT,
    "GD": GUANGDONG_EXPORT,
}


def test_the_paper_tables_classify_together_as_apart():
    table = pd.concat([annual(v).rename(columns={"firm": k}) for k, v in TABLES.items()], axis=1)
    together = classify_stages(table, frequency="A")
    for code, values in TABLES.items():
        alone = classify_stages(annual(values), frequency="A")["firm"]
        assert together[code].tolist() == alone.tolist()


def test_a_larger_drop_parameter_ignores_the_weifang_fall():
    stages = classify_stages(annual(WEIFANG_POWER), StageParams(drop=0.2), frequency="A")
    assert set(stages["firm"]) == {PREP}


def test_a_larger_annual_drop_ignores_shandongs_dip():
    stages = classify_stages(annual(SHANDONG_EXPORT), StageParams(drop=0.05), frequency="A")
    assert set(stages["firm"]) == {PREP}


def shock_series(shape: str, noise: float, seed: int = 5) -> pd.DataFrame:
    """Ten years of months around 100 with one shock in month 36.

    V: a 30 % fall over four months, six months at the bottom, a year's climb back.
    U: a 25 % fall over six months, a year and a half at the bottom, a slow climb.
    L: a 30 % fall over four months and no way back.
    W: a V whose recovery halts at 88 and falls to 72 (a second shock), then recovers.
    """
    flat = np.full(36, 100.0)
    if shape == "V":
        path = np.r_[flat, np.linspace(100, 70, 5)[1:], np.full(6, 70.0)]
        path = np.r_[path, np.linspace(70, 100, 13)[1:]]
    elif shape == "U":
        path = np.r_[flat, np.linspace(100, 75, 7)[1:], np.full(18, 75.0)]
        path = np.r_[path, np.linspace(75, 100, 19)[1:]]
    elif shape == "L":
        path = np.r_[flat, np.linspace(100, 70, 5)[1:]]
    else:
        path = np.r_[flat, np.linspace(100, 70, 5)[1:], np.full(3, 70.0)]
        path = np.r_[path, np.linspace(70, 88, 7)[1:], np.linspace(88, 72, 4)[1:]]
        path = np.r_[path, np.full(3, 72.0), np.linspace(72, 100, 15)[1:]]
    path = np.r_[path, np.full(120 - len(path), path[-1])]
    rng = np.random.default_rng(seed)
    return frame_of(path * (1.0 + rng.uniform(-noise, noise, 120)))


@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_a_v_shaped_shock_goes_round_the_whole_cycle(noise):
    stages = classify_stages(shock_series("V", noise))["firm"]
    assert runs(stages) == [PREP, ABSORB, ADAPT, RECOVER, PREP]
    assert stages.iloc[:36].eq(PREP).all()
    assert stages.iloc[38] == ABSORB  # caught within two months of the fall


@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_a_u_shaped_shock_adapts_at_the_bottom_for_over_a_year(noise):
    stages = classify_stages(shock_series("U", noise))["firm"]
    assert runs(stages) == [PREP, ABSORB, ADAPT, RECOVER, PREP]
    lengths = {stage: len(list(run)) for stage, run in groupby(stages)}
    assert lengths[ADAPT] >= 12
    assert stages.iloc[55] == ADAPT  # the middle of the bottom
    assert stages.iloc[-1] == PREP


@pytest.mark.parametrize("noise", [0.0, 0.02])
def test_an_l_shaped_shock_stays_in_absorption_or_adaptation(noise):
    stages = classify_stages(shock_series("L", noise))["firm"]
    assert stages.iloc[:36].eq(PREP).all()
    assert stages.iloc[38] == ABSORB
    assert set(stages.iloc[38:]) <= {ABSORB, ADAPT}
    assert stages.iloc[-1] == ADAPT


@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_a_second_shock_during_recovery_is_a_new_absorption(noise):
    trace = trace_stages(shock_series("W", noise))
    stages = trace.stages()["firm"]
    assert runs(stages) == [PREP, ABSORB, ADAPT, RECOVER, ABSORB, ADAPT, RECOVER, PREP]
    assert trace.episode[-1, 0] == 2
    causes = trace.cause[:, 0]
    assert [int(c) for c in causes[causes != 0]] == [1, 3]  # a drop, then a relapse
    second = int(np.flatnonzero(causes == 3)[0])
    assert trace.baseline[second, 0] == pytest.approx(trace.baseline[40, 0])


def test_plain_noise_of_two_percent_never_leaves_preparation():
    rng = np.random.default_rng(9)
    panel = frame_of(100.0 * (1.0 + rng.uniform(-0.02, 0.02, (120, 200))))
    stages = classify_stages(panel)
    assert (stages == PREP).all().all()


def test_noise_on_a_growing_quarterly_series_never_leaves_preparation():
    rng = np.random.default_rng(11)
    trend = 100.0 * 1.015 ** np.arange(40)[:, None]
    panel = frame_of(trend * (1.0 + rng.uniform(-0.02, 0.02, (40, 100))), frequency="Q")
    stages = classify_stages(panel, frequency="Q")
    assert (stages == PREP).all().all()


def test_a_quarterly_shock_goes_round_the_whole_cycle():
    # Three flat years at 100, a fall to 80 over two quarters, a year at the bottom,
    # a climb back over four quarters. Quarterly defaults: 2-quarter means, a 4 % drop,
    # a 2 % slope tolerance, a 4 % rebound, back within 2 % for 2 quarters.
    path = np.r_[np.full(12, 100.0), 90, 80, 80, 80, 80, 85, 90, 95, 100, np.full(11, 100.0)]
    stages = classify_stages(frame_of(path, frequency="Q"), frequency="Q")["firm"]
    assert runs(stages) == [PREP, ABSORB, ADAPT, RECOVER, PREP]
    # 2023Q1: the mean (100 + 90) / 2 = 95 is 5 % below the baseline.
    assert stages.index[stages.eq(ABSORB)][0] == pd.Timestamp("2023-01-01")
    # 2023Q4: the level stays at 80, the fall has stopped.
    assert stages.index[stages.eq(ADAPT)][0] == pd.Timestamp("2023-10-01")
    # 2024Q3: (85 + 90) / 2 = 87.5 is 7.5 % above the trough of 80.
    assert stages.index[stages.eq(RECOVER)][0] == pd.Timestamp("2024-07-01")
    # Back at 100 in 2025Q2 and Q3: preparation from 2025Q4.
    assert stages.loc["2025-10-01":].eq(PREP).all() and stages.loc["2025-07-01"] == RECOVER


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
    # 80 -> 78.5 over three years is 0.5 % of the baseline a year: flat, not a new fall
    values = [100, 100, 80, 80, NAN, NAN, 78.5]
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
        # a climb smaller than ``rebound`` ends the fall but is not a recovery yet
        ([100, 100, 80, 81, 81.5, 83, 90], [PREP, PREP, ABSORB, ADAPT, ADAPT, RECOVER, RECOVER]),
    ],
)
def test_absorption_ends_when_the_fall_stops(make_frame, values, expected):
    stages = classify_stages(make_frame(values, frequency="A"), frequency="A")["firm"]
    assert stages.tolist() == expected


def test_a_warning_starts_a_shock_before_the_series_falls(make_frame):
    values = [100.0] * 8
    warnings = make_frame([False] * 3 + [True] + [False] * 4, frequency="A").astype(bool)
    panel = make_frame(values, frequency="A")
    trace = trace_stages(panel, frequency="A", warnings=warnings)
    # The warning opens a shock; the series never fell, so it is back at once and
    # returns to preparation after the hold.
    assert trace.stages()["firm"].tolist()[2:6] == [PREP, ABSORB, RECOVER, PREP]
    assert int(trace.cause[3, 0]) == 2  # started by a warning


def test_a_warning_that_persists_keeps_the_entity_from_preparation(make_frame):
    values = [100, 100, 90, 100, 100, 100, 100, 100]
    warnings = make_frame([False, False, True, True, True, True, False, False], frequency="A")
    stages = classify_stages(
        make_frame(values, frequency="A"), frequency="A", warnings=warnings.astype(bool)
    )["firm"]
    assert stages.tolist() == [PREP, PREP, ABSORB, RECOVER, RECOVER, RECOVER, RECOVER, PREP]


def test_warnings_must_match_the_panel(make_frame):
    panel = make_frame([1.0, 2.0, 3.0], frequency="A")
    with pytest.raises(InvalidParameter):
        classify_stages(panel, frequency="A", warnings=panel.iloc[:2].astype(bool))


def seasonal_series(n_years: int = 10, shock_at: int | None = None) -> pd.DataFrame:
    """A monthly series growing 5 % a year with a strong season (February 20 % down)."""
    season = np.array([0.95, 0.80, 1.00, 1.02, 1.03, 1.05, 1.04, 1.03, 1.02, 1.03, 1.01, 1.02])
    months = np.arange(12 * n_years)
    values = 100.0 * 1.05 ** (months / 12) * season[months % 12]
    if shock_at is not None:
        values[shock_at:] *= 0.8
    return frame_of(values, start="2015-01-01")


def test_a_strong_season_passes_for_shocks_unless_adjusted():
    panel = seasonal_series()
    raw = classify_stages(panel, StageParams(seasonal=False))["firm"]
    adjusted = classify_stages(panel, StageParams(seasonal=True))["firm"]
    assert ABSORB in set(raw)
    assert set(adjusted) == {PREP}


def test_a_shock_on_a_seasonal_series_is_caught_once_adjusted():
    stages = classify_stages(seasonal_series(shock_at=60), StageParams(seasonal=True))["firm"]
    assert stages.iloc[:60].eq(PREP).all()
    assert stages.iloc[61] == ABSORB


def test_the_seasonal_filter_recovers_the_trend_after_three_years():
    panel = seasonal_series()
    adjusted = seasonal_adjust(panel)["firm"]
    trend = 100.0 * 1.05 ** (np.arange(120) / 12)
    assert adjusted.iloc[:35].isna().all()  # two ratios per month arrive by December, year 3
    ratio = adjusted.iloc[35:].to_numpy() / trend[35:]
    # Factors against a growing trend: a constant level shift, but no season left.
    assert ratio.max() - ratio.min() < 0.005


def test_the_seasonal_filter_leaves_annual_series_alone():
    panel = annual(WEIFANG_POWER)
    pd.testing.assert_frame_equal(seasonal_adjust(panel, frequency="A"), panel.astype(float))


def test_the_seasonal_filter_is_causal():
    panel = seasonal_series(shock_at=70)
    full = seasonal_adjust(panel)
    for cut in (40, 66, 90):
        pd.testing.assert_frame_equal(seasonal_adjust(panel.iloc[:cut]), full.iloc[:cut])


def test_the_performance_level_is_the_smoothed_series(make_frame):
    panel = make_frame([10.0, 20.0, 30.0, NAN, 60.0])
    level = performance_level(panel, StageParams(smoothing=2))["firm"]
    assert level.tolist()[:3] == [10.0, 15.0, 25.0]
    assert math.isnan(level.iloc[3]) and level.iloc[4] == 60.0


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
        StageParams(rebound=0),
        StageParams(hold_periods=0),
        StageParams(min_stage_length=0),
        StageParams(smoothing=0),
        StageParams(baseline_window=2.5),
        StageParams(seasonal="yes"),
        StageParams(seasonal_years=2, seasonal_min_years=3),
    ],
)
def test_classify_stages_refuses_bad_parameters(make_frame, params):
    with pytest.raises(InvalidParameter):
        classify_stages(make_frame([1.0, 2.0]), params)


def test_defaults_adapt_to_the_frequency():
    monthly, annual_ = StageParams().resolved("M"), StageParams().resolved("A")
    assert monthly.baseline_window > annual_.baseline_window
    assert monthly.smoothing > annual_.smoothing == 1
    assert monthly.drop > annual_.drop
    assert StageParams(smoothing=5).resolved("A").smoothing == 5
    assert annual_.recovered == annual_.drop / 2
    assert annual_.rebound == annual_.drop


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
