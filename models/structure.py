"""Industrial structure: sector shares of regions, their similarity (ISI) and concentration.

The paper measures how alike two regions' industries are with the industrial structure
similarity coefficient (产业结构相似性系数)::

    ISI_ij = 1 / sum_s |R_is - R_js|

where ``R_is`` is sector ``s``'s share of region ``i``'s total (the paper takes firms'
paid-in registered capital). The sum is the L1 distance between the two share vectors,
between 0 (identical structures) and 2 (nothing in common), so ISI runs from 0.5 to
infinity: larger means more alike, a homogeneity risk. The paper's 2022 figures (a
provincial mean of 30.1, Tai'an-Rizhao at 250.8, i.e. shares differing by 0.4 % in
all) need its firm data, which is not published.

Inputs are amount panels: periods as rows (a DatetimeIndex), a two-level column index
``(region, sector)``, non-negative amounts. A missing amount counts as zero when the
region has other amounts that period; a region with no positive amount has no shares.
Identical structures are infinitely similar: their ISI is NaN (left out of every
mean), or ``cap`` when one is given, which also caps every larger value. All functions
work on every period and every pair of regions at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.checks import require_real
from models.errors import InvalidInput
from models.panel import as_panel


def amounts_from_long(
    frame: pd.DataFrame,
    *,
    period: str = "period",
    region: str = "region",
    sector: str = "sector",
    value: str = "value",
) -> pd.DataFrame:
    """An amount panel from a long table, summing the rows of each (period, region, sector).

    For instance one row per firm and year with its region, sector and capital.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InvalidInput(f"expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [name for name in (period, region, sector, value) if name not in frame.columns]
    if missing:
        raise InvalidInput(f"the table has no column(s) {', '.join(missing)}")
    try:
        periods = pd.to_datetime(frame[period])
        amounts = pd.to_numeric(frame[value])
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"bad period or value in the table: {exc}") from None
    long = pd.DataFrame(
        {"period": periods, "region": frame[region], "sector": frame[sector], "value": amounts}
    )
    wide = long.pivot_table(
        index="period", columns=["region", "sector"], values="value", aggfunc="sum"
    )
    wide.columns = wide.columns.set_names(["region", "sector"])
    return wide.astype("float64")


def structure_shares(amounts: pd.DataFrame) -> pd.DataFrame:
    """Each sector's share (0..1) of its region's total, per period; same shape as input."""
    shares, regions, sectors, index = _shares(amounts)
    columns = pd.MultiIndex.from_product([regions, sectors], names=["region", "sector"])
    frame = pd.DataFrame(shares.reshape(len(index), -1), index=index, columns=columns)
    return frame.reindex(columns=_columns(amounts))


def herfindahl(amounts: pd.DataFrame) -> pd.DataFrame:
    """Each region's Herfindahl index ``sum_s R_is^2`` (1/n for n equal sectors, 1 for one).

    Periods x regions; the concentration of a region's own structure, next to ISI's
    comparison between regions.
    """
    shares, regions, _, index = _shares(amounts)
    return pd.DataFrame((shares**2).sum(axis=2), index=index, columns=regions)


def isi_pairs(amounts: pd.DataFrame, cap: float | None = None) -> pd.DataFrame:
    """ISI of every pair of regions ``i < j`` (in column order): periods x (region, other)."""
    matrix, regions, index = _isi_matrix(amounts, cap)
    first, second = np.triu_indices(len(regions), k=1)
    columns = pd.MultiIndex.from_arrays(
        [regions[first], regions[second]], names=["region", "other"]
    )
    return pd.DataFrame(matrix[:, first, second], index=index, columns=columns)


def isi_region_mean(amounts: pd.DataFrame, cap: float | None = None) -> pd.DataFrame:
    """Each region's mean ISI with every other region: periods x regions."""
    matrix, regions, index = _isi_matrix(amounts, cap)
    return pd.DataFrame(_mean_over(matrix, axis=2), index=index, columns=regions)


def isi_mean(amounts: pd.DataFrame, cap: float | None = None) -> pd.Series:
    """The mean ISI over all pairs of regions, per period (the paper's provincial mean)."""
    matrix, regions, index = _isi_matrix(amounts, cap)
    first, second = np.triu_indices(len(regions), k=1)
    pairs = matrix[:, first, second]
    return pd.Series(_mean_over(pairs, axis=1), index=index, name="isi_mean")


def _isi_matrix(
    amounts: pd.DataFrame, cap: float | None
) -> tuple[np.ndarray, pd.Index, pd.DatetimeIndex]:
    """ISI of all ordered pairs (periods, regions, regions), NaN on the diagonal."""
    limit = None if cap is None else require_real("cap", cap, minimum=0.0, strict_minimum=True)
    shares, regions, _, index = _shares(amounts)
    distance = np.abs(shares[:, :, None, :] - shares[:, None, :, :]).sum(axis=3)
    isi = np.full_like(distance, np.nan)
    np.divide(1.0, distance, out=isi, where=distance > 0)
    if limit is not None:
        isi = np.where(distance == 0, limit, np.minimum(isi, limit))
    diagonal = np.arange(len(regions))
    isi[:, diagonal, diagonal] = np.nan
    return isi, regions, index


def _mean_over(values: np.ndarray, axis: int) -> np.ndarray:
    """The mean of the non-NaN values along ``axis``, NaN where there are none."""
    present = ~np.isnan(values)
    total = np.where(present, values, 0.0).sum(axis=axis)
    count = present.sum(axis=axis)
    mean = np.full(total.shape, np.nan)
    np.divide(total, count, out=mean, where=count > 0)
    return mean


def _shares(amounts: pd.DataFrame) -> tuple[np.ndarray, pd.Index, pd.Index, pd.DatetimeIndex]:
    """Shares as a (periods, regions, sectors) array, with the regions and sectors."""
    columns = _columns(amounts)
    data = as_panel(amounts, name="amounts")
    values = data.to_numpy()
    if (values < 0).any():
        raise InvalidInput("amounts must not be negative")
    region_codes, regions = pd.factorize(columns.get_level_values(0))
    sector_codes, sectors = pd.factorize(columns.get_level_values(1))
    cube = np.zeros((len(data), len(regions), len(sectors)))
    present = np.zeros(cube.shape, dtype=bool)
    cube[:, region_codes, sector_codes] = np.nan_to_num(values, nan=0.0)
    present[:, region_codes, sector_codes] = ~np.isnan(values)
    total = cube.sum(axis=2, keepdims=True)
    usable = (total > 0) & present.any(axis=2, keepdims=True)
    shares = np.full(cube.shape, np.nan)
    np.divide(cube, total, out=shares, where=np.broadcast_to(usable, cube.shape))
    return shares, pd.Index(regions), pd.Index(sectors), pd.DatetimeIndex(data.index)


def _columns(amounts: object) -> pd.MultiIndex:
    if not isinstance(amounts, pd.DataFrame):
        raise InvalidInput(f"amounts must be a pandas DataFrame, got {type(amounts).__name__}")
    columns = amounts.columns
    if not isinstance(columns, pd.MultiIndex) or columns.nlevels != 2:
        raise InvalidInput("amounts need two column levels: (region, sector)")
    return columns
