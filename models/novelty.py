"""Pattern novelty: how far the latest stretch of a series is from anything seen before.

This is the causal ("left") matrix profile of time-series data mining: for every
period, the distance from the subsequence that ends there to its nearest neighbour
among the earlier subsequences. A repeated pattern, however extreme, finds a close
neighbour; a shape never seen before does not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.base import RISK, Detector
from models.checks import require_int
from models.errors import InvalidParameter
from models.series import check_transform, model_values


class NoveltyDetector(Detector):
    """Distance from the last ``length`` values to the most similar earlier stretch.

    ``score_t = min_L sqrt(mean_i (x_(t-i) - x_(t-L-i))^2)``, ``i = 0 .. length-1``,
    over the lags ``L`` from ``exclusion`` to ``memory``: the root-mean-square gap, in
    the indicator's units, to the nearest earlier subsequence. A lag below ``length``
    would compare a stretch with an overlapping copy of itself, hence the default
    exclusion of ``length``. Only complete stretches take part: the score is NaN where
    the latest ``length`` values are not all present or no complete earlier stretch
    exists within ``memory``. The score is never negative; 0 means an exact repeat.

    Parameters
    ----------
    length : int
        Periods per stretch (1 compares single values).
    memory : int
        How many periods back the neighbours may start (at least ``exclusion``).
    exclusion : int or None
        The smallest lag compared (None: ``length``).
    transform : {"level", "yoy", "pop"}
        Compare stretches of the level or of its change in percent.
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
    The work grows with ``memory`` x periods x entities: one vectorised pass per lag.
    """

    orientation = RISK

    def __init__(
        self,
        length: int = 3,
        memory: int = 120,
        exclusion: int | None = None,
        transform: str = "level",
        frequency: str | None = "M",
    ) -> None:
        self.length = length
        self.memory = memory
        self.exclusion = exclusion
        self.transform = transform
        self.frequency = frequency

    def validate(self) -> None:
        length = require_int("length", self.length, minimum=1)
        exclusion = length
        if self.exclusion is not None:
            exclusion = require_int("exclusion", self.exclusion, minimum=1)
        memory = require_int("memory", self.memory, minimum=1)
        if memory < exclusion:
            raise InvalidParameter(f"memory ({memory}) cannot be below the exclusion ({exclusion})")
        check_transform(self.transform, self.frequency)

    def lookback(self) -> int:
        """The farthest neighbour's start and the transform's lag."""
        return int(self.memory) + int(self.length) - 1 + self._transform_lag()

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        values = model_values(frame, self.transform, self.frequency)
        length = int(self.length)
        exclusion = length if self.exclusion is None else int(self.exclusion)
        scores = nearest_distance(values, length, exclusion, int(self.memory))
        return pd.DataFrame(scores, index=frame.index, columns=frame.columns)


def nearest_distance(values: np.ndarray, length: int, exclusion: int, memory: int) -> np.ndarray:
    """RMS distance of each stretch to its nearest earlier one; see :class:`NoveltyDetector`.

    For a lag ``L`` the squared gaps ``(x_t - x_(t-L))^2`` summed over ``length``
    consecutive rows give the distance between the stretches ending at ``t`` and
    ``t - L``; a running sum makes that one pass per lag over all rows and entities.
    Two stretches take part when both are complete, which is known once per stretch.
    """
    n_periods, n_entities = values.shape
    best = np.full((n_periods, n_entities), np.inf)
    present = ~np.isnan(values)
    # Gaps are masked below; filling them with a neighbouring value keeps the running
    # sums of squared gaps small, and so precise.
    filled = pd.DataFrame(values).ffill().bfill().fillna(0.0).to_numpy(np.float64)
    # complete[r]: the stretch of rows r .. r + length - 1 has every value
    complete = _window_sums(present.astype(np.float64), length) == length
    last_lag = min(memory, n_periods - length)
    for lag in range(exclusion, last_lag + 1):
        gaps = filled[lag:] - filled[:-lag]
        total = _window_sums(gaps * gaps, length)  # stretches starting at r + lag and r
        usable = complete[lag:] & complete[: len(complete) - lag]
        ends = best[lag + length - 1 :]
        np.minimum(ends, np.where(usable, total, np.inf), out=ends)
    distance = np.sqrt(np.maximum(best, 0.0) / length)
    distance[np.isinf(distance)] = np.nan
    return distance


def _window_sums(array: np.ndarray, length: int) -> np.ndarray:
    """Sums of ``length`` consecutive rows: row ``r`` sums rows ``r .. r + length - 1``."""
    running = np.cumsum(array, axis=0)
    sums = running[length - 1 :].copy()
    sums[1:] -= running[: len(running) - length]
    return sums
