"""What a model looks at: an indicator's level, or its change in percent."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.checks import require_choice
from models.panel import PERIODS_PER_YEAR, as_panel, check_regular

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
    values = data.to_numpy()
    base = np.full_like(values, np.nan)
    base[lag:] = values[:-lag]
    denominator = np.abs(base)
    usable = denominator > 0  # False for NaN too
    change = np.full_like(values, np.nan)
    with np.errstate(over="ignore"):  # a huge change over a tiny base: inf, dropped below
        np.divide(values - base, denominator, out=change, where=usable)
        change *= 100.0
    change[np.isinf(change)] = np.nan
    return pd.DataFrame(change, index=data.index, columns=data.columns)
