"""Industrial structure similarity (ISI) and concentration, on hand examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models import InvalidInput, InvalidParameter
from models.structure import (
    amounts_from_long,
    herfindahl,
    isi_mean,
    isi_pairs,
    isi_region_mean,
    structure_shares,
)

NAN = math.nan
YEARS = pd.date_range("2021-01-01", periods=2, freq="YS")


def amounts(rows: list[list[float]], regions: str = "ABC", sectors: str = "xy") -> pd.DataFrame:
    columns = pd.MultiIndex.from_product([list(regions), list(sectors)])
    return pd.DataFrame(rows, index=YEARS[: len(rows)], columns=columns, dtype=float)


HAND = amounts([[60, 40, 30, 70, 50, 50]])


def test_isi_of_every_pair_matches_the_hand_computation():
    """Shares A = (.6, .4), B = (.3, .7), C = (.5, .5)::

    A-B: |.6-.3| + |.4-.7| = .6  ->  ISI 1/.6 = 5/3
    A-C: .1 + .1 = .2            ->  5
    B-C: .2 + .2 = .4            ->  2.5
    """
    pairs = isi_pairs(HAND)
    assert list(pairs.columns) == [("A", "B"), ("A", "C"), ("B", "C")]
    np.testing.assert_allclose(pairs.iloc[0].to_numpy(), [5 / 3, 5.0, 2.5])


def test_the_means_of_isi_match_the_hand_computation():
    """Region means: A (5/3 + 5)/2 = 10/3, B (5/3 + 2.5)/2 = 25/12, C (5 + 2.5)/2 = 3.75;
    the mean over the three pairs (5/3 + 5 + 2.5)/3 = 55/18."""
    np.testing.assert_allclose(isi_region_mean(HAND).iloc[0], [10 / 3, 25 / 12, 3.75])
    assert isi_mean(HAND).iloc[0] == pytest.approx(55 / 18)


def test_herfindahl_and_shares_match_the_hand_computation():
    np.testing.assert_allclose(herfindahl(HAND).iloc[0], [0.52, 0.58, 0.5])
    np.testing.assert_allclose(structure_shares(HAND).iloc[0], [0.6, 0.4, 0.3, 0.7, 0.5, 0.5])


def test_shares_differing_by_four_per_mille_give_the_papers_magnitude():
    """Tai'an-Rizhao's 250.8 means their shares differ by 1/250.8 = 0.4 % in all."""
    close = amounts([[50.2, 49.8, 50.0, 50.0]], regions="TR")
    assert isi_pairs(close).iloc[0, 0] == pytest.approx(250.0)


def test_identical_structures_have_no_isi_unless_capped():
    same = amounts([[1, 1, 2, 2, 1, 3]])  # A and B both half and half
    pairs = isi_pairs(same)
    assert math.isnan(pairs.loc[YEARS[0], ("A", "B")])
    assert isi_region_mean(same).loc[YEARS[0], "A"] == pytest.approx(1 / 0.5)  # A-C only
    capped = isi_pairs(same, cap=1000.0)
    assert capped.loc[YEARS[0], ("A", "B")] == 1000.0
    assert isi_pairs(amounts([[50.01, 49.99, 50, 50, 1, 3]]), cap=1000.0).iloc[0, 0] == 1000.0
    with pytest.raises(InvalidParameter):
        isi_pairs(same, cap=0)


def test_missing_amounts_count_as_zero_and_an_empty_region_has_no_shares():
    rows = amounts([[60, NAN, 30, 70, NAN, NAN], [0, 0, 1, 1, 1, 1]])
    shares = structure_shares(rows)
    np.testing.assert_allclose(shares.iloc[0], [1.0, 0.0, 0.3, 0.7, NAN, NAN])
    assert np.isnan(shares.iloc[1, :2]).all()  # A has nothing in 2022
    pairs = isi_pairs(rows)
    assert pairs.loc[YEARS[0], ("A", "B")] == pytest.approx(1 / 1.4)
    assert math.isnan(pairs.loc[YEARS[0], ("A", "C")])
    assert np.isnan(isi_mean(rows).loc[YEARS[1]])  # only B-C, identical


def test_the_vectorised_pairs_equal_a_pair_by_pair_reference():
    rng = np.random.default_rng(3)
    regions, sectors = "ABCDEFG", "stuvw"
    frame = amounts(rng.random((2, 35)).tolist(), regions=regions, sectors=sectors)
    shares = frame.T.groupby(level=0).transform(lambda column: column / column.sum()).T
    pairs = isi_pairs(frame)
    for (first, second), values in pairs.items():
        distance = (shares[first] - shares[second]).abs().sum(axis=1)
        np.testing.assert_allclose(values.to_numpy(), 1.0 / distance.to_numpy())


def test_amounts_from_a_long_table_sum_each_region_and_sector():
    firms = pd.DataFrame(
        {
            "period": ["2021-01-01"] * 4,
            "region": ["A", "A", "B", "B"],
            "sector": ["x", "x", "x", "y"],
            "value": [1.0, 2.0, 4.0, 4.0],
        }
    )
    wide = amounts_from_long(firms)
    assert wide.loc["2021-01-01", ("A", "x")] == 3.0
    assert isi_pairs(wide).iloc[0, 0] == pytest.approx(1.0)  # |1 - .5| + |0 - .5|
    with pytest.raises(InvalidInput, match="sector"):
        amounts_from_long(firms.drop(columns="sector"))


@pytest.mark.parametrize(
    "bad",
    [
        pd.DataFrame({"A": [1.0]}, index=YEARS[:1]),  # one column level
        amounts([[-1, 1, 1, 1, 1, 1]]),  # a negative amount
        np.ones((2, 2)),
        amounts([[1, 1, 1, 1, 1, 1]]).reset_index(drop=True),  # no dates
    ],
)
def test_bad_amounts_are_refused(bad):
    with pytest.raises(InvalidInput):
        isi_region_mean(bad)


def test_no_periods_or_one_region_give_empty_or_missing_results():
    assert isi_mean(amounts([[1, 1, 1, 1, 1, 1]]).iloc[:0]).empty
    single = amounts([[1, 3]], regions="A")
    assert isi_pairs(single).shape == (1, 0)
    assert np.isnan(isi_region_mean(single).iloc[0, 0])
    assert np.isnan(isi_mean(single).iloc[0])


def test_an_infinite_amount_is_read_as_a_missing_one():
    with_inf = amounts([[60, math.inf, 30, 70, 50, 50]])
    with_nan = amounts([[60, NAN, 30, 70, 50, 50]])
    pd.testing.assert_frame_equal(isi_pairs(with_inf), isi_pairs(with_nan))
    pd.testing.assert_frame_equal(herfindahl(with_inf), herfindahl(with_nan))


def test_the_isi_of_a_period_never_depends_on_other_periods():
    frame = amounts(np.random.default_rng(5).random((2, 6)).tolist())
    future = amounts([[1e9, 0, 0, 1e9, 1, 1]]).set_axis([pd.Timestamp("2023-01-01")])
    longer = pd.concat([frame, future])
    pd.testing.assert_frame_equal(isi_pairs(longer).iloc[:2], isi_pairs(frame), check_freq=False)
    pd.testing.assert_frame_equal(isi_pairs(frame.iloc[:1]), isi_pairs(frame).iloc[:1])
