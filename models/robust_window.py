"""Compiled kernels: median, MAD and robust z-score over a trailing window, per series.

Each series keeps its window's valid values in a small sorted buffer: a step replaces
the value leaving the window by the one entering it and shifts the values between
them (O(window)); the median is a positional lookup and the MAD a binary search over
the two sorted runs of deviations below and above the median (O(log window)). Series
run in parallel (``prange``); machine code is cached on disk after the first
compilation.

The results are bit for bit those of sorting every window (the sign of a zero
aside): the same multiset of values gives the same order statistics, each computed
with the same floating-point expression (``0.5 * (a + b)`` for a median,
``|x - median|`` for a deviation), and the mean absolute deviation of a flat window is
summed in the order and grouping of numpy's pairwise sum over the window's rows
(missing values as 0). Inputs are (series, periods) C-contiguous float64 arrays whose
values are finite or NaN; the caller allocates the outputs with numpy (which asks the
kernel for huge pages: far fewer page faults than an allocation inside compiled code).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from models.series import MAD_TO_SIGMA, MEAN_AD_TO_SIGMA, RELATIVE_SCALE_FLOOR

# numpy's pairwise summation: 8 accumulators up to this many values, halves beyond.
_PAIRWISE_BLOCK = 128


@njit(cache=True, parallel=True, error_model="numpy")
def robust_z_rows(series: np.ndarray, window: int, min_periods: int, z: np.ndarray) -> None:
    """Write into ``z`` the robust z-score of each value against the ``window`` before it.

    See :class:`models.robust_z.RobustZDetector` for the rule (MAD scale, mean
    absolute deviation then a relative floor when the MAD is 0, NaN below
    ``min_periods`` prior values or for a missing value, infinities dropped).
    """
    n_series, n_periods = series.shape
    for row in prange(n_series):
        x = series[row]
        out = z[row]
        ordered = np.empty(window)
        scratch = np.empty(window)
        count = 0
        for t in range(n_periods):
            count = _slide(ordered, count, x, t, window)
            value = x[t]
            if count == 0 or count < min_periods or np.isnan(value):
                out[t] = np.nan
                continue
            low = (count - 1) // 2
            high = count // 2
            median = 0.5 * (ordered[low] + ordered[high])
            scale = MAD_TO_SIGMA * _median_deviation(ordered, count, median, low, high)
            if scale == 0.0:
                scale = _flat_scale(x, t, window, median, count, scratch)
            score = (value - median) / scale
            out[t] = np.nan if np.isinf(score) else score


@njit(cache=True, parallel=True, error_model="numpy")
def median_mad_rows(
    series: np.ndarray, window: int, median: np.ndarray, mad: np.ndarray, counts: np.ndarray
) -> None:
    """Write median, MAD and count of the valid values among the ``window`` before each.

    Median and MAD are NaN where the window holds no value.
    """
    n_series, n_periods = series.shape
    for row in prange(n_series):
        x = series[row]
        ordered = np.empty(window)
        count = 0
        for t in range(n_periods):
            count = _slide(ordered, count, x, t, window)
            counts[row, t] = count
            if count == 0:
                median[row, t] = np.nan
                mad[row, t] = np.nan
                continue
            low = (count - 1) // 2
            high = count // 2
            centre = 0.5 * (ordered[low] + ordered[high])
            median[row, t] = centre
            mad[row, t] = _median_deviation(ordered, count, centre, low, high)


@njit(cache=True, error_model="numpy", inline="always")
def _slide(ordered: np.ndarray, count: int, x: np.ndarray, t: int, window: int) -> int:
    """Move the window to rows ``t - window .. t - 1``; return the new count.

    Positions are ranks (how many values are smaller: counted without branches); when
    one value leaves and another enters, the values between the two shift by one.
    """
    if t == 0:
        return count
    entering = x[t - 1]
    leaving = x[t - 1 - window] if t > window else np.nan
    if np.isnan(leaving):
        if np.isnan(entering):
            return count
        at = _rank(ordered, count, entering)
        for i in range(count, at, -1):
            ordered[i] = ordered[i - 1]
        ordered[at] = entering
        return count + 1
    gone = _rank(ordered, count, leaving)  # the first position of the leaving value
    if np.isnan(entering):
        for i in range(gone, count - 1):
            ordered[i] = ordered[i + 1]
        return count - 1
    at = _rank(ordered, count, entering)
    if at > gone:  # the leaving value is among the smaller ones
        at -= 1
        for i in range(gone, at):
            ordered[i] = ordered[i + 1]
    else:
        for i in range(gone, at, -1):
            ordered[i] = ordered[i - 1]
    ordered[at] = entering
    return count


@njit(cache=True, error_model="numpy", inline="always")
def _rank(ordered: np.ndarray, count: int, value: float) -> int:
    """How many of ``ordered[:count]`` are smaller than ``value``."""
    smaller = 0
    for i in range(count):
        smaller += ordered[i] < value
    return smaller


@njit(cache=True, error_model="numpy", inline="always")
def _median_deviation(ordered: np.ndarray, count: int, median: float, low: int, high: int) -> float:
    """The midpoint of the ``low``-th and ``high``-th smallest ``|value - median|``.

    Values at positions ``0 .. low`` lie at or below the median and the others above
    it, so the deviations form two sorted runs, ``below[i] = |ordered[low - i] - m|``
    and ``above[j] = |ordered[low + 1 + j] - m|``. A binary search finds how many of
    the ``low + 1`` smallest deviations come from each run; the ``low``-th is the
    larger of the last taken, the next one the smaller of the first left.
    """
    n_below = low + 1
    n_above = count - low - 1
    taken = low + 1
    first = max(0, taken - n_above)
    last = min(n_below, taken)
    while first < last:
        i = (first + last) // 2
        more = abs(ordered[low + taken - i] - median) > abs(ordered[low - i] - median)
        first = i + 1 if more else first
        last = last if more else i
    i = first
    j = taken - i
    at_low = -np.inf
    if i > 0:
        at_low = abs(ordered[low - i + 1] - median)
    if j > 0:
        at_low = max(at_low, abs(ordered[low + j] - median))
    if high == low:
        return 0.5 * (at_low + at_low)
    at_high = np.inf
    if i < n_below:
        at_high = abs(ordered[low - i] - median)
    if j < n_above:
        at_high = min(at_high, abs(ordered[low + 1 + j] - median))
    return 0.5 * (at_low + at_high)


@njit(cache=True, error_model="numpy")
def _flat_scale(
    x: np.ndarray, t: int, window: int, median: float, count: int, scratch: np.ndarray
) -> float:
    """The scale when the MAD is 0: mean absolute deviation, else the relative floor."""
    for i in range(window):
        position = t - window + i
        value = x[position] if position >= 0 else np.nan
        scratch[i] = 0.0 if np.isnan(value) else abs(value - median)
    mean_ad = _pairwise_sum(scratch, 0, window) / count
    if mean_ad > 0:
        return MEAN_AD_TO_SIGMA * mean_ad
    return RELATIVE_SCALE_FLOOR * max(1.0, abs(median))


@njit(cache=True, error_model="numpy")
def _pairwise_sum(a: np.ndarray, start: int, n: int) -> float:
    """``a[start : start + n].sum()`` in numpy's order of additions.

    numpy halves a long run (at a multiple of 8) until the pieces hold at most 128
    values, sums each piece with 8 accumulators and adds the halves back up. The
    halving is walked with an explicit stack: numba's disk cache cannot hold a
    recursive function.
    """
    if n <= _PAIRWISE_BLOCK:
        return _block_sum(a, start, n)
    depth = 64  # halving n at least once per level: more than any array can need
    starts = np.empty(depth, dtype=np.int64)
    sizes = np.empty(depth, dtype=np.int64)
    stage = np.zeros(depth, dtype=np.int64)  # 0: new, 1: left half done, 2: both done
    left = np.empty(depth)
    right = np.empty(depth)
    starts[0], sizes[0], top = start, n, 1
    total = 0.0
    while top > 0:
        frame = top - 1
        size = sizes[frame]
        half = size // 2
        half -= half % 8
        if size <= _PAIRWISE_BLOCK or stage[frame] == 2:
            if size <= _PAIRWISE_BLOCK:
                value = _block_sum(a, starts[frame], size)
            else:
                value = left[frame] + right[frame]
            top -= 1
            if top == 0:
                total = value
            elif stage[top - 1] == 0:
                left[top - 1] = value
                stage[top - 1] = 1
            else:
                right[top - 1] = value
                stage[top - 1] = 2
        elif stage[frame] == 0:
            starts[top], sizes[top], stage[top] = starts[frame], half, 0
            top += 1
        else:
            starts[top], sizes[top], stage[top] = starts[frame] + half, size - half, 0
            top += 1
    return total


@njit(cache=True, error_model="numpy")
def _block_sum(a: np.ndarray, start: int, n: int) -> float:
    """numpy's sum of at most 128 values: plain below 8, else 8 accumulators."""
    if n < 8:
        total = 0.0
        for i in range(start, start + n):
            total += a[i]
        return total
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = 8
    while i < n - n % 8:
        j = start + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += a[start + i]
        i += 1
    return total
