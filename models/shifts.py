"""Shift detectors: the recent window against the reference window just before it.

``LevelShiftDetector`` compares medians (a new level), ``VolatilityShiftDetector``
standard deviations (a calmer or wilder series). Both compare two adjacent trailing
windows, so they see a change as soon as it is in the recent window and forget it
once the reference window has absorbed it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.base import RISK, SIGNED, Detector
from models.checks import require_int
from models.errors import InvalidParameter
from models.robust_z import prior_median_mad
from models.series import (
    MAD_TO_SIGMA,
    check_transform,
    model_values,
    prior_count,
    prior_mean_std,
    safe_scale,
    shifted_down,
    trailing_stats,
)


def _check_windows(window: object, reference: object, min_periods: object) -> None:
    require_int("window", window, minimum=1)
    reference = require_int("reference", reference, minimum=2)
    min_periods = require_int("min_periods", min_periods, minimum=2)
    if min_periods > reference:
        raise InvalidParameter(f"min_periods ({min_periods}) cannot exceed reference ({reference})")


def reference_rows(array: np.ndarray, window: int) -> np.ndarray:
    """A statistic of the rows before ``t - window + 1`` moved to row ``t``.

    ``array[t]`` describes rows ending at ``t - 1``; the result at ``t`` describes rows
    ending at ``t - window``, the end of the reference window.
    """
    return shifted_down(array, window - 1)


class LevelShiftDetector(Detector):
    """How far the median of the recent ``window`` moved from the ``reference`` before it.

    ``score_t = median(x_(t-window+1) .. x_t) - median(the reference periods before)``,
    and with ``standardize`` divided by the reference's robust spread (1.4826 * MAD,
    else its standard deviation, else ``1e-9 * max(1, |median|)``), so it reads in
    standard deviations. Without ``standardize`` the score is in the indicator's units,
    e.g. "the 3-month median is 0.5 above the median of the 12 months before". Missing
    values are skipped inside the windows; the score is NaN where the value itself is
    missing or the reference holds fewer than ``min_periods`` values.

    Parameters
    ----------
    window : int
        Periods of the recent window (1 compares the value itself).
    reference : int
        Periods of the reference window just before it (at least 2).
    min_periods : int
        Values the reference needs (2 .. ``reference``).
    standardize : bool
        Divide by the reference's spread.
    transform : {"level", "yoy", "pop"}
        Compare the level or its change in percent.
    frequency : {"M", "Q", "A"} or None
        The period frequency, or None for a stream of observations.

    Attributes
    ----------
    n_periods_ : int
        Number of periods of the history seen by ``fit``.
    entities_ : pandas.Index
        The entity columns of that history.
    """

    orientation = SIGNED

    def __init__(
        self,
        window: int = 3,
        reference: int = 12,
        min_periods: int = 6,
        standardize: bool = True,
        transform: str = "level",
        frequency: str | None = "M",
    ) -> None:
        self.window = window
        self.reference = reference
        self.min_periods = min_periods
        self.standardize = standardize
        self.transform = transform
        self.frequency = frequency

    def validate(self) -> None:
        _check_windows(self.window, self.reference, self.min_periods)
        if not isinstance(self.standardize, bool):
            raise InvalidParameter(f"standardize must be True or False, got {self.standardize!r}")
        check_transform(self.transform, self.frequency)

    def lookback(self) -> int:
        """The recent and reference windows and the transform's lag."""
        return int(self.window) + int(self.reference) - 1 + self._transform_lag()

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        values = model_values(frame, self.transform, self.frequency)
        scores = level_shift(
            values,
            int(self.window),
            int(self.reference),
            int(self.min_periods),
            standardize=self.standardize,
        )
        return pd.DataFrame(scores, index=frame.index, columns=frame.columns)


def level_shift(
    values: np.ndarray, window: int, reference: int, min_periods: int, *, standardize: bool
) -> np.ndarray:
    """Level-shift scores of a (periods, entities) array; see :class:`LevelShiftDetector`."""
    padded = np.vstack([values, np.full((1, values.shape[1]), np.nan)])
    recent = prior_median_mad(padded, window)[0][1:]  # rows t - window + 1 .. t
    median, mad, count = prior_median_mad(values, reference)
    median, mad = reference_rows(median, window), reference_rows(mad, window)
    count = reference_rows(count.astype(np.float64), window)
    shift = recent - median
    usable = (count >= min_periods) & ~np.isnan(values)
    if standardize:
        _, std = prior_mean_std(values, reference)
        spread = np.where(mad > 0, MAD_TO_SIGMA * mad, reference_rows(std, window))
        with np.errstate(over="ignore"):
            shift = shift / safe_scale(spread, median)
    scores = np.where(usable, shift, np.nan)
    scores[np.isinf(scores)] = np.nan
    return scores


class VolatilityShiftDetector(Detector):
    """The log ratio of the recent standard deviation to the reference one before it.

    ``score_t = ln(s_recent / s_reference)``, the sample standard deviations of the
    present values in the last ``window`` periods and in the ``reference`` periods just
    before them: 0 for no change, ``ln 2 = 0.69`` for a doubled spread, negative for a
    calmer series. A deviation of 0 is replaced by ``1e-9 * max(1, |mean|)`` of its own
    window, so a flat stretch gives a very large but finite score. NaN where the value
    is missing, the recent window holds fewer than 2 values or the reference fewer
    than ``min_periods``.

    Parameters
    ----------
    window : int
        Periods of the recent window (at least 2).
    reference : int
        Periods of the reference window just before it (at least 2).
    min_periods : int
        Values the reference needs (2 .. ``reference``).
    transform : {"level", "yoy", "pop"}
        Compare the spread of the level or of its change in percent.
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
    A wilder series is the risk whichever way the indicator gets riskier, so the score
    is used as it is (``orientation`` "risk"), not turned by the direction.
    """

    orientation = RISK

    def __init__(
        self,
        window: int = 6,
        reference: int = 24,
        min_periods: int = 8,
        transform: str = "level",
        frequency: str | None = "M",
    ) -> None:
        self.window = window
        self.reference = reference
        self.min_periods = min_periods
        self.transform = transform
        self.frequency = frequency

    def validate(self) -> None:
        require_int("window", self.window, minimum=2)
        _check_windows(self.window, self.reference, self.min_periods)
        check_transform(self.transform, self.frequency)

    def lookback(self) -> int:
        """The recent and reference windows and the transform's lag."""
        return int(self.window) + int(self.reference) - 1 + self._transform_lag()

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        values = model_values(frame, self.transform, self.frequency)
        scores = volatility_shift(
            values, int(self.window), int(self.reference), int(self.min_periods)
        )
        return pd.DataFrame(scores, index=frame.index, columns=frame.columns)


def volatility_shift(
    values: np.ndarray, window: int, reference: int, min_periods: int
) -> np.ndarray:
    """Volatility-shift scores of a (periods, entities) array; see the detector."""
    _, recent_mean, recent_std = trailing_stats(values, window)
    mean, std = prior_mean_std(values, reference)
    ref_mean, ref_std = reference_rows(mean, window), reference_rows(std, window)
    count = reference_rows(prior_count(values, reference).astype(np.float64), window)
    usable = (count >= min_periods) & ~np.isnan(values) & ~np.isnan(recent_std)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = safe_scale(recent_std, recent_mean) / safe_scale(ref_std, ref_mean)
        scores = np.where(usable, np.log(ratio), np.nan)
    scores[np.isinf(scores)] = np.nan
    return scores
