"""The robust z-score: how unusual a value is against the median and MAD before it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.base import SIGNED, Detector
from models.checks import require_int
from models.entity_rows import entity_rows
from models.errors import InvalidParameter
from models.panel import check_regular
from models.parallel import launch
from models.robust_window import median_mad_rows, robust_z_rows
from models.series import MAD_TO_SIGMA, MEAN_AD_TO_SIGMA, RELATIVE_SCALE_FLOOR
from models.transforms import transform_lag, transform_values

__all__ = [
    "MAD_TO_SIGMA",
    "MEAN_AD_TO_SIGMA",
    "RELATIVE_SCALE_FLOOR",
    "RobustZDetector",
    "prior_median_mad",
    "robust_z_scores",
]


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

    orientation = SIGNED

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

    def lookback(self) -> int:
        """The window and the transform's lag."""
        return int(self.window) + self._transform_lag()

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        check_regular(frame.index, self.frequency)
        values = transform_values(frame.to_numpy(), self.transform, self.frequency)
        z = robust_z_scores(values, int(self.window), int(self.min_periods))
        return pd.DataFrame(z, index=frame.index, columns=frame.columns, copy=False)


def robust_z_scores(values: np.ndarray, window: int, min_periods: int) -> np.ndarray:
    """Robust z-scores of a (periods, entities) float array; see :class:`RobustZDetector`.

    Values must be finite or NaN. The result is in Fortran order (each entity's periods
    contiguous), the layout of a DataFrame's block, so framing it copies nothing.
    """
    rows = entity_rows(values)
    z = np.empty(rows.shape)
    launch(robust_z_rows, rows, int(window), int(min_periods), z)
    return z.T


def prior_median_mad(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median, MAD and count of the non-missing values in rows ``t - window .. t - 1``.

    Each result is a (periods, entities) array; median and MAD are NaN where the window
    holds no value. Values must be finite or NaN.
    """
    rows = entity_rows(values)
    median, mad = np.empty(rows.shape), np.empty(rows.shape)
    count = np.empty(rows.shape, dtype=np.int64)
    launch(median_mad_rows, rows, int(window), median, mad, count)
    return median.T, mad.T, count.T
