"""Composite risk indices: indicators oriented to risk, min-max scaled, entropy-weighted.

For one (level, dimension) the indicators' panels (periods x entities) become one
0-100 index per entity and period:

1. **Scale** each indicator on a fixed base window (e.g. 2017-2019): with ``low`` and
   ``high`` its smallest and largest value there, over every entity,
   ``up``: ``(x - low) / (high - low)``; ``down``: ``(high - x) / (high - low)``;
   ``both``: ``|x - mid| / (high - mid)`` with ``mid`` halfway between. 1 is the
   riskiest the base window saw; values outside the window's range are clipped to
   0..1.
2. **Weigh** the indicators by the entropy-weight method (熵权法) on the scaled base
   window (:func:`entropy_weights`): an indicator that varies more across the samples
   carries more information and more weight.
3. **Combine**: ``100 * sum_j w_j x_j / sum_j w_j`` over the indicators present in a
   period (the weights of missing ones are left out, so a late statistic does not
   drag the index down).

Indicators of different frequencies meet on the highest one (:func:`common_frequency`):
a quarter's or a year's value counts from the last month of its period on, when the
figure is complete, and is carried forward until the next one (for one period of its
own frequency plus a grace), never spread back over the months it covers. Which
components are present in a period, and so how the weights are re-normalised, thus
depends on data up to that period only.

Bounds and weights are learned once and then frozen (:class:`CompositeWeights`), so the
value for period ``t`` uses data up to ``t`` and the frozen base only: appending
periods, a late annual figure included, never changes an earlier value. The overall
index combines the dimension indices the same way (entropy or equal weights), and
:func:`index_levels` colours an index with the four cut-offs (40/55/70/85 by default).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from models.checks import require_choice, require_int
from models.errors import InvalidInput, InvalidParameter
from models.levels import DIRECTIONS, to_levels
from models.panel import (
    PERIOD_OFFSETS,
    PERIODS_PER_YEAR,
    as_panel,
    check_index,
    check_regular,
)

#: Default blue, yellow, orange and red cut-offs of a 0-100 index.
DEFAULT_CUTOFFS: tuple[float, float, float, float] = (40.0, 55.0, 70.0, 85.0)
#: How the overall index weighs the dimension indices.
OVERALL_METHODS: tuple[str, ...] = ("entropy", "equal")
# Divergences (1 - entropy) below this are rounding noise of a column that does not vary.
_NO_INFORMATION = 1e-12


@dataclass(frozen=True)
class Scale:
    """How one indicator maps to 0..1 risk: its direction and base-window range."""

    direction: str
    low: float
    high: float

    def apply(self, panel: pd.DataFrame) -> pd.DataFrame:
        """``panel`` scaled to 0..1 risk, clipped; NaN where missing or the range is flat."""
        data = as_panel(panel)
        values = data.to_numpy()
        spread = self.high - self.low
        if not spread > 0:  # flat (or empty) base window: no information
            return pd.DataFrame(np.nan, index=data.index, columns=data.columns)
        if self.direction == "up":
            risk = (values - self.low) / spread
        elif self.direction == "down":
            risk = (self.high - values) / spread
        else:
            middle = (self.low + self.high) / 2.0
            risk = np.abs(values - middle) / (spread / 2.0)
        return pd.DataFrame(np.clip(risk, 0.0, 1.0), index=data.index, columns=data.columns)


@dataclass(frozen=True)
class CompositeWeights:
    """Frozen weights and scales of one composite index, learned on a base window."""

    weights: Mapping[Hashable, float]
    scales: Mapping[Hashable, Scale]
    base_start: pd.Timestamp
    base_end: pd.Timestamp

    def index(self, panels: Mapping[Hashable, pd.DataFrame]) -> pd.DataFrame:
        """The 0-100 index of every entity and period of ``panels`` (same keys as fitted).

        A component without a panel counts as missing everywhere.
        """
        scaled = {key: self.scales[key].apply(panels[key]) for key in self.weights if key in panels}
        return 100.0 * weighted_mean(scaled, self.weights)


def fit_composite(
    panels: Mapping[Hashable, pd.DataFrame],
    directions: Mapping[Hashable, str],
    base_start: object,
    base_end: object,
) -> CompositeWeights:
    """Learn the scales and entropy weights of ``panels`` on ``base_start .. base_end``.

    ``panels`` maps each indicator (any key) to its periods x entities panel, all at
    one frequency; ``directions`` gives each indicator's ``up``/``down``/``both``. An
    indicator with fewer than two distinct values in the base window gets weight 0.
    Raises ``InvalidInput`` if no indicator has any value in the base window.
    """
    start, end = _window(base_start, base_end)
    if not panels:
        raise InvalidInput("a composite index needs at least one indicator panel")
    missing = [key for key in panels if key not in directions]
    if missing:
        raise InvalidParameter(f"no direction given for {missing!r}")
    scales: dict[Hashable, Scale] = {}
    base: dict[Hashable, pd.DataFrame] = {}
    for key, panel in panels.items():
        direction = require_choice(f"direction of {key!r}", directions[key], DIRECTIONS)
        window = _base_rows(as_panel(panel, name=f"panel {key!r}"), start, end)
        values = window.to_numpy()
        if np.isnan(values).all():
            scales[key] = Scale(direction, np.nan, np.nan)
        else:
            scales[key] = Scale(direction, float(np.nanmin(values)), float(np.nanmax(values)))
        base[key] = scales[key].apply(window)
    if all(np.isnan(scales[key].low) for key in scales):
        raise InvalidInput(
            f"no indicator has a value in the base window {start.date()} .. {end.date()}"
        )
    weights = entropy_weights(_samples(base))
    return CompositeWeights(weights.to_dict(), scales, start, end)


def fit_overall(
    indices: Mapping[Hashable, pd.DataFrame],
    method: str,
    base_start: object,
    base_end: object,
) -> dict[Hashable, float]:
    """Weights of the dimension indices in the overall index: ``entropy`` or ``equal``.

    Entropy weights are computed on the indices (0-100, already risk-oriented) in the
    base window; an index without values there gets weight 0. Combine with
    :func:`weighted_mean`.
    """
    require_choice("overall method", method, OVERALL_METHODS)
    if not indices:
        return {}
    if method == "equal":
        return {key: 1.0 / len(indices) for key in indices}
    start, end = _window(base_start, base_end)
    base = {
        key: _base_rows(as_panel(panel, name=f"index {key!r}"), start, end) / 100.0
        for key, panel in indices.items()
    }
    return entropy_weights(_samples(base)).to_dict()


def entropy_weights(matrix: pd.DataFrame) -> pd.Series:
    """Entropy weights (熵权法) of the columns of a non-negative samples x components matrix.

    With ``p_ij = x_ij / sum_i x_ij`` over the ``n_j`` values present in column ``j``,
    the entropy is ``e_j = -sum_i p_ij ln p_ij / ln n_j`` (``0 ln 0 = 0``), the
    divergence ``d_j = 1 - e_j`` and the weight ``w_j = d_j / sum_k d_k``. A column with
    fewer than two values or summing to 0 carries no information (``d_j = 0``). If no
    column carries any, the weights are equal. Weights sum to 1.
    """
    if not isinstance(matrix, pd.DataFrame):
        raise InvalidInput(f"matrix must be a pandas DataFrame, got {type(matrix).__name__}")
    try:
        values = matrix.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("matrix must hold numbers") from exc
    values = np.where(np.isinf(values), np.nan, values)
    if (values < 0).any():
        raise InvalidInput("entropy weights need non-negative values (scale them first)")
    if matrix.shape[1] == 0:
        return pd.Series(dtype="float64", index=matrix.columns, name="weight")
    present = ~np.isnan(values)
    count = present.sum(axis=0)
    filled = np.where(present, values, 0.0)
    total = filled.sum(axis=0)
    share = np.zeros_like(filled)
    np.divide(filled, total, out=share, where=total > 0)
    plogp = np.zeros_like(share)
    np.multiply(share, np.log(share, out=np.zeros_like(share), where=share > 0), out=plogp)
    informative = (count >= 2) & (total > 0)
    entropy = np.ones(values.shape[1])
    np.divide(-plogp.sum(axis=0), np.log(np.maximum(count, 2)), out=entropy, where=informative)
    divergence = 1.0 - entropy
    divergence[divergence < _NO_INFORMATION] = 0.0  # rounding of a flat column's entropy
    if divergence.sum() > 0:
        weights = divergence / divergence.sum()
    else:
        weights = np.full(values.shape[1], 1.0 / values.shape[1])
    return pd.Series(weights, index=matrix.columns, name="weight")


def weighted_mean(
    panels: Mapping[Hashable, pd.DataFrame], weights: Mapping[Hashable, float]
) -> pd.DataFrame:
    """``sum_j w_j x_j / sum_j w_j`` over the panels present in each cell.

    Panels are aligned on the union of their periods and entities; components with
    weight 0 are ignored; a cell with no weighted component present is NaN.
    """
    used = [key for key in panels if weights.get(key, 0.0) > 0]
    if not used:
        index = _union([panel.index for panel in panels.values()], pd.DatetimeIndex([]))
        columns = _union([panel.columns for panel in panels.values()], pd.Index([]))
        return pd.DataFrame(np.nan, index=index, columns=columns)
    frames = [as_panel(panels[key], name=f"panel {key!r}") for key in used]
    index = _union([frame.index for frame in frames], frames[0].index)
    columns = _union([frame.columns for frame in frames], frames[0].columns)
    total = np.zeros((len(index), len(columns)))
    weight = np.zeros_like(total)
    for key, frame in zip(used, frames, strict=True):
        values = frame.reindex(index=index, columns=columns).to_numpy()
        present = ~np.isnan(values)
        total += np.where(present, weights[key] * values, 0.0)
        weight += np.where(present, weights[key], 0.0)
    mean = np.full_like(total, np.nan)
    np.divide(total, weight, out=mean, where=weight > 0)
    return pd.DataFrame(mean, index=index, columns=columns)


def index_levels(
    index: pd.DataFrame,
    cutoffs: Sequence[float] = DEFAULT_CUTOFFS,
    *,
    clear: float | None = None,
    min_periods: int = 1,
) -> pd.DataFrame:
    """Colour codes 0..4 of a 0-100 risk index (higher is riskier)."""
    return to_levels(index, cutoffs, "up", clear=clear, min_periods=min_periods)


def to_frequency(
    panel: pd.DataFrame,
    source: str,
    target: str,
    *,
    until: object = None,
    grace: int | None = None,
) -> pd.DataFrame:
    """A ``source``-frequency panel on ``target`` periods, carried forward, never back.

    A quarter's or a year's figure is complete only when its period is over, so it
    counts from the period's last month (or quarter) on: a year's value from its
    December, a quarter's from its third month. It is then carried forward, entity by
    entity, until the next value takes over, for at most one period of its own
    frequency plus ``grace`` target periods (default half a period: 6 months for an
    annual value, 1 month for a quarterly one); after that the cell is missing. The
    value of target period ``t`` thus depends only on periods that end by ``t``:
    appending periods, however late, never changes it.

    The result runs from the first source period's last target period to ``until`` (a
    date; default the last source period's last target period). ``target`` must be the
    same frequency or a higher one; at the same frequency nothing is carried.
    """
    require_choice("source frequency", source, tuple(PERIODS_PER_YEAR))
    require_choice("target frequency", target, tuple(PERIODS_PER_YEAR))
    data = as_panel(panel)
    ratio, remainder = divmod(PERIODS_PER_YEAR[target], PERIODS_PER_YEAR[source])
    if ratio < 1 or remainder:
        raise InvalidParameter(f"cannot carry {source} periods onto {target} periods")
    carried = ratio // 2 if grace is None else require_int("grace", grace, minimum=0)
    end = None if until is None else _date("until", until)
    if data.empty:
        return data
    check_regular(data.index, source)
    known = data.set_axis(known_from(data.index, source, target))
    last = known.index[-1] if end is None else end
    full = pd.date_range(known.index[0], last, freq=PERIOD_OFFSETS[target], name=data.index.name)
    if ratio == 1:
        return known.reindex(full)
    return known.reindex(known.index.union(full)).ffill(limit=ratio + carried - 1).reindex(full)


def known_from(periods: pd.DatetimeIndex, source: str, target: str) -> pd.DatetimeIndex:
    """The ``target`` period in which each ``source`` period is complete: its last one."""
    months = 12 // PERIODS_PER_YEAR[source] - 12 // PERIODS_PER_YEAR[target]
    return pd.DatetimeIndex(periods + pd.DateOffset(months=months), name=periods.name)


def common_frequency(
    panels: Mapping[Hashable, pd.DataFrame],
    frequencies: Mapping[Hashable, str],
    target: str | None = None,
) -> tuple[dict[Hashable, pd.DataFrame], str]:
    """``panels`` of mixed frequencies carried onto ``target`` (default the highest).

    Each panel goes through :func:`to_frequency` up to one common horizon: the latest
    target period in which any panel's last period is complete (a year's figure
    reaches its December). Returns the panels and ``target``.
    """
    missing = [key for key in panels if key not in frequencies]
    if missing:
        raise InvalidParameter(f"no frequency given for {missing!r}")
    for key in panels:
        require_choice(f"frequency of {key!r}", frequencies[key], tuple(PERIODS_PER_YEAR))
    if target is None:
        if not panels:
            raise InvalidInput("no panels to bring to a common frequency")
        target = max((frequencies[key] for key in panels), key=PERIODS_PER_YEAR.__getitem__)
    require_choice("target frequency", target, tuple(PERIODS_PER_YEAR))
    checked = {key: check_index(panel, name=f"panel {key!r}") for key, panel in panels.items()}
    ends = [
        known_from(panel.index[-1:], frequencies[key], target)[0]
        for key, panel in checked.items()
        if len(panel.index)
    ]
    horizon = max(ends) if ends else None
    aligned = {
        key: to_frequency(panel, frequencies[key], target, until=horizon)
        for key, panel in checked.items()
    }
    return aligned, target


def _window(base_start: object, base_end: object) -> tuple[pd.Timestamp, pd.Timestamp]:
    for bound in (base_start, base_end):
        if not isinstance(bound, str | date):  # a bare number would be read as nanoseconds
            raise InvalidParameter(f"base window bounds must be dates, got {bound!r}")
    try:
        start, end = pd.Timestamp(base_start), pd.Timestamp(base_end)
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(f"base window must be two dates: {exc}") from None
    if pd.isna(start) or pd.isna(end) or start > end:
        raise InvalidParameter(f"base window must run forwards, got {base_start} .. {base_end}")
    return start, end


def _date(name: str, value: object) -> pd.Timestamp:
    if not isinstance(value, str | date):  # a bare number would be read as nanoseconds
        raise InvalidParameter(f"{name} must be a date, got {value!r}")
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InvalidParameter(f"{name} must be a date: {exc}") from None
    if pd.isna(stamp):
        raise InvalidParameter(f"{name} must be a date, got {value!r}")
    return stamp


def _base_rows(panel: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    return panel.loc[(panel.index >= start) & (panel.index <= end)]


def _samples(panels: Mapping[Hashable, pd.DataFrame]) -> pd.DataFrame:
    """Every (period, entity) cell of the aligned panels as one row, components as columns."""
    keys = list(panels)
    index = _union([panels[key].index for key in keys], pd.DatetimeIndex([]))
    columns = _union([panels[key].columns for key in keys], pd.Index([]))
    stacked = {
        key: panels[key].reindex(index=index, columns=columns).to_numpy().ravel() for key in keys
    }
    return pd.DataFrame(stacked, columns=keys)


def _union(indexes: Sequence[pd.Index], empty: pd.Index) -> pd.Index:
    result = empty
    for position, index in enumerate(indexes):
        result = index if position == 0 else result.union(index)
    return result
