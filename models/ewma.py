"""The EWMA control chart: a smoothed level against the mean and spread before it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.base import SIGNED, Detector
from models.checks import require_int, require_real
from models.errors import InvalidParameter
from models.series import check_transform, model_values, prior_count, prior_mean_std, safe_scale


class EwmaDetector(Detector):
    """Self-starting EWMA chart: how many standard errors the smoothed level has moved.

    The smoothed level is ``z_t = alpha * x_t + (1 - alpha) * z_(t-1)``, starting at the
    first value; a missing value leaves it unchanged. The score compares it with the
    mean ``m`` and sample standard deviation ``s`` of the values *before* ``t`` (all of
    them, or the last ``baseline`` ones):

        score_t = (z_t - m) / (s * sqrt(f_k)),
        f_k = (1 - alpha)^(2k) + alpha / (2 - alpha) * (1 - (1 - alpha)^(2k)),

    where ``k`` is the number of values smoothed before ``x_t``, so ``s * sqrt(f_k)`` is
    the standard error of ``z_t`` for in-control data. A small ``alpha`` detects small
    sustained shifts, ``alpha = 1`` is a plain z-score of each value. When ``s`` is 0 the
    scale falls back to ``1e-9 * max(1, |m|)``. Without ``standardize`` the score is the
    smoothed level ``z_t`` itself, in the indicator's units, for rules such as "the
    smoothed level above 80" or a calibration that judges it against its own past. The
    score is NaN where the value is missing or fewer than ``min_periods`` earlier values
    exist; positive means above the usual level.

    Parameters
    ----------
    alpha : float
        The smoothing weight of the newest value, in (0, 1].
    baseline : int or None
        How many earlier periods give the in-control mean and spread (None: all).
    min_periods : int
        Earlier values needed before scoring (at least 2).
    standardize : bool
        Report the chart statistic (True) or the smoothed level (False).
    transform : {"level", "yoy", "pop"}
        Score the level or its change in percent.
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
        alpha: float = 0.2,
        baseline: int | None = None,
        min_periods: int = 8,
        standardize: bool = True,
        transform: str = "level",
        frequency: str | None = "M",
    ) -> None:
        self.alpha = alpha
        self.baseline = baseline
        self.min_periods = min_periods
        self.standardize = standardize
        self.transform = transform
        self.frequency = frequency

    def validate(self) -> None:
        require_real("alpha", self.alpha, minimum=0.0, maximum=1.0, strict_minimum=True)
        min_periods = require_int("min_periods", self.min_periods, minimum=2)
        if self.baseline is not None:
            baseline = require_int("baseline", self.baseline, minimum=2)
            if min_periods > baseline:
                raise InvalidParameter(
                    f"min_periods ({min_periods}) cannot exceed baseline ({baseline})"
                )
        if not isinstance(self.standardize, bool):
            raise InvalidParameter(f"standardize must be True or False, got {self.standardize!r}")
        check_transform(self.transform, self.frequency)

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        values = model_values(frame, self.transform, self.frequency)
        scores = ewma_chart(
            values,
            float(self.alpha),
            self.baseline,
            int(self.min_periods),
            standardize=self.standardize,
        )
        return pd.DataFrame(scores, index=frame.index, columns=frame.columns)


def ewma_level(values: np.ndarray, alpha: float) -> np.ndarray:
    """The smoothed level of each column; missing values leave it unchanged.

    NaN before a column's first value.
    """
    smoothed = pd.DataFrame(values).ewm(alpha=alpha, adjust=False, ignore_na=True).mean()
    return smoothed.to_numpy(dtype=np.float64)


def ewma_chart(
    values: np.ndarray,
    alpha: float,
    baseline: int | None,
    min_periods: int,
    *,
    standardize: bool = True,
) -> np.ndarray:
    """EWMA chart scores of a (periods, entities) array; see :class:`EwmaDetector`."""
    level = ewma_level(values, alpha)
    usable = (prior_count(values, baseline) >= min_periods) & ~np.isnan(values)
    if not standardize:
        return np.where(usable, level, np.nan)
    mean, std = prior_mean_std(values, baseline)
    earlier = prior_count(values, None)  # values smoothed before this one
    decay = (1.0 - alpha) ** (2.0 * earlier)
    factor = decay + alpha / (2.0 - alpha) * (1.0 - decay)
    scale = safe_scale(std * np.sqrt(factor), mean)
    scores = np.full_like(values, np.nan)
    with np.errstate(over="ignore"):  # only near the float64 limits; dropped below
        np.divide(level - mean, scale, out=scores, where=usable)
    scores[np.isinf(scores)] = np.nan
    return scores
