"""The fixed-threshold model: the four-colour cut-offs apply to the (transformed) value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from models.base import VALUE, Detector
from models.errors import InvalidParameter
from models.panel import check_regular
from models.rules import apply_steps, parse_steps, totals_needed
from models.transforms import transform_lag, transform_values


class ThresholdDetector(Detector):
    """Score each value as itself, its change, or a chain of rule steps over it.

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
    steps : list, optional
        Rule steps applied after ``transform``, in configuration form (see
        :mod:`models.rules`), e.g. ``[{"ma": 3}, {"rise_from_low": 12}]``. A
        ``share_of`` step can only divide by the panel's own ``sum`` here: a named
        total is not part of the panel a detector scores.

    Attributes
    ----------
    n_periods_ : int
        Number of periods of the history seen by ``fit``.
    entities_ : pandas.Index
        The entity columns of that history.
    """

    orientation = VALUE

    def __init__(
        self,
        transform: str = "level",
        frequency: str = "M",
        steps: Sequence[str | dict[str, Any]] | None = None,
    ) -> None:
        self.transform = transform
        self.frequency = frequency
        self.steps = steps

    def validate(self) -> None:
        transform_lag(self.transform, self.frequency)
        named = totals_needed(parse_steps(self.steps))
        if named:
            raise InvalidParameter(
                f"a detector's share_of step can only use 'sum', not {', '.join(named)}; "
                f"evaluate the rule with models.rules.apply_steps(..., totals=...)"
            )

    def lookback(self) -> int:
        """The transform's lag plus each step's: a window (``ma`` one less), a lag."""
        total = self._transform_lag()
        for step in parse_steps(self.steps):
            if step.kind in ("yoy", "pop"):
                total += transform_lag(step.kind, self.frequency)
            elif step.window is not None:
                total += step.window - 1 if step.kind == "ma" else step.window
        return total

    def _score(self, frame: pd.DataFrame) -> pd.DataFrame:
        if transform_lag(self.transform, self.frequency):
            check_regular(frame.index, self.frequency)
        values = transform_values(frame.to_numpy(), self.transform, self.frequency)
        transformed = pd.DataFrame(values, index=frame.index, columns=frame.columns, copy=False)
        steps = parse_steps(self.steps)
        return apply_steps(transformed, steps, self.frequency) if steps else transformed
