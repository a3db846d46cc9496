"""Whether four-colour cut-offs and a clearing level make sense for a direction.

For ``up`` the cut-offs must rise from blue to red and the clearing level sit at or
below blue; for ``down`` they must fall and the clearing level sit at or above blue;
for ``both`` (absolute values) they must rise from a non-negative blue, with the
clearing level between 0 and blue. A group row without a direction serves indicators
of either direction, so its cut-offs may run either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from flask_babel import gettext

from monitor.vocabulary import Direction


def _rising(values: Sequence[float]) -> bool:
    return all(low < high for low, high in pairwise(values))


def _falling(values: Sequence[float]) -> bool:
    return all(high > low for high, low in pairwise(values))


def cutoff_problems(
    direction: str | None, cutoffs: Sequence[float], clear: float | None
) -> list[str]:
    """Translated reasons why ``cutoffs`` (blue, yellow, orange, red) and ``clear`` don't fit."""
    blue = cutoffs[0]
    if direction == Direction.UP or (direction is None and _rising(cutoffs)):
        if not _rising(cutoffs):
            return [gettext("For “higher is riskier” the cut-offs must rise from blue to red.")]
        if clear is not None and clear > blue:
            return [gettext("The clearing level must not be above the blue cut-off.")]
        return []
    if direction == Direction.DOWN or direction is None:
        if not _falling(cutoffs):
            if direction is None:
                return [gettext("The cut-offs must rise or fall steadily from blue to red.")]
            return [gettext("For “lower is riskier” the cut-offs must fall from blue to red.")]
        if clear is not None and clear < blue:
            return [gettext("The clearing level must not be below the blue cut-off.")]
        return []
    if not _rising(cutoffs) or blue < 0:
        return [gettext("For both directions the cut-offs must be at least 0 and rise to red.")]
    if clear is not None and not 0 <= clear <= blue:
        return [gettext("The clearing level must lie between 0 and the blue cut-off.")]
    return []
