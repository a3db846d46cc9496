"""The paper's own figures through the scoring models: Table 1 and Table 3, by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models import PeerDetector, ThresholdDetector, parse_rule, to_levels
from tests.models.panels import frame_of

NAN = math.nan
# Table 1: new firms entering Weifang's power-equipment cluster, 2017-2022.
WEIFANG_POWER = [900.0, 853.0, 840.0, 737.0, 955.0, 1020.0]
# Table 3: advanced-manufacturing export complexity of five provinces, 2017-2022.
EXPORT_COMPLEXITY = {
    "SD": [22042.0, 23415.0, 24495.0, 23950.0, 24706.0, 27110.0],
    "JS": [37485.0, 40133.0, 41988.0, 42932.0, 46337.0, 49023.0],
    "ZJ": [21160.0, 22464.0, 23850.0, 25182.0, 28522.0, 29628.0],
    "FJ": [18660.0, 19443.0, 19837.0, 21111.0, 23629.0, 25535.0],
    "GD": [34421.0, 28760.0, 39447.0, 40114.0, 43603.0, 43550.0],
}


def annual(columns: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame(columns, index=pd.date_range("2017-01-01", periods=6, freq="YS"))


def test_weifang_entries_year_on_year_and_their_colours():
    """Year on year: 853/900, 840/853, 737/840, 955/737, 1020/955 less 1, in percent.

    Cut-offs -2/-5/-10/-15 (a fall is the risk): 2018's -5.2 % is yellow, 2020's
    -12.3 % orange; 2019's -1.5 % is back to normal, unless the alert only clears above
    -1 %, when it holds at blue.
    """
    panel = frame_of(WEIFANG_POWER, frequency="A", start="2017-01-01")
    scores = ThresholdDetector(transform="yoy", frequency="A").fit(panel).score(panel)["firm"]
    expected = [NAN, -4700 / 900, -1300 / 853, -10300 / 840, 21800 / 737, 6500 / 955]
    np.testing.assert_allclose(scores, expected, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(
        scores.iloc[1:], [-5.2222, -1.5240, -12.2619, 29.5794, 6.8063], atol=1e-4
    )
    cutoffs = (-2.0, -5.0, -10.0, -15.0)
    assert to_levels(scores.to_frame(), cutoffs, "down")["firm"].tolist() == [0, 2, 0, 3, 0, 0]
    held = to_levels(scores.to_frame(), cutoffs, "down", clear=-1.0)["firm"].tolist()
    assert held == [0, 2, 1, 3, 0, 0]


def test_guangdong_2018_and_shandong_2020_stand_out_from_their_peers():
    """Year-on-year growth (%), compared with the four other provinces of the same year.

    2018: GD -16.45 against SD 6.23, JS 7.06, ZJ 6.16, FJ 4.20: median 6.196, absolute
    deviations 0.033, 0.868, 0.033, 2.000, MAD 0.451, so z = -22.64 / (1.4826 * 0.451)
    = -33.9. 2020: SD -2.22 against JS 2.25, ZJ 5.58, FJ 6.42, GD 1.69: median 3.917,
    MAD 1.947, z = -6.14 / (1.4826 * 1.947) = -2.13.
    """
    panel = annual(EXPORT_COMPLEXITY)
    scores = PeerDetector(transform="yoy", frequency="A").fit(panel).score(panel)
    assert scores.iloc[0].isna().all()  # no growth in the first year
    assert scores.loc["2018-01-01", "GD"] == pytest.approx(-33.88, abs=0.01)
    assert scores.loc["2018-01-01"].idxmin() == "GD"
    assert scores.loc["2020-01-01", "SD"] == pytest.approx(-2.128, abs=0.001)
    assert scores.loc["2020-01-01"].idxmin() == "SD"


def test_a_fall_below_the_recent_high_written_as_a_rule():
    """ "Export complexity fell 2 % below its high of the previous two years", per province.

    SD 2020: 23950 against the high 24495 of 2018-2019, 100 * 545 / 24495 = 2.22 %: blue.
    GD 2018: 28760 against 34421, 100 * 5661 / 34421 = 16.4 %: orange. JS, ZJ and FJ
    rise every year and never fall below an earlier high.
    """
    rule = parse_rule(
        {
            "steps": [{"fall_from_high": {"window": 2, "percent": True}}],
            "direction": "up",
            "cutoffs": [2, 5, 10, 20],
        }
    )
    panel = annual(EXPORT_COMPLEXITY)
    scores = rule.scores(panel, "A")
    assert scores.loc["2020-01-01", "SD"] == pytest.approx(100 * 545 / 24495)
    assert scores.loc["2018-01-01", "GD"] == pytest.approx(100 * 5661 / 34421)
    levels = rule.levels(panel, "A")
    assert levels["SD"].tolist() == [0, 0, 0, 1, 0, 0]
    assert levels["GD"].tolist() == [0, 3, 0, 0, 0, 0]
    assert (levels[["JS", "ZJ", "FJ"]] == 0).all().all()
