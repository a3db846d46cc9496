"""Shared pieces of the time-series detectors: what they look at and how they scale it.

A detector sees either a calendar panel (``frequency`` "M", "Q" or "A": consecutive
period starts, optionally transformed to a change in percent) or a *stream*
(``frequency=None``): rows are consecutive observations of a sensor-like source in
arrival order, any sorted unique timestamps, and only the level is available.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.checks import require_choice
from models.errors import InvalidParameter
from models.panel import PERIODS_PER_YEAR, check_regular
from models.transforms import apply_transform, transform_lag

#: 1.4826 * MAD estimates the standard deviation of normal data.
MAD_TO_SIGMA = 1.4826
#: sqrt(pi / 2) * mean absolute deviation estimates it too: the fallback when MAD is 0.
MEAN_AD_TO_SIGMA = 1.2533
#: Last-resort scale, relative to max(1, |centre|), when every reference value is equal.
RELATIVE_SCALE_FLOOR = 1e-9
#: The sides a score can be read on.
SIDES: tuple[str, ...] = ("up", "down", "both")


def check_transform(transform: str, frequency: str | None) -> None:
    """Raise ``InvalidParameter`` unless ``transform`` suits ``frequency``.

    A stream (``frequency=None``) has no calendar, so it only takes ``"level"``.
    """
    if frequency is None:
        if transform != "level":
            raise InvalidParameter(
                f"a stream (frequency=None) has no calendar: transform must be 'level', "
                f"got {transform!r}"
            )
        return
    transform_lag(transform, frequency)


def model_values(frame: pd.DataFrame, transform: str, frequency: str | None) -> np.ndarray:
    """The validated float panel as a detector sees it: a (periods, entities) array.

    On a calendar panel the periods must be consecutive (positional windows are
    calendar windows) and the transform is applied; a stream is taken as it is.
    """
    if frequency is None:
        return frame.to_numpy(dtype=np.float64, copy=True)
    check_regular(frame.index, frequency)
    return apply_transform(frame, transform, frequency).to_numpy(dtype=np.float64)


def season_length(period: int | None, frequency: str | None) -> int:
    """``period`` if given, else the periods in a year of ``frequency`` (1 for a stream)."""
    if period is not None:
        return int(period)
    if frequency is None:
        return 1
    return PERIODS_PER_YEAR[require_choice("frequency", frequency, tuple(PERIODS_PER_YEAR))]


def safe_scale(scale: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """``scale`` where it is positive, else ``1e-9 * max(1, |centre|)``.

    A value that leaves a perfectly flat reference then scores very high but finite,
    and an unchanged one scores 0. NaN stays NaN.
    """
    floor = RELATIVE_SCALE_FLOOR * np.maximum(1.0, np.abs(centre))
    return np.where(scale > 0, scale, np.where(np.isnan(scale), np.nan, floor))


def prior_mean_std(values: np.ndarray, window: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample standard deviation of the values in the rows before each row.

    ``window=None`` uses every earlier row, else the ``window`` rows just before. Missing
    values are skipped; the mean needs one value, the deviation two (NaN otherwise).
    """
    _, mean, std = trailing_stats(values, window)
    return shifted_down(mean), shifted_down(std)


def shifted_down(array: np.ndarray, rows: int = 1) -> np.ndarray:
    """The array moved down by ``rows`` rows, NaN above (row ``t`` holds row ``t - rows``)."""
    moved = np.full(array.shape, np.nan)
    if rows < len(array):
        moved[rows:] = array[: len(array) - rows]
    return moved


def trailing_stats(
    values: np.ndarray, window: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, mean and sample standard deviation of the present values in rows
    ``t - window + 1 .. t`` (``window=None``: rows ``0 .. t``).

    Running sums of each column's values minus its first value keep the sums small;
    a window whose values are all equal has a deviation of exactly 0. The mean is NaN
    without a value, the deviation without two.
    """
    present = ~np.isnan(values)
    count = _window_total(present.astype(np.float64), window)
    columns = np.arange(values.shape[1])
    if len(values):
        first = values[np.argmax(present, axis=0), columns]
    else:
        first = np.full(values.shape[1], np.nan)
    reference = np.where(np.isnan(first), 0.0, first)
    offsets = np.where(present, values - reference, 0.0)
    total = _window_total(offsets, window)
    squares = _window_total(offsets * offsets, window)
    mean = np.full(values.shape, np.nan)
    np.divide(total, count, out=mean, where=count > 0)
    variance = np.full(values.shape, np.nan)
    with np.errstate(invalid="ignore", over="ignore"):
        np.divide(squares - total * mean, count - 1, out=variance, where=count > 1)
    flat = trailing_extreme(values, window, np.fmax) == trailing_extreme(values, window, np.fmin)
    variance = np.where(flat & (count > 1), 0.0, np.maximum(variance, 0.0))
    return count, mean + reference, np.sqrt(variance)


def _window_total(array: np.ndarray, window: int | None) -> np.ndarray:
    """Sums over rows ``t - window + 1 .. t`` (all rows up to ``t`` for None)."""
    running = np.cumsum(array, axis=0)
    if window is None or window >= len(array):
        return running
    total = running.copy()
    total[window:] -= running[: len(array) - window]
    return total


def trailing_extreme(values: np.ndarray, window: int | None, pick: np.ufunc) -> np.ndarray:
    """The maximum (``np.fmax``) or minimum (``np.fmin``) of rows ``t - window + 1 .. t``.

    Missing values are skipped (NaN where a window has none). ``window=None`` takes every
    row up to ``t``. A window is the union of two overlapping power-of-two spans, each
    built by doubling, so the work grows with ``log2(window)``.
    """
    if window is None or window >= len(values):
        return pick.accumulate(values, axis=0) if len(values) else values.copy()
    span, extreme = 1, values.copy()
    while span * 2 <= window:  # extreme[t]: rows t - 2 * span + 1 .. t
        extreme[span:] = pick(extreme[span:], extreme[: len(values) - span])
        span *= 2
    rest = window - span
    if rest:
        extreme[rest:] = pick(extreme[rest:], extreme[: len(values) - rest])
    return extreme


def prior_count(values: np.ndarray, window: int | None) -> np.ndarray:
    """How many values are present in the rows before each row (all, or the last ``window``)."""
    present = np.zeros((values.shape[0] + 1, values.shape[1]), dtype=np.int64)
    np.cumsum(~np.isnan(values), axis=0, out=present[1:])
    if window is None:
        return present[:-1]
    start = np.maximum(np.arange(values.shape[0]) - window, 0)
    return present[:-1] - present[start]


def nan_median(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and count of the non-missing values along the last axis, without warnings.

    The median is NaN where there is no value.
    """
    ordered = np.sort(block, axis=-1)  # NaN sorts last
    count = (~np.isnan(block)).sum(axis=-1)
    width = block.shape[-1]
    if width == 0:
        return np.full(block.shape[:-1], np.nan), count
    low = ((np.maximum(count, 1) - 1) // 2)[..., None]
    high = (count // 2).clip(max=width - 1)[..., None]
    middle = (
        0.5
        * (np.take_along_axis(ordered, low, axis=-1) + np.take_along_axis(ordered, high, axis=-1))[
            ..., 0
        ]
    )
    return np.where(count > 0, middle, np.nan), count
