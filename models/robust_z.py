"""The robust z-score: how unusual a value is against the median and MAD before it."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from models.base import Detector
from models.checks import require_int
from models.errors import InvalidParameter
from models.panel import check_regular
from models.transforms import apply_transform, transform_lag

#: 1.4826 * MAD estimates the standard deviation of normal data.
MAD_TO_SIGMA = 1.4826
#: sqrt(pi / 2) * mean absolute deviation estimates it too: the fallback when MAD is 0.
MEAN_AD_TO_SIGMA = 1.2533
#: Last-resort scale, relative to max(1, |median|), when every prior value is the same.
RELATIVE_SCALE_FLOOR = 1e-9
# Elements of one (entities, periods, window) block: bounds memory, keeps it in cache.
_BLOCK_ELEMENTS = 1 << 18


class RobustZDetector(Detector):
    """Robust z-score of each value against the ``window`` periods before it.

    ``z_t = (x_t - median) / scale`` where the median and the scale come from rows
    ``t - window .. t - 1`` (missing values skipped): the current value is left out so
    an outlier cannot mask itself. The scale is ``1.4826 * MAD``; when the MAD is 0
    (more than half of the prior values are equal) it falls back to
    ``1.2533 * mean |x - median|`` (the modified z-score convention), and when that is 0
    too (every prior value is the same) to ``1e-9 * max(1, |median|)``, so a value that
    leaves a flat history scores very high but finite and an unchanged one scores 0.
    The score is NaN while fewer than ``min_periods`` prior values exist and where the
    value itself is missing. Positive means above the usual level.

    Parameters
    ----------
    window : int
        How many prior periods form the reference (at least 2).
    min_periods : int
        How many non-missing values the window needs for a score (2 .. ``window``).
    transform : {"level", "yoy", "pop"}
        Score the level or its change in percent (see
        :func:`models.transforms.apply_transform`).
    frequency : {"M", "Q", "A"}
        The period frequency of the panels.

    Attributes
    ----------
    n_periods_ : int
        Number of periods of the history seen by ``fit``.
    entities_ : pandas.Index
        The entity columns of that history.

    Notes
    -----
    The model compares a panel with itself, so it learns nothing at ``fit``: score a
    panel that includes the reference history.
    """

    def __init__(
        self,
        window: int = 24,
        min_periods: int = 8,
        transform: str = "level",
        frequency: str = "M",
    ) -> None:
        self.window = window
        self.min_periods = min_periods
        self.transform = transform
        self.frequency = frequency

    def validate(self) -> None:
        window = require_int("window", self.window, minimum=2)
        min_periods = require_int("min_periods", self.min_periods, minimum=2)
        if min_periods > window:
            raise InvalidParameter(f"min_periods ({min_periods}) cannot exceed window ({window})")
        transform_lag(self.transform, self.frequency)

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        check_regular(frame.index, self.frequency)
        values = apply_transform(frame, self.transform, self.frequency).to_numpy()
        z = robust_z_scores(values, int(self.window), int(self.min_periods))
        return pd.DataFrame(z, index=frame.index, columns=frame.columns)


def robust_z_scores(values: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """Robust z-scores of a (periods, entities) float array; see :class:`RobustZDetector`."""
    median, mad, count = prior_median_mad(values, window)
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


def prior_median_mad(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
