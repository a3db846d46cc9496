"""The two-sided CUSUM chart: small persistent deviations add up until they show."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.base import SIGNED, Detector
from models.checks import require_int, require_real
from models.errors import InvalidParameter
from models.series import check_transform, model_values, prior_count, prior_mean_std, safe_scale


class CusumDetector(Detector):
    """Self-starting two-sided tabular CUSUM of standardised values.

    Each value is standardised against the mean ``m`` and sample standard deviation
    ``s`` of the values before it (all of them, or the last ``baseline`` ones):
    ``u_t = (x_t - m) / s``, clipped to ``[-clip, clip]`` so that one wild value cannot
    hold the chart up for ever. The upper and lower sums are

        C+_t = max(0, C+_(t-1) + u_t - k),   C-_t = max(0, C-_(t-1) - u_t - k),

    starting at 0. The score is ``C+_t`` when it is the larger, else ``-C-_t``: positive
    for a run above the usual level, negative for a run below, 0 when neither has
    built up. ``k`` is the allowance (half the shift to detect, in standard deviations);
    the usual decision interval ``h`` (4 or 5) then becomes the cut-off of the warning
    levels. A missing value, or one with fewer than ``min_periods`` earlier values,
    scores NaN and leaves both sums unchanged. When ``s`` is 0 the scale falls back to
    ``1e-9 * max(1, |m|)``.

    Parameters
    ----------
    k : float
        The allowance, at least 0.
    clip : float
        Standardised values are clipped to this magnitude (greater than ``k``).
    baseline : int or None
        How many earlier periods give the in-control mean and spread (None: all).
    min_periods : int
        Earlier values needed before a value counts (at least 2).
    transform : {"level", "yoy", "pop"}
        Accumulate the level or its change in percent.
    frequency : {"M", "Q", "A"} or None
        The period frequency, or None for a stream of observations.

    Attributes
    ----------
    n_periods_ : int
        Number of periods of the history seen by ``fit``.
    entities_ : pandas.Index
        The entity columns of that history.

    Notes
    -----
    The chart compares a panel with itself, so it learns nothing at ``fit``: score a
    panel that includes the reference history. Each score rests on every earlier
    value (the recursion keeps no state between calls): :meth:`lookback` is None.
    """

    orientation = SIGNED

    def __init__(
        self,
        k: float = 0.5,
        clip: float = 4.0,
        baseline: int | None = None,
        min_periods: int = 8,
        transform: str = "level",
        frequency: str | None = "M",
    ) -> None:
        self.k = k
        self.clip = clip
        self.baseline = baseline
        self.min_periods = min_periods
        self.transform = transform
        self.frequency = frequency

    def validate(self) -> None:
        k = require_real("k", self.k, minimum=0.0)
        clip = require_real("clip", self.clip, minimum=0.0, strict_minimum=True)
        if clip <= k:
            raise InvalidParameter(f"clip ({clip}) must exceed k ({k})")
        min_periods = require_int("min_periods", self.min_periods, minimum=2)
        if self.baseline is not None:
            baseline = require_int("baseline", self.baseline, minimum=2)
            if min_periods > baseline:
                raise InvalidParameter(
                    f"min_periods ({min_periods}) cannot exceed baseline ({baseline})"
                )
        check_transform(self.transform, self.frequency)

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        values = model_values(frame, self.transform, self.frequency)
        standard = standardised(values, self.baseline, int(self.min_periods), float(self.clip))
        scores = cusum(standard, float(self.k))
        return pd.DataFrame(scores, index=frame.index, columns=frame.columns)


def standardised(
    values: np.ndarray, baseline: int | None, min_periods: int, clip: float
) -> np.ndarray:
    """``(x_t - m) / s`` against the earlier values, clipped; NaN where not scored."""
    mean, std = prior_mean_std(values, baseline)
    scale = safe_scale(std, mean)
    usable = (prior_count(values, baseline) >= min_periods) & ~np.isnan(values)
    standard = np.full_like(values, np.nan)
    with np.errstate(over="ignore"):
        np.divide(values - mean, scale, out=standard, where=usable)
    return np.clip(standard, -clip, clip)


def cusum(standard: np.ndarray, k: float) -> np.ndarray:
    """Signed two-sided CUSUM of standardised values; NaN rows carry the sums over.

    The recursion walks the periods with whole rows (every entity at once).
    """
    upper = np.zeros(standard.shape[1])
    lower = np.zeros(standard.shape[1])
    scores = np.full_like(standard, np.nan)
    for t, row in enumerate(standard):
        seen = ~np.isnan(row)
        step = np.where(seen, row, 0.0)
        upper = np.where(seen, np.maximum(0.0, upper + step - k), upper)
        lower = np.where(seen, np.maximum(0.0, lower - step - k), lower)
        scores[t] = np.where(seen, np.where(upper >= lower, upper, -lower), np.nan)
    return scores
