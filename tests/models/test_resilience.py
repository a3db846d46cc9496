"""shock_episodes: turning points and Martin's resistance and recoverability, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models import InvalidParameter
from models.resilience import (
    ONGOING,
    RECOVERED,
    RELAPSED,
    martin_index,
    relative_change,
    shock_episodes,
    to_frequency,
)
from models.stages import StageParams, performance_level, trace_stages
from tests.models.panels import frame_of
from tests.models.test_stages import GUANGDONG_EXPORT, WEIFANG_POWER, shock_series

YEAR = pd.Timestamp


def annual(values: list[float], column: str = "firm") -> pd.DataFrame:
    return frame_of(values, frequency="A", start="2017-01-01", columns=[column])


def test_martin_index_compares_the_change_with_the_reference():
    # fell 5 % while the reference fell 10 %: half the reference's fall, resistance +0.5
    assert martin_index(-0.05, -0.10) == pytest.approx(0.5)
    # fell 20 % against 10 %: twice as deep, resistance -1
    assert martin_index(-0.20, -0.10) == pytest.approx(-1.0)
    # regained 30 % while the reference regained 10 %: recoverability +2
    assert martin_index(0.30, 0.10) == pytest.approx(2.0)


@pytest.mark.parametrize(("change", "reference"), [(None, -0.1), (-0.1, None), (-0.1, 0.0)])
def test_martin_index_is_undefined_without_a_moving_reference(change, reference):
    assert martin_index(change, reference) is None


def test_relative_change_needs_a_positive_start():
    assert relative_change(900.0, 737.0) == pytest.approx(-163 / 900)
    assert relative_change(0.0, 5.0) is None
    assert relative_change(float("nan"), 5.0) is None


def test_weifang_power_shock_measured_by_hand():
    # The province's manufacturing falls 10 % to 2020 (100 -> 90) and regains 10 % (-> 99).
    reference = annual([100, 98, 96, 90, 99, 104])
    trace = trace_stages(annual(WEIFANG_POWER), frequency="A")
    [shock] = shock_episodes(trace, reference)
    assert (shock.number, shock.cause, shock.outcome) == (1, "drop", RECOVERED)
    assert shock.start == YEAR("2018-01-01")  # 853 is 5.2 % below 900
    assert shock.peak == YEAR("2017-01-01")
    assert shock.trough == YEAR("2020-01-01")
    assert shock.recovery_start == shock.recovered == YEAR("2021-01-01")
    assert shock.end == YEAR("2022-01-01")
    assert (shock.baseline, shock.peak_value, shock.trough_value) == (900.0, 900.0, 737.0)
    assert shock.depth == pytest.approx((900 - 737) / 900)  # 18.1 %
    assert shock.absorption_periods == 3  # 2017 -> 2020
    assert shock.recovery_periods == 1  # 2020 -> 2021
    assert shock.duration_periods == 4  # 2018 -> 2022
    # resistance: (737/900 - 1) = -18.11 % against -10 %: (-0.1811 + 0.10) / 0.10 = -0.811
    assert shock.resistance == pytest.approx((737 / 900 - 1 + 0.10) / 0.10)
    assert shock.resistance == pytest.approx(-0.8111, abs=1e-4)
    # recoverability: (955/737 - 1) = +29.58 % against 99/90 - 1 = +10 %: 1.958
    assert shock.recoverability == pytest.approx((955 / 737 - 1 - 0.10) / 0.10)
    assert shock.recoverability == pytest.approx(1.9579, abs=1e-4)


def test_guangdong_export_complexity_shock_measured_by_hand():
    # Against China's index, which fell 2 % in 2018 (1000 -> 980) and rose 5 % in 2019.
    reference = annual([1000, 980, 1029, 1050, 1100, 1150])
    trace = trace_stages(annual(GUANGDONG_EXPORT), frequency="A")
    [shock] = shock_episodes(trace, reference)
    assert (shock.start, shock.peak, shock.trough) == (
        YEAR("2018-01-01"),
        YEAR("2017-01-01"),
        YEAR("2018-01-01"),
    )
    assert shock.recovered == YEAR("2019-01-01") and shock.end == YEAR("2020-01-01")
    assert shock.depth == pytest.approx((34421 - 28760) / 34421)  # 16.4 %
    assert (shock.absorption_periods, shock.recovery_periods) == (1, 1)
    # resistance: 28760/34421 - 1 = -16.45 % against -2 %: (-0.1645 + 0.02) / 0.02 = -7.22
    assert shock.resistance == pytest.approx((28760 / 34421 - 1 + 0.02) / 0.02)
    # recoverability: 39447/28760 - 1 = +37.16 % against +5 %: (0.3716 - 0.05) / 0.05 = 6.43
    assert shock.recoverability == pytest.approx((39447 / 28760 - 1 - 0.05) / 0.05)


def test_an_ongoing_shock_is_measured_on_the_periods_so_far():
    reference = annual([100, 98, 96, 90], column="firm")
    trace = trace_stages(annual(WEIFANG_POWER[:4]), frequency="A")
    [shock] = shock_episodes(trace, reference)
    assert shock.outcome == ONGOING
    assert shock.end is None and shock.recovered is None and shock.duration_periods is None
    assert shock.latest == YEAR("2020-01-01")
    assert shock.trough == YEAR("2020-01-01")
    assert shock.recoverability is None  # no climb yet
    assert shock.resistance == pytest.approx((737 / 900 - 1 + 0.10) / 0.10)


def test_the_measures_of_a_prefix_are_those_seen_at_the_time():
    # Before 2020 the trough so far is 840 (2019): the measures use it.
    trace = trace_stages(annual(WEIFANG_POWER[:3]), frequency="A")
    [shock] = shock_episodes(trace, annual([100, 98, 96]))
    assert shock.trough == YEAR("2019-01-01")
    assert shock.depth == pytest.approx((900 - 840) / 900)
    assert shock.resistance == pytest.approx((840 / 900 - 1 + 0.04) / 0.04)


def test_a_second_shock_during_recovery_is_its_own_episode():
    trace = trace_stages(shock_series("W", 0.0))
    first, second = shock_episodes(trace)
    assert (first.outcome, second.outcome) == (RELAPSED, RECOVERED)
    assert (first.cause, second.cause) == ("drop", "relapse")
    assert first.end == second.start
    assert first.recovered is None  # it never got back before the second fall
    # The second fall is measured from the recovery's high (88) to its trough (72),
    # the levels being 3-month means: at the turn (88 + 85.33 + 82.67) / 3 = 85.33.
    assert second.peak_value == pytest.approx(first_high(trace))
    assert second.trough_value == pytest.approx(72.0)
    assert second.baseline == first.baseline == 100.0
    assert second.depth == pytest.approx((second.peak_value - 72.0) / second.peak_value)


def first_high(trace) -> float:
    """The highest level of the first recovery (before the second fall began)."""
    stages = trace.stages()["firm"].tolist()
    start = stages.index("recovery")
    end = stages.index("absorption", start)
    return float(np.nanmax(trace.level[start:end, 0]))


def test_a_v_shaped_shock_measured_on_monthly_levels():
    # smoothing=1: the levels are the values. 100 up to month 35; 92.5, 85, 77.5, 70 in
    # months 36-39; 70 until month 45; then 2.5 a month: 72.5 in 46 ... 97.5 in 56.
    params = StageParams(smoothing=1)
    trace = trace_stages(shock_series("V", 0.0), params)
    reference = frame_of(np.r_[np.full(36, 200.0), np.full(84, 180.0)])
    [shock] = shock_episodes(trace, reference)
    assert shock.peak == trace.periods[35]
    assert shock.trough == trace.periods[39]  # the first month at 70
    assert shock.absorption_periods == 4
    assert shock.depth == pytest.approx(0.30)
    assert shock.recovered == trace.periods[56]  # within 2.5 % of 100
    assert shock.recovery_periods == 17
    # the reference fell 10 % (200 -> 180): resistance (-0.30 + 0.10) / 0.10 = -2
    assert shock.resistance == pytest.approx(-2.0)
    # the reference did not move during the recovery: recoverability undefined
    assert shock.recoverability is None


def test_without_a_reference_the_relative_measures_are_missing():
    [shock] = shock_episodes(trace_stages(annual(WEIFANG_POWER), frequency="A"))
    assert shock.resistance is None and shock.recoverability is None
    assert shock.depth == pytest.approx(163 / 900)


def test_a_growing_series_has_no_shock():
    trace = trace_stages(annual([301, 316, 318, 325, 369, 391]), frequency="A")
    assert shock_episodes(trace) == []


def test_the_reference_must_have_the_trace_periods():
    trace = trace_stages(annual(WEIFANG_POWER), frequency="A")
    with pytest.raises(InvalidParameter):
        shock_episodes(trace, annual([1.0, 2.0]))


def test_to_frequency_averages_complete_periods_only():
    months = frame_of(np.r_[np.arange(1.0, 13.0), np.arange(1.0, 7.0)], start="2020-01-01")
    years = to_frequency(months, "M", "A")["firm"]
    assert years.index.tolist() == [YEAR("2020-01-01"), YEAR("2021-01-01")]
    assert years.iloc[0] == pytest.approx(6.5) and np.isnan(years.iloc[1])
    quarters = to_frequency(months, "M", "Q")["firm"]
    assert quarters.iloc[:2].tolist() == [2.0, 5.0] and len(quarters) == 6


def test_to_frequency_cannot_make_a_series_finer():
    with pytest.raises(InvalidParameter):
        to_frequency(annual([1.0, 2.0]), "A", "M")


def test_the_reference_level_can_come_from_the_same_preprocessing():
    reference = performance_level(annual([100, 98, 96, 90, 99, 104]), frequency="A")
    trace = trace_stages(annual(WEIFANG_POWER), frequency="A")
    [shock] = shock_episodes(trace, reference)
    assert shock.resistance == pytest.approx(-0.8111, abs=1e-4)
