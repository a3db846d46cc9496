"""Calibrations: put the scores of different models on a common, comparable scale.

A z-score of 4, a CUSUM of 4 and a pattern distance of 4 kg mean different things. A
calibration re-reads each series of scores against its own past, causally (the value
at ``t`` uses scores up to ``t``), so that scores of different models, indicators and
entities can be compared and combined (see :mod:`models.ensemble`):

* :class:`TailProbability` — how rare the score is among the earlier scores of the
  series: ``-log10`` of its empirical tail probability (1 = one in ten, 3 = one in a
  thousand).
* :class:`EnvelopeExceedance` — how far the score lies beyond the envelope (the
  running minimum .. maximum) of the earlier scores, as a fraction of the envelope's
  width; 0 inside it. Only records count, and a record counts by its margin.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import pandas as pd

from models.checks import require_choice, require_int
from models.errors import InvalidParameter
from models.panel import as_panel
from models.series import (
    RELATIVE_SCALE_FLOOR,
    SIDES,
    prior_count,
    shifted_down,
    trailing_extreme,
)


class Calibration(ABC):
    """Base calibration: constructor arguments are its parameters, as for detectors."""

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        """The names of the constructor's parameters, in signature order."""
        signature = inspect.signature(cls.__init__)
        return tuple(name for name in signature.parameters if name != "self")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The calibration's parameters as a dict."""
        return {name: getattr(self, name) for name in self.param_names()}

    def calibrate(self, scores: pd.DataFrame) -> pd.DataFrame:
        """The calibrated scores: a float frame of the same shape, NaN where undefined."""
        self.validate()
        panel = as_panel(scores, name="scores")
        calibrated = self._calibrate(panel.to_numpy())
        return pd.DataFrame(calibrated, index=panel.index, columns=panel.columns)

    @abstractmethod
    def validate(self) -> None:
        """Raise ``InvalidParameter`` if a parameter is not valid."""

    @abstractmethod
    def _calibrate(self, values: np.ndarray) -> np.ndarray:
        """Calibrate a (periods, series) float array."""

    def __repr__(self) -> str:
        params = ", ".join(f"{name}={value!r}" for name, value in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_params() == self.get_params()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(self.get_params().items())))


def _check_memory(memory: object, min_periods: object) -> None:
    minimum = require_int("min_periods", min_periods, minimum=1)
    if memory is not None:
        length = require_int("memory", memory, minimum=1)
        if minimum > length:
            raise InvalidParameter(f"min_periods ({minimum}) cannot exceed memory ({length})")


def _oriented(values: np.ndarray, side: str) -> np.ndarray:
    """The scores turned so that larger is more anomalous: ``-x`` for down, ``|x|`` for both."""
    if side == "down":
        return -values
    if side == "both":
        return np.abs(values)
    return values


class TailProbability(Calibration):
    """``-log10`` of the causal empirical tail probability of each score.

    ``p_t = (1 + #{s earlier: y_s >= y_t}) / (1 + #{s earlier})`` over the non-missing
    scores of the last ``memory`` periods (None: all), where ``y`` is the score turned
    by ``side`` (``up``: large is rare, ``down``: small is rare, ``both``: large
    ``|score|`` is rare). The result is ``-log10 p_t``: near 0 for an ordinary score, at most
    ``log10(1 + n)`` for a record among ``n`` earlier scores. NaN where the score is
    missing or fewer than ``min_periods`` earlier scores exist.

    Parameters
    ----------
    memory : int or None
        How many earlier periods a score is ranked among (None: all).
    side : {"up", "down", "both"}
        Which scores are rare.
    min_periods : int
        Earlier scores needed (1 .. ``memory``).
    """

    def __init__(self, memory: int | None = None, side: str = "up", min_periods: int = 8) -> None:
        self.memory = memory
        self.side = side
        self.min_periods = min_periods

    def validate(self) -> None:
        _check_memory(self.memory, self.min_periods)
        require_choice("side", self.side, SIDES)

    def _calibrate(self, values: np.ndarray) -> np.ndarray:
        oriented = _oriented(values, self.side)
        memory = None if self.memory is None else int(self.memory)
        last_lag = len(oriented) - 1 if memory is None else min(memory, len(oriented) - 1)
        present = ~np.isnan(oriented)
        earlier = prior_count(oriented, memory)
        at_least = np.zeros(oriented.shape, dtype=np.int64)
        # One vectorised pass per lag: compare every score with the one `lag` rows back.
        for lag in range(1, last_lag + 1):
            at_least[lag:] += oriented[:-lag] >= oriented[lag:]
        surprise = np.full(oriented.shape, np.nan)
        usable = present & (earlier >= int(self.min_periods))
        surprise[usable] = np.log10((1.0 + earlier[usable]) / (1.0 + at_least[usable]))
        return surprise


class EnvelopeExceedance(Calibration):
    """How far each score lies beyond the envelope of the earlier ones, per envelope width.

    The envelope is ``[lo, hi]``, the minimum and maximum of the non-missing scores of
    the last ``memory`` periods before ``t`` (None: all earlier periods). For
    ``side="both"`` the result is ``max(y - hi, lo - y) / (hi - lo)``, for ``"up"``
    ``(y - hi) / (hi - lo)`` and for ``"down"`` ``(lo - y) / (hi - lo)``, floored at 0:
    0 inside the envelope, 1 for a record that extends it by its own width. A flat
    envelope (``hi == lo``) has width ``1e-9 * max(1, |hi|)``, so leaving it scores
    very high but finite. NaN where the score is missing or fewer than ``min_periods``
    earlier scores exist.

    This reads "beyond anything seen before", the test a streaming monitor needs: a
    value that keeps recurring widens the envelope and stops counting, a new extreme
    counts at once and in proportion to its margin.

    Parameters
    ----------
    memory : int or None
        How many earlier periods form the envelope (None: all).
    side : {"up", "down", "both"}
        Which edges count.
    min_periods : int
        Earlier scores needed (1 .. ``memory``).
    """

    def __init__(self, memory: int | None = None, side: str = "both", min_periods: int = 2) -> None:
        self.memory = memory
        self.side = side
        self.min_periods = min_periods

    def validate(self) -> None:
        _check_memory(self.memory, self.min_periods)
        require_choice("side", self.side, SIDES)

    def _calibrate(self, values: np.ndarray) -> np.ndarray:
        memory = None if self.memory is None else int(self.memory)
        high = shifted_down(trailing_extreme(values, memory, np.fmax))
        low = shifted_down(trailing_extreme(values, memory, np.fmin))
        present = ~np.isnan(values)
        earlier = prior_count(values, memory)
        width = high - low
        floor = RELATIVE_SCALE_FLOOR * np.maximum(1.0, np.maximum(np.abs(high), np.abs(low)))
        width = np.where(width > 0, width, floor)
        above, below = values - high, low - values
        if self.side == "up":
            margin = above
        elif self.side == "down":
            margin = below
        else:
            margin = np.fmax(above, below)
        exceed = np.full(values.shape, np.nan)
        usable = present & (earlier >= int(self.min_periods))
        with np.errstate(over="ignore"):
            np.divide(np.maximum(margin, 0.0), width, out=exceed, where=usable)
        exceed[np.isinf(exceed)] = np.nan
        return exceed


#: Calibrations by name, for configuration.
CALIBRATIONS: dict[str, type[Calibration]] = {
    "tail": TailProbability,
    "envelope": EnvelopeExceedance,
}
