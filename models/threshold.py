"""The fixed-threshold model: the four-colour cut-offs apply to the (transformed) value."""

from __future__ import annotations

import pandas as pd

from models.base import Detector
from models.transforms import apply_transform, transform_lag


class ThresholdDetector(Detector):
    """Score each value as itself, or as its year-on-year / period-on-period change.

    The score is the number the threshold's cut-offs are compared with (see
    :func:`models.levels.to_levels`); this model learns nothing from history, but it is
    fitted like any other so callers treat every model alike.

    Parameters
    ----------
    transform : {"level", "yoy", "pop"}
        Compare the level itself or its change in percent (see
        :func:`models.transforms.apply_transform`).
    frequency : {"M", "Q", "A"}
        The period frequency of the panels, which sets the year-on-year lag.

    Attributes
    ----------
    n_periods_ : int
        Number of periods of the history seen by ``fit``.
    entities_ : pandas.Index
        The entity columns of that history.
    """

    def __init__(self, transform: str = "level", frequency: str = "M") -> None:
        self.transform = transform
        self.frequency = frequency

    def validate(self) -> None:
        transform_lag(self.transform, self.frequency)

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        return apply_transform(frame, self.transform, self.frequency)
