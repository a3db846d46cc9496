"""The seasonal residual: each value against what the season usually does from the last one."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.base import SIGNED, Detector
from models.checks import require_int
from models.errors import InvalidParameter
from models.robust_z import robust_z_scores
from models.series import (
    check_transform,
    model_values,
    nan_median,
    season_length,
    shifted_down,
)


class SeasonalDetector(Detector):
    """Robust z-score of the residual from a seasonal naive forecast.

    The forecast of ``x_t`` is the previous value plus the usual step into this season:

        x^_t = x_(t-1) + median_j (x_(t-j*P) - x_(t-1-j*P)),   j = 1 .. cycles,

    the median taken over the steps that are present. Taking the step rather than the
    level of earlier years keeps a trend out of the residual ``r_t = x_t - x^_t``. The
    score is the robust z-score of ``r_t`` against the ``window`` residuals before it
    (median and MAD, see :class:`models.robust_z.RobustZDetector`). With ``P = 1`` the
    forecast is the last value plus the median of the last ``cycles`` changes (a drift
    model), which is what annual data and streams get by default. The score is NaN
    where the value, the previous value or every earlier step is missing, or fewer than
    ``min_periods`` earlier residuals exist.

    Parameters
    ----------
    period : int or None
        The season length in periods (None: 12 for "M", 4 for "Q", 1 for "A" and for
        a stream).
    cycles : int
        How many earlier seasons vote on the usual step.
    window : int
        How many earlier residuals give the median and MAD (at least 2).
    min_periods : int
        Earlier residuals needed for a score (2 .. ``window``).
    transform : {"level", "yoy", "pop"}
        Forecast the level or its change in percent.
    frequency : {"M", "Q", "A"} or None
        The period frequency, or None for a stream of observations.

    Attributes
    ----------
    n_periods_ : int
        Number of periods of the history seen by ``fit``.
    entities_ : pandas.Index
        The entity columns of that history.
    period_ : int
        The season length used.
    """

    orientation = SIGNED

    def __init__(
        self,
        period: int | None = None,
        cycles: int = 3,
        window: int = 24,
        min_periods: int = 8,
        transform: str = "level",
        frequency: str | None = "M",
    ) -> None:
        self.period = period
        self.cycles = cycles
        self.window = window
        self.min_periods = min_periods
        self.transform = transform
        self.frequency = frequency

    def validate(self) -> None:
        if self.period is not None:
            require_int("period", self.period, minimum=1)
        require_int("cycles", self.cycles, minimum=1)
        window = require_int("window", self.window, minimum=2)
        min_periods = require_int("min_periods", self.min_periods, minimum=2)
        if min_periods > window:
            raise InvalidParameter(f"min_periods ({min_periods}) cannot exceed window ({window})")
        check_transform(self.transform, self.frequency)

    def _fit(self, history: pd.DataFrame) -> None:
        self.period_ = season_length(self.period, self.frequency)

    def lookback(self) -> int:
        """The residual window, the seasons voting on the step, and the transform's lag."""
        period = season_length(self.period, self.frequency)
        return int(self.window) + int(self.cycles) * period + 1 + self._transform_lag()

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        values = model_values(frame, self.transform, self.frequency)
        period = season_length(self.period, self.frequency)
        residual = seasonal_residual(values, period, int(self.cycles))
        scores = robust_z_scores(residual, int(self.window), int(self.min_periods))
        return pd.DataFrame(scores, index=frame.index, columns=frame.columns)


def seasonal_residual(values: np.ndarray, period: int, cycles: int) -> np.ndarray:
    """``x_t`` minus the seasonal naive forecast; see :class:`SeasonalDetector`."""
    change = values - shifted_down(values, 1)
    steps = np.stack([shifted_down(change, j * period) for j in range(1, cycles + 1)], axis=-1)
    usual_step, _ = nan_median(steps)
    return values - (shifted_down(values, 1) + usual_step)
