"""The decision layer: cut scores into the four warning colours.

Codes are small integers, one per period and entity: 0 normal, 1 blue (IV),
2 yellow (III), 3 orange (II), 4 red (I, most severe).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from models.checks import require_choice, require_int, require_real
from models.entity_rows import entity_rows
from models.errors import InvalidInput, InvalidParameter
from models.level_walk import BOTH, DOWN, UP, cutoff_rows, level_code_rows
from models.panel import as_panel, check_index
from models.parallel import launch

#: Names of the codes 0..4, mildest first.
SEVERITY_NAMES: tuple[str, ...] = ("normal", "blue", "yellow", "orange", "red")
#: Which way a score gets riskier (the same strings as ``Direction``).
DIRECTIONS: tuple[str, ...] = ("up", "down", "both")
_DIRECTION_CODES = {"up": UP, "down": DOWN, "both": BOTH}


def to_levels(
    scores: pd.DataFrame,
    cutoffs: Sequence[float],
    direction: str,
    *,
    clear: float | None = None,
    min_periods: int = 1,
    of_last: int | None = None,
) -> pd.DataFrame:
    """Colour codes (int8, 0..4) of a score panel, with persistence and hysteresis.

    Parameters
    ----------
    scores : DataFrame
        Periods x entities scores, e.g. a detector's output.
    cutoffs : sequence of 4 floats
        The blue, yellow, orange and red cut-offs. ``up``: ascending, a score at or
        above a cut-off reaches it; ``down``: descending, at or below; ``both``:
        positive and ascending, compared with ``|score|``.
    direction : {"up", "down", "both"}
        Which way the score gets riskier.
    clear : float, optional
        The clearing level: once a series is coloured it stays at least blue until the
        score gets back past ``clear`` (``up``: below it, ``down``: above it, ``both``:
        ``|score|`` below it). It must lie on the normal side of the blue cut-off;
        ``None`` means the blue cut-off itself (no hysteresis).
    min_periods : int
        A series is coloured only after breaching the blue cut-off for this many
        consecutive periods; from then on its code is the colour it reaches.
    of_last : int, optional
        "N of the last M" confirmation: with ``of_last`` = M, a series is coloured in a
        breaching period once ``min_periods`` (N) of its last M observed periods,
        that one included, breached the blue cut-off; ``None`` asks for N in a row.

    Returns
    -------
    DataFrame of int8 codes, same shape as ``scores``.

    Notes
    -----
    A missing score (NaN) is "no information": the period repeats the previous code
    (0 if nothing was on), and the run of breaches counted for ``min_periods`` neither
    grows nor breaks, so a gap in the data neither raises nor clears a warning; with
    ``of_last`` the last M periods are the last M with a score. The code at ``t``
    depends on scores up to ``t`` only.
    """
    panel = as_panel(scores, name="scores")
    codes = level_codes(
        panel.to_numpy(), cutoffs, direction, clear=clear, min_periods=min_periods, of_last=of_last
    )
    return pd.DataFrame(codes, index=panel.index, columns=panel.columns, copy=False)


def level_codes(
    scores: np.ndarray,
    cutoffs: Sequence[float],
    direction: str,
    *,
    clear: float | None = None,
    min_periods: int = 1,
    of_last: int | None = None,
) -> np.ndarray:
    """:func:`to_levels` of a (periods, entities) float64 array: int8 codes, same shape.

    For a caller holding a model's scores as an array (no frame to validate or copy);
    a non-finite score counts as missing, as in a validated panel.
    """
    checked = _check_cutoffs(cutoffs, direction)
    clearing = checked[0] if clear is None else _check_clear(clear, checked[0], direction)
    persistence, window = _check_confirmation(min_periods, of_last)
    rows = entity_rows(scores)
    codes = np.empty(rows.shape, dtype=np.int8)
    launch(
        level_code_rows,
        rows,
        np.asarray(checked, dtype=np.float64),
        _DIRECTION_CODES[direction],
        float(clearing),
        persistence,
        0 if window is None else window,
        codes,
    )
    return codes.T


def check_decision(
    cutoffs: Sequence[float],
    direction: str,
    *,
    clear: float | None = None,
    min_periods: int = 1,
    of_last: int | None = None,
) -> None:
    """Raise ``InvalidParameter`` unless :func:`to_levels` accepts these settings.

    For checking a configuration when it is saved, before any scores exist.
    """
    blue = _check_cutoffs(cutoffs, direction)[0]
    if clear is not None:
        _check_clear(clear, blue, direction)
    _check_confirmation(min_periods, of_last)


def crossed_cutoff(codes: pd.DataFrame, cutoffs: Sequence[float], direction: str) -> pd.DataFrame:
    """The cut-off each code stands for (blue's for 1 .. red's for 4), NaN where 0.

    This is the ``threshold`` an alert reports; for ``both`` it is the positive
    cut-off that ``|score|`` reached. A code held at blue by hysteresis reports the blue
    cut-off.
    """
    checked = _check_cutoffs(cutoffs, direction)
    frame = check_index(codes, name="codes")
    lookup = np.array((np.nan, *checked))
    if all(isinstance(dtype, np.dtype) and dtype.kind in "iu" for dtype in set(frame.dtypes)):
        crossed = cutoff_levels(frame.to_numpy(), checked, direction)
        return pd.DataFrame(crossed, index=frame.index, columns=frame.columns, copy=False)
    try:
        values = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("codes must be whole numbers from 0 to 4") from exc
    if not np.isin(values, (0, 1, 2, 3, 4)).all():
        raise InvalidInput("codes must be whole numbers from 0 to 4")
    return pd.DataFrame(lookup[values.astype(np.intp)], index=frame.index, columns=frame.columns)


def cutoff_levels(codes: np.ndarray, cutoffs: Sequence[float], direction: str) -> np.ndarray:
    """:func:`crossed_cutoff` of a (periods, entities) integer array of codes."""
    checked = _check_cutoffs(cutoffs, direction)
    if codes.size and (codes.min() < 0 or codes.max() > 4):
        raise InvalidInput("codes must be whole numbers from 0 to 4")
    rows = entity_rows(codes, np.int8)
    crossed = np.empty(rows.shape)
    launch(cutoff_rows, rows, np.array((np.nan, *checked)), crossed)
    return crossed.T


def _check_cutoffs(cutoffs: Sequence[float], direction: str) -> tuple[float, ...]:
    require_choice("direction", direction, DIRECTIONS)
    if isinstance(cutoffs, str | bytes) or len(cutoffs) != 4:
        raise InvalidParameter("cutoffs must be four numbers: blue, yellow, orange, red")
    checked = tuple(
        require_real(f"cutoff {name}", value)
        for name, value in zip(SEVERITY_NAMES[1:], cutoffs, strict=True)
    )
    steps = np.diff(checked)
    if direction == "down":
        if not (steps < 0).all():
            raise InvalidParameter(
                f"for direction 'down' the cut-offs must fall from blue to red, got {checked}"
            )
    elif not (steps > 0).all():
        raise InvalidParameter(
            f"for direction {direction!r} the cut-offs must rise from blue to red, got {checked}"
        )
    if direction == "both" and checked[0] <= 0:
        raise InvalidParameter(
            f"for direction 'both' the cut-offs apply to |score| and must be positive, "
            f"got {checked}"
        )
    return checked


def _check_confirmation(min_periods: int, of_last: int | None) -> tuple[int, int | None]:
    persistence = require_int("min_periods", min_periods, minimum=1)
    if of_last is None:
        return persistence, None
    window = require_int("of_last", of_last, minimum=1)
    if persistence > window:
        raise InvalidParameter(
            f"min_periods ({persistence}) cannot exceed of_last ({window}): "
            f"N of the last M periods needs N <= M"
        )
    return persistence, window


def _check_clear(clear: float, blue: float, direction: str) -> float:
    value = require_real("clear", clear)
    if direction == "up" and value > blue:
        raise InvalidParameter(f"clear ({value}) must not exceed the blue cut-off ({blue})")
    if direction == "down" and value < blue:
        raise InvalidParameter(f"clear ({value}) must not be below the blue cut-off ({blue})")
    if direction == "both" and not 0 <= value <= blue:
        raise InvalidParameter(f"clear ({value}) must lie between 0 and the blue cut-off ({blue})")
    return value
