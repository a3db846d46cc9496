"""Compiled kernel of the decision layer: walk each series' periods into colour codes.

:func:`models.levels.to_levels` checks its settings and calls :func:`level_code_rows`;
the rules (cut-offs, hysteresis, persistence, "N of the last M") are documented
there. One pass per series, series in parallel (``prange``), machine code cached on
disk after the first compilation. Callers allocate the outputs with numpy (huge
pages: fewer page faults than allocating inside compiled code).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Direction codes of :func:`level_code_rows`.
UP, DOWN, BOTH = 0, 1, 2


@njit(cache=True, parallel=True, error_model="numpy")
def level_code_rows(
    scores: np.ndarray,
    cutoffs: np.ndarray,
    direction: int,
    clearing: float,
    needed: int,
    of_last: int,
    codes: np.ndarray,
) -> None:
    """Write into ``codes`` (int8, 0..4) the colours of a (series, periods) score array.

    ``cutoffs`` holds blue, yellow, orange, red; ``direction`` is :data:`UP`,
    :data:`DOWN` or :data:`BOTH`. A series starts once ``needed`` consecutive scored
    periods breached blue (``of_last`` 0), or, with ``of_last`` M > 0, in a breaching
    period once ``needed`` of its last M scored periods breached. Once on, a breach
    gives the colour reached, a score still past ``clearing`` keeps blue, anything
    else clears. A missing (or infinite) score repeats the previous code and leaves the
    counts alone.
    """
    n_series, n_periods = scores.shape
    blue, yellow, orange, red = cutoffs[0], cutoffs[1], cutoffs[2], cutoffs[3]
    for row in prange(n_series):
        x = scores[row]
        out = codes[row]
        recent = np.zeros(max(of_last, 1), dtype=np.bool_)
        previous = 0
        run = 0  # consecutive breaching scored periods
        observed = 0  # scored periods so far
        breaches = 0  # breaches among the last ``of_last`` scored periods
        for t in range(n_periods):
            value = x[t]
            if not np.isfinite(value):  # missing (or infinite): no information
                out[t] = previous
                continue
            if direction == DOWN:
                raw = int(value <= blue) + int(value <= yellow)
                raw += int(value <= orange) + int(value <= red)
                held = value <= clearing
            else:
                size = abs(value) if direction == BOTH else value
                raw = int(size >= blue) + int(size >= yellow)
                raw += int(size >= orange) + int(size >= red)
                held = size >= clearing
            breach = raw >= 1
            on = previous >= 1
            if of_last == 0:
                run = run + 1 if breach else 0
                starts = not on and run >= needed
            else:
                slot = observed % of_last
                breaches += int(breach) - int(recent[slot])
                recent[slot] = breach
                observed += 1
                starts = not on and breach and breaches >= needed
            if starts or (on and breach):
                code = raw
            elif on and held:
                code = 1
            else:
                code = 0
            out[t] = code
            previous = code


@njit(cache=True, parallel=True, error_model="numpy")
def cutoff_rows(codes: np.ndarray, lookup: np.ndarray, crossed: np.ndarray) -> None:
    """Write ``lookup[code]`` into ``crossed`` for a (series, periods) int8 code array."""
    n_series, n_periods = codes.shape
    for row in prange(n_series):
        for t in range(n_periods):
            crossed[row, t] = lookup[codes[row, t]]
