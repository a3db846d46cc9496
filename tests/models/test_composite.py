"""Composite indices: entropy weights, base-window scaling, frozen weights, colours."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models import InvalidInput, InvalidParameter
from models.composite import (
    DEFAULT_CUTOFFS,
    Scale,
    common_frequency,
    entropy_weights,
    fit_composite,
    fit_overall,
    index_levels,
    known_from,
    to_frequency,
    weighted_mean,
)
from models.panel import PERIODS_PER_YEAR
from tests.models.panels import frame_of, random_panel

NAN = math.nan


def test_entropy_weights_match_the_hand_computation():
    """Four samples of three indicators::

        a  b  c
        1  0  0
        1  1  0
        1  1  0
        1  2  4

    a: p = 1/4 each, e = -4 (1/4 ln 1/4) / ln 4 = 1, so d = 0.
    b: sum 4, p = 0, 1/4, 1/4, 1/2; sum p ln p = 2 (1/4)(-2 ln 2) + (1/2)(-ln 2) = -1.5 ln 2;
       e = 1.5 ln 2 / ln 4 = 0.75, d = 0.25.
    c: all in one sample, p = 0, 0, 0, 1; e = 0, d = 1.
    Weights d / sum d = 0, 0.25 / 1.25, 1 / 1.25 = 0, 0.2, 0.8.
    """
    matrix = pd.DataFrame(
        [[1, 0, 0], [1, 1, 0], [1, 1, 0], [1, 2, 4]], columns=["a", "b", "c"], dtype=float
    )
    weights = entropy_weights(matrix)
    np.testing.assert_allclose(weights.to_numpy(), [0.0, 0.2, 0.8], atol=1e-12)
    assert list(weights.index) == ["a", "b", "c"]


def test_entropy_weights_use_each_columns_own_values():
    """A missing value shortens its column: b = 1, 3 (NaN skipped) has p = 1/4, 3/4."""
    matrix = pd.DataFrame({"a": [1.0, 1.0, 2.0], "b": [1.0, NAN, 3.0]})
    p_a = np.array([0.25, 0.25, 0.5])
    p_b = np.array([0.25, 0.75])
    d_a = 1 + (p_a * np.log(p_a)).sum() / np.log(3)
    d_b = 1 + (p_b * np.log(p_b)).sum() / np.log(2)
    expected = np.array([d_a, d_b]) / (d_a + d_b)
    np.testing.assert_allclose(entropy_weights(matrix).to_numpy(), expected)


@pytest.mark.parametrize(
    "rows",
    [
        [[1.0, 5.0], [1.0, 5.0]],  # nothing varies
        [[1.0, 2.0]],  # a single sample
        [[0.0, 0.0], [0.0, 0.0]],  # all zero
        [[NAN, NAN], [NAN, NAN]],  # nothing at all
    ],
)
def test_entropy_weights_without_information_are_equal(rows):
    weights = entropy_weights(pd.DataFrame(rows, columns=["a", "b"]))
    np.testing.assert_allclose(weights.to_numpy(), [0.5, 0.5])


def test_entropy_weights_refuse_negative_values_and_non_frames():
    with pytest.raises(InvalidInput, match="non-negative"):
        entropy_weights(pd.DataFrame({"a": [1.0, -1.0]}))
    with pytest.raises(InvalidInput):
        entropy_weights(np.ones((2, 2)))
    assert entropy_weights(pd.DataFrame(index=[0, 1])).empty


@pytest.mark.parametrize(
    ("direction", "expected"),
    [
        ("up", [0.0, 0.0, 0.25, 1.0, 1.0, NAN]),
        ("down", [1.0, 1.0, 0.75, 0.0, 0.0, NAN]),
        ("both", [1.0, 1.0, 0.5, 1.0, 1.0, NAN]),  # distance from the middle, 6
    ],
)
def test_a_scale_orients_to_risk_and_clips_outside_the_base_range(direction, expected):
    frame = frame_of([-5.0, 2.0, 4.0, 10.0, 30.0, NAN])
    scaled = Scale(direction, 2.0, 10.0).apply(frame)
    np.testing.assert_allclose(scaled["firm"].to_numpy(), expected, equal_nan=True)


def test_a_flat_base_range_scales_to_nothing():
    assert Scale("up", 3.0, 3.0).apply(frame_of([1.0, 3.0])).isna().all().all()


def two_indicators() -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Annual 2017-2020 for two firms; the base window is 2017-2019.

    a (up):   e1 0, 5, 10, 20    e2 10, 10, 10, 0    base range 0..10
    b (down): e1 4, 4, 4, 2      e2 4, 4, 0, 6       base range 0..4
    """
    a = frame_of([[0, 10], [5, 10], [10, 10], [20, 0]], frequency="A", start="2017-01-01")
    b = frame_of([[4, 4], [4, 4], [4, 0], [2, 6]], frequency="A", start="2017-01-01")
    return {"a": a, "b": b}, {"a": "up", "b": "down"}


def test_the_index_is_the_weighted_mean_of_the_scaled_indicators():
    panels, directions = two_indicators()
    frozen = fit_composite(panels, directions, "2017-01-01", "2019-12-31")
    assert frozen.scales == {"a": Scale("up", 0.0, 10.0), "b": Scale("down", 0.0, 4.0)}
    # Scaled base samples: a = 0, 1, .5, 1, 1, 1 and b = 0, 0, 0, 0, 0, 1 (period by period)
    expected = entropy_weights(
        pd.DataFrame({"a": [0, 1, 0.5, 1, 1, 1], "b": [0, 0, 0, 0, 0, 1]}, dtype=float)
    )
    assert frozen.weights == pytest.approx(expected.to_dict())
    w_a, w_b = expected["a"], expected["b"]
    index = frozen.index(panels)
    # 2020: e1 has a = 20 (clipped to 1) and b = 2 (scaled 0.5); e2 a = 0, b = 6 (clipped 0)
    assert index.loc["2020-01-01", "e0"] == pytest.approx(100 * (w_a + 0.5 * w_b))
    assert index.loc["2020-01-01", "e1"] == pytest.approx(0.0)
    assert index.loc["2019-01-01", "e1"] == pytest.approx(100 * (w_a + w_b))
    assert ((index >= 0) & (index <= 100)).all().all()


def test_frozen_weights_never_change_earlier_values_when_periods_are_appended():
    panels = {
        "x": random_panel(60, 10, seed=1, frequency="M"),
        "y": random_panel(60, 10, seed=2, frequency="M"),
    }
    frozen = fit_composite(panels, {"x": "up", "y": "both"}, "2020-01-01", "2021-12-31")
    before = frozen.index(panels)
    rng = np.random.default_rng(0)
    future = pd.date_range("2025-01-01", periods=12, freq="MS")
    longer = {
        key: pd.concat([panel, pd.DataFrame(rng.normal(0, 1e4, (12, 10)), future, panel.columns)])
        for key, panel in panels.items()
    }
    pd.testing.assert_frame_equal(frozen.index(longer).iloc[:60], before)


def test_a_missing_indicator_leaves_its_weight_out():
    panels, directions = two_indicators()
    frozen = fit_composite(panels, directions, "2017-01-01", "2019-12-31")
    gappy = {"a": panels["a"].copy(), "b": panels["b"].copy()}
    gappy["b"].iloc[3, 0] = NAN
    gappy["a"].iloc[3, 1] = NAN
    index = frozen.index(gappy)
    assert index.loc["2020-01-01", "e0"] == pytest.approx(100.0)  # a alone: clipped to 1
    assert index.loc["2020-01-01", "e1"] == pytest.approx(0.0)  # b alone: 6 is below risk
    assert frozen.index({"a": panels["a"]}).loc["2017-01-01", "e1"] == pytest.approx(100.0)


def test_an_indicator_without_base_values_gets_no_weight():
    panels, directions = two_indicators()
    late = frame_of([[1.0, 2.0]], frequency="A", start="2020-01-01")
    directions = {**directions, "late": "up"}
    frozen = fit_composite({**panels, "late": late}, directions, "2017-01-01", "2019-12-31")
    assert frozen.weights["late"] == 0.0
    assert frozen.index({**panels, "late": late}).equals(frozen.index(panels))


def test_no_value_in_the_base_window_is_a_clear_error():
    panels, directions = two_indicators()
    with pytest.raises(InvalidInput, match="base window"):
        fit_composite(panels, directions, "2010-01-01", "2012-12-31")


@pytest.mark.parametrize(
    ("start", "end", "directions"),
    [
        ("2019-01-01", "2017-01-01", {"a": "up", "b": "down"}),
        ("not a date", "2019-01-01", {"a": "up", "b": "down"}),
        (2017, 2019, {"a": "up", "b": "down"}),
        ("2017-01-01", "2019-01-01", {"a": "up"}),
        ("2017-01-01", "2019-01-01", {"a": "up", "b": "sideways"}),
    ],
)
def test_a_bad_base_window_or_direction_is_refused(start, end, directions):
    panels, _ = two_indicators()
    with pytest.raises(InvalidParameter):
        fit_composite(panels, directions, start, end)


def test_the_overall_index_weighs_dimensions_equally_or_by_entropy():
    index = pd.date_range("2017-01-01", periods=4, freq="YS")
    economic = pd.DataFrame({1: [10.0, 20.0, 30.0, 90.0]}, index=index)
    trade = pd.DataFrame({1: [50.0, 50.0, 50.0, 10.0]}, index=index)
    indices = {"economic": economic, "trade": trade}
    equal = fit_overall(indices, "equal", "2017-01-01", "2019-12-31")
    assert equal == {"economic": 0.5, "trade": 0.5}
    assert weighted_mean(indices, equal)[1].tolist() == [30.0, 35.0, 40.0, 50.0]
    entropy = fit_overall(indices, "entropy", "2017-01-01", "2019-12-31")
    assert entropy["trade"] == 0.0  # flat over the base window: no information
    assert weighted_mean(indices, entropy)[1].tolist() == [10.0, 20.0, 30.0, 90.0]
    with pytest.raises(InvalidParameter):
        fit_overall(indices, "pca", "2017-01-01", "2019-12-31")


def test_index_colours_use_the_default_cutoffs():
    index = frame_of([10.0, 40.0, 54.9, 55.0, 70.0, 85.0, 100.0, NAN])
    assert DEFAULT_CUTOFFS == (40.0, 55.0, 70.0, 85.0)
    assert index_levels(index)["firm"].tolist() == [0, 1, 1, 2, 3, 4, 4, 4]
    assert index_levels(index, (20, 30, 60, 90))["firm"].tolist() == [0, 2, 2, 2, 3, 3, 4, 4]


def test_a_coarser_value_counts_from_the_end_of_its_period_and_is_carried_forward():
    annual = frame_of([1.0, NAN], frequency="A", start="2020-01-01")
    monthly = to_frequency(annual, "A", "M")
    # 2020 is complete in December 2020; 2021 is missing, so 2020 carries on through 2021
    assert monthly.index[0] == pd.Timestamp("2020-12-01")
    assert monthly.index[-1] == pd.Timestamp("2021-12-01")
    assert monthly["firm"].eq(1.0).all() and len(monthly) == 13
    quarters = to_frequency(frame_of([1.0, 2.0], frequency="Q", start="2020-04-01"), "Q", "M")
    assert quarters.index[0] == pd.Timestamp("2020-06-01")
    assert quarters["firm"].tolist() == [1.0, 1.0, 1.0, 2.0]  # June to August, September
    years = to_frequency(frame_of([1.0, 2.0], frequency="A", start="2020-01-01"), "A", "Q")
    assert years.index[0] == pd.Timestamp("2020-10-01")
    assert years["firm"].tolist() == [1.0, 1.0, 1.0, 1.0, 2.0]
    with pytest.raises(InvalidParameter):
        to_frequency(frame_of([1.0, 2.0]), "M", "A")


@pytest.mark.parametrize(
    ("source", "target", "grace", "lasts"),
    [
        ("A", "M", None, 18),  # a year plus six months: December to the May after next
        ("A", "M", 0, 12),
        ("A", "Q", None, 6),
        ("Q", "M", None, 4),  # a quarter plus one month
        ("Q", "M", 2, 5),
    ],
)
def test_a_carried_value_expires_after_one_period_of_its_own_and_the_grace(
    source, target, grace, lasts
):
    single = frame_of([5.0], frequency=source, start="2020-01-01")
    carried = to_frequency(single, source, target, until="2023-12-31", grace=grace)["firm"]
    assert carried.iloc[:lasts].eq(5.0).all()
    assert carried.iloc[lasts:].isna().all() and len(carried) > lasts


def test_until_extends_or_cuts_the_carried_panel():
    annual = frame_of([1.0, 2.0], frequency="A", start="2020-01-01")
    longer = to_frequency(annual, "A", "M", until="2022-03-01")
    assert longer.index[-1] == pd.Timestamp("2022-03-01") and longer["firm"].iloc[-1] == 2.0
    shorter = to_frequency(annual, "A", "M", until="2021-06-15")
    assert shorter.index[-1] == pd.Timestamp("2021-06-01") and shorter["firm"].eq(1.0).all()
    same = to_frequency(frame_of([1.0, NAN, 3.0]), "M", "M", until="2020-05-01")["firm"]
    np.testing.assert_array_equal(same.to_numpy(), [1.0, NAN, 3.0, NAN, NAN])  # not carried
    with pytest.raises(InvalidParameter):
        to_frequency(annual, "A", "M", until=2022)
    with pytest.raises(InvalidParameter):
        to_frequency(annual, "A", "M", grace=-1)


def reference_carried(panel, source, target, until, grace) -> pd.DataFrame:
    """``to_frequency`` cell by cell: the latest value complete by ``t``, if still fresh."""
    step = 12 // PERIODS_PER_YEAR[target]
    span = 12 // PERIODS_PER_YEAR[source]
    lasts = PERIODS_PER_YEAR[target] // PERIODS_PER_YEAR[source] + grace
    months = pd.date_range(
        panel.index[0] + pd.DateOffset(months=span - step), until, freq=f"{step}MS"
    )
    result = pd.DataFrame(NAN, index=months, columns=panel.columns)
    for month in months:
        for entity in panel.columns:
            for period, value in panel[entity].items():
                known = period + pd.DateOffset(months=span - step)
                age = (month.year - known.year) * 12 + month.month - known.month
                if 0 <= age < lasts * step and not math.isnan(value):
                    result.loc[month, entity] = value  # later periods overwrite earlier ones
    return result


@pytest.mark.parametrize(("source", "target"), [("A", "M"), ("Q", "M"), ("A", "Q")])
def test_carrying_forward_equals_the_cell_by_cell_reference(source, target):
    panel = random_panel(8, 6, seed=7, frequency=source)
    panel.iloc[2:6, 1] = NAN  # a long gap: the carried value expires
    grace = PERIODS_PER_YEAR[target] // PERIODS_PER_YEAR[source] // 2
    carried = to_frequency(panel, source, target, until="2031-12-31")
    expected = reference_carried(panel, source, target, "2031-12-31", grace)
    pd.testing.assert_frame_equal(carried, expected, check_freq=False, check_names=False)


def mixed_panels() -> tuple[dict[str, pd.DataFrame], dict[str, str], dict[str, str]]:
    """Monthly, quarterly and annual indicators of twelve firms over 2020-2025, with gaps."""
    panels = {
        "monthly": random_panel(72, 12, seed=21, frequency="M"),
        "quarterly": random_panel(24, 12, seed=22, frequency="Q"),
        "annual": random_panel(6, 12, seed=23, frequency="A"),
    }
    frequencies = {"monthly": "M", "quarterly": "Q", "annual": "A"}
    return panels, frequencies, {"monthly": "up", "quarterly": "down", "annual": "both"}


def mixed_index(frozen, panels, frequencies) -> pd.DataFrame:
    aligned, target = common_frequency(panels, frequencies)
    assert target == "M"
    return frozen.index(aligned)


@pytest.mark.parametrize("arrival", ["when complete", "when begun"])
def test_a_mixed_frequency_index_never_changes_when_later_periods_arrive(arrival):
    """Cut the data after each month, keeping the periods complete by then (a year's
    figure in its December) or every period begun by then (a year's figure as early as
    its January): the index up to that month is the one the full data give, so no
    quarter's or year's figure reaches back before its end."""
    panels, frequencies, directions = mixed_panels()
    aligned, _ = common_frequency(panels, frequencies)
    frozen = fit_composite(aligned, directions, "2020-01-01", "2021-12-31")
    full = mixed_index(frozen, panels, frequencies)
    for cut in full.index[::5]:
        known = {}
        for key, panel in panels.items():
            ends = known_from(panel.index, frequencies[key], "M")
            known[key] = panel.loc[(ends if arrival == "when complete" else panel.index) <= cut]
        earlier = mixed_index(frozen, known, frequencies).loc[:cut]
        pd.testing.assert_frame_equal(earlier, full.loc[:cut], check_freq=False)


def test_a_late_annual_figure_leaves_the_months_before_its_december_alone():
    """Months to September 2025 and years to 2024 are in; then the 2025 figure arrives
    with half a year more of months. Up to September nothing moves; meanwhile 2024's
    figure, complete in December 2024, stood in for the missing year."""
    panels, frequencies, directions = mixed_panels()
    aligned, _ = common_frequency(panels, frequencies)
    frozen = fit_composite(aligned, directions, "2020-01-01", "2021-12-31")
    september = pd.Timestamp("2025-09-01")
    before = {
        "monthly": panels["monthly"].loc[:september],
        "quarterly": panels["quarterly"].loc[:"2025-07-01"],  # the third quarter ends in September
        "annual": panels["annual"].loc[:"2024-01-01"],
    }
    shown = mixed_index(frozen, before, frequencies)
    after = mixed_index(frozen, panels, frequencies)
    assert shown.index[-1] == september
    pd.testing.assert_frame_equal(after.loc[:september], shown, check_freq=False)
    carried, _ = common_frequency(before, frequencies)
    annual_2024 = panels["annual"].loc["2024-01-01"]
    present = annual_2024.notna()
    assert present.any()
    np.testing.assert_array_equal(
        carried["annual"].loc[september, present].to_numpy(), annual_2024[present].to_numpy()
    )


def test_mixed_frequencies_need_a_frequency_for_every_panel():
    panels, frequencies, _ = mixed_panels()
    with pytest.raises(InvalidParameter, match="frequency"):
        common_frequency(panels, {"monthly": "M"})
    with pytest.raises(InvalidParameter):
        common_frequency(panels, {**frequencies, "annual": "W"})
    coarse = {"quarterly": panels["quarterly"], "annual": panels["annual"]}
    aligned, target = common_frequency(coarse, frequencies)
    assert target == "Q" and aligned["quarterly"].equals(panels["quarterly"])
    with pytest.raises(InvalidParameter):
        common_frequency(panels, frequencies, "Q")  # months cannot become quarters
    with pytest.raises(InvalidInput):
        common_frequency({}, {})
    empty = {**coarse, "monthly": panels["monthly"].iloc[:0]}
    aligned, target = common_frequency(empty, frequencies, "M")  # sets no horizon
    assert aligned["monthly"].empty and aligned["annual"].index[-1] == pd.Timestamp("2025-12-01")


def test_a_flat_indicator_gets_no_weight_and_the_index_comes_from_the_others():
    flat = frame_of([[7.0, 7.0]] * 24)
    rising = frame_of(np.arange(48.0).reshape(24, 2))
    panels = {"flat": flat, "rising": rising}
    frozen = fit_composite(panels, {"flat": "up", "rising": "up"}, "2020-01-01", "2020-12-31")
    assert frozen.weights == {"flat": 0.0, "rising": 1.0}
    # rising spans 0..23 over 2020: the index is 100 * x / 23, clipped at 100 after
    expected = np.clip(np.arange(48.0).reshape(24, 2) / 23.0, 0.0, 1.0) * 100.0
    np.testing.assert_allclose(frozen.index(panels).to_numpy(), expected)


def test_a_single_base_period_gives_a_defined_index():
    """One year, two firms: x 1, 2 (up) scales to 0, 1; y 3, 6 (down) to 1, 0; each
    column holds one 0 and one 1, so the entropies are 0 and the weights equal."""
    x = frame_of([[1.0, 2.0]], frequency="A")
    panels = {"x": x, "y": x * 3.0}
    frozen = fit_composite(panels, {"x": "up", "y": "down"}, "2020-01-01", "2020-12-31")
    assert frozen.weights == {"x": 0.5, "y": 0.5}
    assert frozen.index(panels).iloc[0].tolist() == [50.0, 50.0]


def test_infinities_in_the_indicators_are_read_as_missing_values():
    rising = frame_of(np.arange(48.0).reshape(24, 2))
    with_inf = rising.copy()
    with_inf.iloc[3, 0], with_inf.iloc[5, 1] = math.inf, -math.inf
    with_nan = with_inf.replace([math.inf, -math.inf], NAN)
    directions = {"x": "up", "y": "both"}
    fitted = [
        fit_composite({"x": x, "y": rising}, directions, "2020-01-01", "2020-12-31")
        for x in (with_inf, with_nan)
    ]
    assert fitted[0] == fitted[1]
    pd.testing.assert_frame_equal(
        fitted[0].index({"x": with_inf, "y": rising}), fitted[1].index({"x": with_nan, "y": rising})
    )


def test_an_empty_panel_has_no_base_window_values():
    with pytest.raises(InvalidInput, match="base window"):
        fit_composite({"x": frame_of(np.empty((0, 2)))}, {"x": "up"}, "2020-01-01", "2020-12-31")


def reference_index(panels, directions, weights, bounds, period, entity) -> float:
    """One cell of the index in plain Python: scale, clip, weigh the components present."""
    total = weight = 0.0
    for key, panel in panels.items():
        value = panel.loc[period, entity]
        low, high = bounds[key]
        if math.isnan(value) or not high > low or weights[key] == 0:
            continue
        if directions[key] == "up":
            risk = (value - low) / (high - low)
        elif directions[key] == "down":
            risk = (high - value) / (high - low)
        else:
            risk = abs(value - (low + high) / 2) / ((high - low) / 2)
        total += weights[key] * min(max(risk, 0.0), 1.0)
        weight += weights[key]
    return 100.0 * total / weight if weight else NAN


def test_the_vectorised_index_equals_the_cell_by_cell_reference():
    panels = {key: random_panel(48, 12, seed=seed) for seed, key in enumerate("xyz", start=40)}
    directions = {"x": "up", "y": "down", "z": "both"}
    frozen = fit_composite(panels, directions, "2020-01-01", "2021-12-31")
    base = {key: panel.loc["2020-01-01":"2021-12-31"] for key, panel in panels.items()}
    bounds = {
        key: (np.nanmin(window.to_numpy()), np.nanmax(window.to_numpy()))
        for key, window in base.items()
    }
    index = frozen.index(panels)
    for period in index.index:
        for entity in index.columns:
            expected = reference_index(panels, directions, frozen.weights, bounds, period, entity)
            assert index.loc[period, entity] == pytest.approx(expected, rel=1e-12, nan_ok=True)
