"""The robust z-score computed by sorting every window: the reference of the kernels.

This is how ``models.robust_z`` computed it before its compiled kernel; the kernel must
give exactly the same numbers (see ``test_robust_window.py``).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from models.series import MAD_TO_SIGMA, MEAN_AD_TO_SIGMA, RELATIVE_SCALE_FLOOR

# Elements of one (entities, periods, window) block: bounds memory, keeps it in cache.
_BLOCK_ELEMENTS = 1 << 18


def sorted_robust_z(values: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """Robust z-scores of a (periods, entities) array, every window sorted."""
    median, mad, count = sorted_median_mad(values, window)
    scale = MAD_TO_SIGMA * mad
    flat = (scale == 0) & (count >= min_periods)
    if flat.any():
        scale[flat] = _fallback_scale(values, window, median, flat)
    z = np.full_like(values, np.nan)
    usable = (count >= min_periods) & ~np.isnan(values)
    with np.errstate(over="ignore"):  # only near the float64 limits; dropped below
        np.divide(values - median, scale, out=z, where=usable)
    z[np.isinf(z)] = np.nan
    return z


def sorted_median_mad(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median, MAD and count of the non-missing values in rows ``t - window .. t - 1``.

    Each result is a (periods, entities) array; median and MAD are NaN where the window
    holds no value. Computed per block of entities: the windows of a block are copied
    into one reused buffer and sorted along their last axis (NaN sorts last), so the
    ``k``-th valid value is a positional lookup.
    """
    n_periods, n_entities = values.shape
    # Entities first, so each window is a short contiguous run in memory.
    padded = np.full((n_entities, window + n_periods), np.nan)
    padded[:, window:] = values.T
    seen = np.zeros((n_entities, window + n_periods + 1), dtype=np.int64)
    np.cumsum(~np.isnan(padded), axis=1, out=seen[:, 1:])
    count = seen[:, window : window + n_periods] - seen[:, :n_periods]
    windows = sliding_window_view(padded, window, axis=1)[:, :n_periods]

    median = np.empty((n_entities, n_periods))
    mad = np.empty((n_entities, n_periods))
    per_block = max(1, _BLOCK_ELEMENTS // max(1, n_periods * window))
    buffer = np.empty((min(per_block, n_entities), n_periods, window))
    deviations = np.empty_like(buffer)
    for start in range(0, n_entities, per_block):
        stop = min(n_entities, start + per_block)
        block = buffer[: stop - start]
        spread = deviations[: stop - start]
        np.copyto(block, windows[start:stop])
        block.sort(axis=-1)
        valid = count[start:stop]
        low = ((np.maximum(valid, 1) - 1) // 2)[..., None]
        high = (valid // 2).clip(max=window - 1)[..., None]
        middle = _midpoint(block, low, high)
        np.subtract(block, middle, out=spread)
        np.abs(spread, out=spread)
        spread.sort(axis=-1)
        median[start:stop] = middle[..., 0]
        mad[start:stop] = _midpoint(spread, low, high)[..., 0]
    return median.T, mad.T, count.T


def _midpoint(sorted_block: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The mean of the ``low``-th and ``high``-th values: a median when they straddle it."""
    middle: np.ndarray = 0.5 * (
        np.take_along_axis(sorted_block, low, axis=-1)
        + np.take_along_axis(sorted_block, high, axis=-1)
    )
    return middle


def _fallback_scale(
    values: np.ndarray, window: int, median: np.ndarray, flat: np.ndarray
) -> np.ndarray:
    """Scales for the ``flat`` cells (MAD of 0): mean absolute deviation, then a floor."""
    rows, cols = np.nonzero(flat)
    offsets = np.arange(-window, 0)
    positions = rows[:, None] + offsets  # the prior rows of each flat cell
    inside = positions >= 0
    prior = np.where(inside, values[positions.clip(min=0), cols[:, None]], np.nan)
    centre = median[rows, cols]
    deviation = np.abs(prior - centre[:, None])
    valid = ~np.isnan(deviation)
    mean_ad = np.where(valid, deviation, 0.0).sum(axis=1) / valid.sum(axis=1)
    floor = RELATIVE_SCALE_FLOOR * np.maximum(1.0, np.abs(centre))
    scale: np.ndarray = np.where(mean_ad > 0, MEAN_AD_TO_SIGMA * mean_ad, floor)
    return scale
