"""The signals approach: the A/B/C/D table, its errors, lead times, proposals, backtests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models import InvalidInput, InvalidParameter
from models.signals import (
    DEFAULT_WINDOWS,
    Episode,
    backtest,
    count_signals,
    default_window,
    episode_masks,
    lead_times,
    propose_threshold,
    signal_panel,
    signal_table,
)
from tests.models.panels import frame_of
from tests.models.test_inputs import AWKWARD_PANELS

NAN = math.nan
YEARS = pd.date_range("2010-01-01", periods=10, freq="YS")


def test_the_noise_to_signal_table_matches_the_hand_computation():
    """Annual signals 2010-2019 of one region, window 2 years, one shock 2015-2016::

        year      2010 11 12 13 14 15 16 17 18 19
        signal       0  0  1  1  0  1  1  0  1  0
        shock ahead  .  .  .  y  y  .  .  .  .  .   (a start in the next 2 years)
        counted      y  y  y  y  y  -  -  y  -  -   (2015-16 in the shock; 2018-19 unresolved)

    A = 1 (2013), B = 1 (2012), C = 1 (2014), D = 3 (2010, 2011, 2017).
    Type I = C/(A+C) = 1/2, type II = B/(B+D) = 1/4, NSR = (1/4)/(1/2) = 0.5,
    P(shock | signal) = A/(A+B) = 1/2; the first signal in 2013-2014 is 2013: lead 2.
    """
    signals = pd.DataFrame({"Rizhao": [0, 0, 1, 1, 0, 1, 1, 0, 1, 0]}, index=YEARS, dtype=float)
    episodes = [Episode(pd.Timestamp("2015-01-01"), end=pd.Timestamp("2016-01-01"))]
    table = signal_table(signals, episodes, frequency="A", window=2)
    assert (table.A, table.B, table.C, table.D) == (1, 1, 1, 3)
    assert table.type_i == 0.5
    assert table.type_ii == 0.25
    assert table.noise_to_signal == 0.5
    assert table.p_shock_given_signal == 0.5
    assert table.median_lead == 2.0
    assert table.by_entity.loc["Rizhao"].tolist() == [1, 1, 1, 3]


def test_two_entities_with_their_own_episodes_and_a_global_one():
    """Window 2, episodes as a table: 'a' alone in 2013, every entity in 2017::

        year        2010 11 12 13 14 15 16 17 | 18 19 (unresolved: no start by 2019)
        a signal       0  1  0  0  0  0  1  0
        a ahead        .  y  y  .  .  y  y  .      A 2 (2011, 2016), C 2, D 4
        b signal       0  0  0  1  1  0  0  0
        b ahead        .  .  .  .  .  y  y  .      B 2 (2013, 2014), C 2, D 4

    NSR = (2/10) / (2/6) = 0.6. Leads: a 2013 -> 2 (2011), a 2017 -> 1 (2016),
    b 2017 missed; median 1.5.
    """
    signals = pd.DataFrame(
        {
            "a": [0, 1, 0, 0, 0, 0, 1, 0, 0, 0],
            "b": [0, 0, 0, 1, 1, 0, 0, 0, 0, 0],
        },
        index=YEARS,
        dtype=float,
    )
    episodes = pd.DataFrame({"start": ["2013-01-01", "2017-01-01"], "entity": ["a", None]})
    table = signal_table(signals, episodes, frequency="A", window=2)
    assert table.by_entity.loc["a"].tolist() == [2, 0, 2, 4]
    assert table.by_entity.loc["b"].tolist() == [0, 2, 2, 4]
    assert (table.A, table.B, table.C, table.D) == (2, 2, 4, 8)
    assert table.noise_to_signal == pytest.approx(0.6)
    assert table.leads["entity"].tolist() == ["a", "a", "b"]
    np.testing.assert_array_equal(table.leads["lead"].to_numpy(), [2.0, 1.0, NAN])
    assert table.median_lead == 1.5
    assert table.caught == 2 and len(table.leads) == 3


def test_missing_observations_and_unknown_entities_are_left_out():
    signals = pd.DataFrame({"a": [0, NAN, 1, 0]}, index=YEARS[:4], dtype=float)
    episodes = [Episode(pd.Timestamp("2013-06-01")), Episode(pd.Timestamp("2011-01-01"), "zz")]
    table = signal_table(signals, episodes, frequency="A", window=1)
    # 2010: nothing in 2011, D; 2011: missing; 2012: signal before the 2013 start, A
    assert (table.A, table.B, table.C, table.D) == (1, 0, 0, 1)
    assert table.leads["entity"].tolist() == ["a"]


def test_without_any_caught_shock_the_ratio_is_infinite_and_without_shocks_undefined():
    signals = pd.DataFrame({"a": [1, 0, 0, 0, 0]}, index=YEARS[:5], dtype=float)
    missed = signal_table(signals, [Episode(pd.Timestamp("2013-01-01"))], frequency="A", window=1)
    assert missed.A == 0 and missed.noise_to_signal == math.inf
    quiet = signal_table(signals, [], frequency="A", window=1)
    assert math.isnan(quiet.noise_to_signal) and math.isnan(quiet.median_lead)


def test_a_shock_after_the_panel_still_counts_for_the_periods_before_it():
    signals = pd.DataFrame({"a": [0, 0, 1]}, index=YEARS[:3], dtype=float)
    table = signal_table(signals, [Episode(pd.Timestamp("2013-01-01"))], frequency="A", window=1)
    assert (table.A, table.B, table.C, table.D) == (1, 0, 0, 2)
    assert table.median_lead == 1.0


def test_the_default_window_is_two_years():
    assert DEFAULT_WINDOWS == {"M": 24, "Q": 8, "A": 2}
    assert default_window("Q") == 8
    with pytest.raises(InvalidParameter):
        default_window("W")


@pytest.mark.parametrize(
    ("direction", "threshold", "expected"),
    [
        ("up", 2.0, [0.0, 1.0, 1.0, NAN, 0.0]),
        ("down", 2.0, [1.0, 1.0, 0.0, NAN, 1.0]),
        ("both", 2.0, [0.0, 1.0, 1.0, NAN, 1.0]),
    ],
)
def test_signal_panel_marks_values_past_the_threshold(direction, threshold, expected):
    frame = frame_of([1.0, 2.0, 3.0, NAN, -4.0])
    result = signal_panel(frame, threshold, direction)
    np.testing.assert_array_equal(result["firm"].to_numpy(), expected)


def spiky_panel() -> tuple[pd.DataFrame, list[Episode]]:
    """Monthly noise in 0..1 for 3 regions, a spike of 10 three months before each shock."""
    rng = np.random.default_rng(4)
    index = pd.date_range("2015-01-01", periods=96, freq="MS")
    panel = pd.DataFrame(rng.random((96, 3)), index=index, columns=["a", "b", "c"])
    starts = {"a": [20, 60], "b": [40], "c": [75]}
    episodes = []
    for entity, positions in starts.items():
        for position in positions:
            panel.loc[index[position - 3], entity] = 10.0
            episodes.append(Episode(index[position], entity))
    return panel, episodes


def test_propose_threshold_picks_the_percentile_with_the_lowest_noise_to_signal_ratio():
    panel, episodes = spiky_panel()
    proposal = propose_threshold(panel, episodes, "up", window=6)
    candidates = proposal.candidates
    assert list(candidates.index) == list(range(80, 100))
    best = candidates["noise_to_signal"].min()
    assert candidates.loc[proposal.percentile, "noise_to_signal"] == best
    # only the spikes pass the top percentiles: no false alarm at all
    assert best == 0.0
    assert proposal.threshold == pytest.approx(np.percentile(panel.to_numpy(), proposal.percentile))
    # ties go to the candidate with fewer signals, then to the higher percentile
    tied = candidates[candidates["noise_to_signal"] == best]
    fewest = tied[tied["signals"] == tied["signals"].min()]
    assert proposal.percentile == fewest.index.max()
    assert candidates.loc[proposal.percentile, "median_lead"] == 3.0


def test_propose_threshold_downwards_takes_the_low_tail():
    panel, episodes = spiky_panel()
    proposal = propose_threshold(-panel, episodes, "down", window=6, percentiles=[90, 99])
    assert proposal.threshold == pytest.approx(np.percentile(-panel.to_numpy(), 100 - 99))
    per_entity = propose_threshold(panel, episodes, "up", window=6, per_entity=True)
    assert isinstance(per_entity.threshold, pd.Series)
    assert list(per_entity.threshold.index) == ["a", "b", "c"]


def test_propose_threshold_without_any_caught_shock_proposes_nothing():
    panel, _ = spiky_panel()
    late = [Episode(pd.Timestamp("2015-01-01"), "a")]  # no period lies before it
    proposal = propose_threshold(panel, late, "up", window=6)
    assert proposal.percentile is None and proposal.threshold is None
    assert len(proposal.candidates) == 20


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda p, e: propose_threshold(p, e, "up", percentiles=[]), InvalidParameter),
        (lambda p, e: propose_threshold(p, e, "up", percentiles=[101]), InvalidParameter),
        (lambda p, e: propose_threshold(p, e, "sideways"), InvalidParameter),
        (lambda p, e: propose_threshold(p * NAN, e, "up"), InvalidInput),
        (lambda p, e: signal_table(p, e), InvalidInput),  # values, not 0/1 signals
        (lambda p, e: signal_table(p > 0.5, pd.DataFrame({"begin": [1]})), InvalidInput),
        (lambda p, e: signal_table(p > 0.5, [("2016-01-01", "a")]), InvalidInput),
        (lambda p, e: signal_table(p > 0.5, e, window=0), InvalidParameter),
        (
            lambda p, e: signal_table(
                p > 0.5, pd.DataFrame({"start": ["2017-01-01"], "end": ["2016-01-01"]})
            ),
            InvalidInput,
        ),
        (lambda p, e: signal_table(p > 0.5, pd.DataFrame({"start": ["soon"]})), InvalidInput),
    ],
)
def test_bad_calibration_input_is_a_clear_error(call, error):
    panel, episodes = spiky_panel()
    with pytest.raises(error):
        call(panel, episodes)


def test_backtest_counts_alerts_per_year_by_worst_colour_and_per_entity():
    """Two firms, quarterly 2020-2021, cut-offs 1/2/3/4 up::

    e0: 0 1 3 0 | 0 0 2 0    alerts: 2020Q2-Q3 (worst orange), 2021Q3 (yellow)
    e1: 4 4 0 0 | 1 NaN 0 0  alerts: 2020Q1-Q2 (red), 2021Q1-Q2 (blue; the gap holds it)
    """
    panel = frame_of(
        [[0, 4], [1, 4], [3, 0], [0, 0], [0, 1], [0, NAN], [2, 0], [0, 0]], frequency="Q"
    )
    result = backtest(panel, (1, 2, 3, 4), "up")
    assert result.opened_by_year.loc[2020].tolist() == [0, 0, 1, 1]
    assert result.opened_by_year.loc[2021].tolist() == [1, 1, 0, 0]
    assert result.periods_by_year.loc[2020].tolist() == [1, 0, 1, 2]
    assert result.periods_by_year.loc[2021].tolist() == [2, 1, 0, 0]
    assert result.by_entity.loc["e0"].tolist() == [0, 1, 1, 0, 3]
    assert result.by_entity.loc["e1"].tolist() == [1, 0, 0, 1, 4]


def test_backtest_of_a_quiet_history_counts_nothing():
    panel = frame_of([[0.0, 0.0]] * 3, frequency="A")
    result = backtest(panel, (1, 2, 3, 4), "up", clear=0.5, min_periods=2, of_last=3)
    assert result.opened_by_year.to_numpy().sum() == 0
    assert list(result.opened_by_year.index) == [2020, 2021, 2022]
    assert result.by_entity["periods"].tolist() == [0, 0]


@pytest.mark.parametrize("awkward", AWKWARD_PANELS)
def test_awkward_panels_give_a_table_or_a_clear_error(awkward):
    panel = AWKWARD_PANELS[awkward]
    episodes = [Episode(pd.Timestamp("2020-02-01"))]
    signals = signal_panel(panel, 1.0, "up")
    table = signal_table(signals, episodes)
    assert table.A + table.B + table.C + table.D <= signals.notna().sum().sum()
    try:
        proposal = propose_threshold(panel, episodes, "up")
    except InvalidInput as exc:
        assert "no values" in str(exc)
    else:
        assert len(proposal.candidates) == 20


def test_masks_computed_once_count_every_signal_panel_like_the_full_table():
    rng = np.random.default_rng(7)
    index = pd.date_range("2015-01-01", periods=60, freq="MS")
    values = rng.normal(size=(60, 30))
    values[rng.random(values.shape) < 0.1] = np.nan
    panel = pd.DataFrame(values, index=index, columns=[f"e{n}" for n in range(30)])
    episodes = [
        Episode(pd.Timestamp("2016-06-01"), "e1", pd.Timestamp("2016-09-01")),
        Episode(pd.Timestamp("2017-03-01")),
        Episode(pd.Timestamp("2018-01-01"), "e7"),
        Episode(pd.Timestamp("2019-02-01"), "e29", pd.Timestamp("2019-05-01")),
        Episode(pd.Timestamp("2018-06-01"), "not-in-the-panel"),
    ]
    masks = episode_masks(panel, episodes, frequency="M")
    for threshold in (0.0, 0.8, 1.6):
        signals = signal_panel(panel, threshold, "up")
        table = signal_table(signals, episodes, frequency="M")
        counted = count_signals(signals.to_numpy() == 1.0, panel.notna().to_numpy(), masks)
        assert counted == {"A": table.A, "B": table.B, "C": table.C, "D": table.D}
        assert table.A + table.C > 0 and table.B + table.D > 0
        leads = lead_times(signals.to_numpy() == 1.0, panel.notna().to_numpy(), masks)
        np.testing.assert_array_equal(leads, table.leads["lead"].to_numpy())


def reference_table(
    signals: pd.DataFrame, episodes: list[Episode], window: int
) -> tuple[dict[str, int], list[float]]:
    """The monthly A/B/C/D counts and the leads, one entity and one period at a time."""

    def position(stamp: pd.Timestamp) -> int:
        first = signals.index[0]
        return (stamp.year - first.year) * 12 + stamp.month - first.month

    n = len(signals)
    horizon = max(n - 1, max(position(e.start) for e in episodes))
    counts = dict.fromkeys("ABCD", 0)
    leads = []
    for column in signals.columns:
        mine = [e for e in episodes if e.entity is None or e.entity == column]
        starts = [position(e.start) for e in mine]
        spans = [(position(e.start), position(e.end)) for e in mine if e.end is not None]
        usable = []
        for t, value in enumerate(signals[column]):
            inside = any(low <= t <= high for low, high in spans)
            ahead = any(t < s <= min(t + window, horizon) for s in starts)
            usable.append(not math.isnan(value) and not inside)
            if not usable[t] or not (ahead or t + window <= horizon):
                continue
            cell = ("A" if ahead else "B") if value == 1.0 else ("C" if ahead else "D")
            counts[cell] += 1
        for begin in sorted(starts):
            low = max(begin - window, 0)
            if begin <= 0 or begin > horizon or low >= n:
                continue
            hits = [t for t in range(low, min(begin, n)) if usable[t] and signals[column].iloc[t]]
            leads.append(float(begin - hits[0]) if hits else NAN)
    return counts, leads


def test_the_vectorised_table_equals_the_per_entity_reference():
    rng = np.random.default_rng(35)
    index = pd.date_range("2016-01-01", periods=48, freq="MS")
    values = (rng.random((48, 6)) < 0.25).astype(float)
    values[rng.random(values.shape) < 0.1] = NAN
    signals = pd.DataFrame(values, index=index, columns=[f"e{n}" for n in range(6)])
    episodes = [
        Episode(pd.Timestamp("2017-03-01"), "e1", pd.Timestamp("2017-07-01")),
        Episode(pd.Timestamp("2018-02-01")),
        Episode(pd.Timestamp("2018-09-01"), "e4"),
        Episode(pd.Timestamp("2019-06-01"), "e2", pd.Timestamp("2019-11-01")),
        Episode(pd.Timestamp("2020-05-01"), "e0"),  # after the panel: sets the horizon
    ]
    table = signal_table(signals, episodes, frequency="M", window=9)
    counts, leads = reference_table(signals, episodes, 9)
    assert {"A": table.A, "B": table.B, "C": table.C, "D": table.D} == counts
    assert min(counts.values()) > 0
    np.testing.assert_array_equal(np.sort(table.leads["lead"].to_numpy()), np.sort(np.array(leads)))
