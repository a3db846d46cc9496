"""What a model looks at: an indicator's level, its change in percent, or a rolling view of it.

Every function here is causal (the value at ``t`` uses rows ``<= t``) and works on all
columns at once; windows are counted in periods, so panels must be on consecutive
period starts (gaps as NaN rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit, prange

from models.checks import require_choice, require_int
from models.entity_rows import entity_rows
from models.errors import InvalidInput, InvalidParameter
from models.panel import PERIODS_PER_YEAR, as_panel, check_regular
from models.parallel import launch

#: The transforms an indicator can ask for (the same strings as ``Transform``).
TRANSFORMS: tuple[str, ...] = ("level", "yoy", "pop")
#: The period frequencies (the same strings as ``Frequency``).
FREQUENCIES: tuple[str, ...] = tuple(PERIODS_PER_YEAR)


def transform_lag(transform: str, frequency: str) -> int:
    """How many periods back the transform compares with (0 for ``level``)."""
    require_choice("transform", transform, TRANSFORMS)
    require_choice("frequency", frequency, FREQUENCIES)
    if transform == "yoy":
        return PERIODS_PER_YEAR[frequency]
    if transform == "pop":
        return 1
    return 0


def apply_transform(panel: pd.DataFrame, transform: str, frequency: str) -> pd.DataFrame:
    """The panel as the model sees it: its level or a percent change, column by column.

    ``yoy`` compares each period with the same period a year earlier (12 months, 4
    quarters or 1 year back), ``pop`` with the previous period:
    ``100 * (x_t - x_base) / |x_base|``. Taking the base's absolute value keeps the
    sign meaningful for negative bases (a rise from -10 to -5 is +50 %). A missing or
    zero base gives NaN, never an infinity. The change at ``t`` uses rows ``<= t``.
    """
    lag = transform_lag(transform, frequency)
    data = as_panel(panel)
    if lag == 0:
        return data
    check_regular(data.index, frequency)
    change = percent_change(data.to_numpy(), lag)
    return pd.DataFrame(change, index=data.index, columns=data.columns, copy=False)


def transform_values(values: np.ndarray, transform: str, frequency: str) -> np.ndarray:
    """:func:`apply_transform` of a validated (periods, entities) float64 array.

    For callers that already hold a checked panel (a detector's ``_score``): no
    validation, no copy for ``level`` (the array itself is returned).
    """
    lag = transform_lag(transform, frequency)
    return values if lag == 0 else percent_change(values, lag)


def percent_change(values: np.ndarray, lag: int) -> np.ndarray:
    """``100 * (x_t - x_{t-lag}) / |x_{t-lag}|`` of a (periods, entities) float64 array.

    NaN where the base is missing or zero and wherever the result overflows (every
    infinity becomes NaN). Computed per entity in one compiled pass; the result is in
    Fortran order (each entity's periods contiguous), a DataFrame's own layout.
    """
    rows = entity_rows(values)
    change = np.empty(rows.shape)
    launch(_percent_change_rows, rows, int(lag), change)
    return change.T


@njit(cache=True, parallel=True, error_model="numpy")
def _percent_change_rows(series: np.ndarray, lag: int, change: np.ndarray) -> None:
    """:func:`percent_change` of a (series, periods) array, with the same float steps as
    ``np.divide(x - base, abs(base)) * 100`` (IEEE division: a zero base gives an
    infinity or NaN, made NaN below)."""
    n_series, n_periods = series.shape
    for row in prange(n_series):
        x = series[row]
        out = change[row]
        for t in range(min(lag, n_periods)):
            out[t] = np.nan
        for t in range(lag, n_periods):
            base = x[t - lag]
            value = (x[t] - base) / abs(base) * 100.0
            out[t] = np.nan if np.isinf(value) else value


def moving_average(panel: pd.DataFrame, window: int, frequency: str) -> pd.DataFrame:
    """The trailing mean of the last ``window`` periods, column by column.

    The mean is over the values present in rows ``t - window + 1 .. t``; it is NaN
    where the period's own value is missing (no new information that period), so a
    gap never produces a value out of older ones alone. ``window`` 1 is the panel.
    """
    width = require_int("window", window, minimum=1)
    require_choice("frequency", frequency, FREQUENCIES)
    data = as_panel(panel)
    check_regular(data.index, frequency)
    values = data.to_numpy()
    present = ~np.isnan(values)
    total = np.zeros_like(values)
    count = np.zeros(values.shape, dtype=np.int64)
    filled = np.where(present, values, 0.0)
    for lag in range(min(width, len(values))):
        total[lag:] += filled[: len(values) - lag]
        count[lag:] += present[: len(values) - lag]
    mean = np.full_like(values, np.nan)
    np.divide(total, count, out=mean, where=present)
    return pd.DataFrame(mean, index=data.index, columns=data.columns)


def rise_from_low(
    panel: pd.DataFrame, window: int, frequency: str, *, percent: bool = False
) -> pd.DataFrame:
    """How far each value stands above the lowest value of the previous ``window`` periods.

    ``x_t - min(x_{t-window} .. x_{t-1})`` (missing values skipped), or with
    ``percent`` ``100 * (x_t - low) / |low|``. Negative when ``x_t`` makes a new low.
    NaN where ``x_t`` is missing, where the previous ``window`` periods hold no value,
    and (in percent) where the low is 0.
    """
    data, low = _prior_extreme(panel, window, frequency, np.fmin)
    return _distance(data, data.to_numpy() - low, low, percent)


def fall_from_high(
    panel: pd.DataFrame, window: int, frequency: str, *, percent: bool = False
) -> pd.DataFrame:
    """How far each value stands below the highest value of the previous ``window`` periods.

    ``max(x_{t-window} .. x_{t-1}) - x_t`` (missing values skipped), or with
    ``percent`` ``100 * (high - x_t) / |high|``. Negative when ``x_t`` makes a new high;
    NaN as for :func:`rise_from_low`.
    """
    data, high = _prior_extreme(panel, window, frequency, np.fmax)
    return _distance(data, high - data.to_numpy(), high, percent)


def share_of_total(panel: pd.DataFrame, total: pd.DataFrame | pd.Series | None) -> pd.DataFrame:
    """Each value as a percent of a total: ``100 * x / total``.

    ``total`` is a panel on the same periods, either with the same columns (one total
    per entity) or with a single column (one total for every entity, e.g. the province
    for its cities); ``None`` takes the sum of the panel's own columns in each period
    (a firm's share of its cluster). A missing or zero total gives NaN.
    """
    data = as_panel(panel)
    values = data.to_numpy()
    if total is None:
        present = ~np.isnan(values)
        sums = np.where(present, values, 0.0).sum(axis=1)
        denominator = np.where(present.any(axis=1), sums, np.nan)[:, None]
    else:
        totals = as_panel(total, name="total")
        if not totals.index.equals(data.index):
            raise InvalidInput("total must have the same periods as the panel")
        if totals.shape[1] == 1:
            denominator = totals.to_numpy()
        elif totals.columns.equals(data.columns):
            denominator = totals.to_numpy()
        else:
            raise InvalidInput(
                "total must have one column, or the same columns as the panel "
                f"(got {totals.shape[1]} columns for {data.shape[1]})"
            )
    denominator = np.broadcast_to(denominator, values.shape)
    share = np.full_like(values, np.nan)
    with np.errstate(over="ignore"):
        np.divide(values, denominator, out=share, where=(denominator != 0) & ~np.isnan(denominator))
        share *= 100.0
    share[np.isinf(share)] = np.nan
    return pd.DataFrame(share, index=data.index, columns=data.columns)


def _prior_extreme(
    panel: pd.DataFrame, window: int, frequency: str, pick: np.ufunc
) -> tuple[pd.DataFrame, np.ndarray]:
    """The panel and the lowest (``np.fmin``) or highest (``np.fmax``) prior value."""
    width = require_int("window", window, minimum=1)
    require_choice("frequency", frequency, FREQUENCIES)
    data = as_panel(panel)
    check_regular(data.index, frequency)
    values = data.to_numpy()
    extreme = np.full_like(values, np.nan)
    for lag in range(1, min(width, len(values) - 1) + 1):
        extreme[lag:] = pick(extreme[lag:], values[:-lag])  # fmin/fmax skip NaN
    return data, extreme


def _distance(
    data: pd.DataFrame, difference: np.ndarray, reference: np.ndarray, percent: bool
) -> pd.DataFrame:
    if not isinstance(percent, bool):
        raise InvalidParameter(f"percent must be true or false, got {percent!r}")
    if percent:
        size = np.abs(reference)
        relative = np.full_like(difference, np.nan)
        with np.errstate(over="ignore"):
            np.divide(difference, size, out=relative, where=size > 0)
            relative *= 100.0
        relative[np.isinf(relative)] = np.nan
        difference = relative
    return pd.DataFrame(difference, index=data.index, columns=data.columns)
