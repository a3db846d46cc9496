"""Shock episodes and their resilience measures, read from a stage trace.

A shock episode runs from the period a shock begins (preparation → absorption, or a
second fall during a recovery) until the entity is back in preparation, or until a
second shock supersedes it. Its turning points, in the manner of Bry-Boschan dating:

* **peak**: the pre-shock peak, where the fall began: the last period still within
  ``recovered`` of the baseline's high (for a second shock, of the interrupted
  recovery's high), since in a noisy flat stretch the highest value is an accident;
* **trough**: the lowest performance level since the shock began;
* **recovered**: the first period after the trough back within ``recovered`` of the
  baseline; **end**: the first period back in preparation (or the second shock's start).

Its measures: **depth**, the fall from peak to trough as a fraction of the peak;
**absorption periods**, from peak to trough; **recovery periods** (time to recover),
from trough to recovered; and Martin's (2012) **resistance** and **recoverability**
against a reference series R (a city against its province, a cluster against the
province's manufacturing):

    (ΔE/E − ΔR/R) / |ΔR/R|

over the absorption phase (peak → trough) and over the recovery phase (trough →
recovered, or the latest period while the recovery is under way). Positive means the
entity fell less, or regained more, than its reference. Every measure of a shock still
under way uses the periods seen so far: recomputed later it can only grow more complete.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.errors import InvalidParameter
from models.panel import PERIOD_OFFSETS, PERIODS_PER_YEAR, as_panel, check_regular
from models.stages import CAUSES, PREPARATION, RECOVERY, STAGES, StageRules, StageTrace

ONGOING = "ongoing"
RECOVERED = "recovered"
RELAPSED = "relapsed"
OUTCOMES: tuple[str, ...] = (ONGOING, RECOVERED, RELAPSED)
_PREP, _RECOVER = STAGES.index(PREPARATION), STAGES.index(RECOVERY)


@dataclass(frozen=True)
class ShockMeasures:
    """One shock episode of one entity: its turning points and measures.

    Periods are period-start timestamps; ``None`` where not reached (yet).
    ``latest`` is the last period of the episode the measures saw.
    """

    entity: Any
    number: int
    cause: str
    start: pd.Timestamp
    peak: pd.Timestamp
    trough: pd.Timestamp
    recovery_start: pd.Timestamp | None
    recovered: pd.Timestamp | None
    end: pd.Timestamp | None
    outcome: str
    latest: pd.Timestamp
    baseline: float
    peak_value: float
    trough_value: float
    depth: float | None
    absorption_periods: int
    recovery_periods: int | None
    duration_periods: int | None
    resistance: float | None
    recoverability: float | None


def relative_change(before: float, after: float) -> float | None:
    """``(after - before) / before``; ``None`` unless both are known and ``before`` > 0."""
    if not (math.isfinite(before) and math.isfinite(after)) or before <= 0:
        return None
    return (after - before) / before


def martin_index(change: float | None, reference_change: float | None) -> float | None:
    """Martin's (2012) relative measure ``(change - reference) / |reference|``.

    ``None`` when either change is unknown or the reference did not move at all.
    """
    if change is None or reference_change is None or reference_change == 0:
        return None
    return (change - reference_change) / abs(reference_change)


def shock_episodes(trace: StageTrace, reference: pd.DataFrame | None = None) -> list[ShockMeasures]:
    """Every shock episode in ``trace``, entity by entity, oldest first.

    ``reference`` holds each entity's reference level (same periods and columns as the
    trace, e.g. from ``models.stages.performance_level``); without it, or where a
    column is missing or empty, resistance and recoverability are ``None``.
    """
    ref = _reference_array(trace, reference)
    episodes: list[ShockMeasures] = []
    for column in range(len(trace.entities)):
        starts = np.flatnonzero(trace.cause[:, column] != 0)
        for number, start in enumerate(starts.tolist(), start=1):
            following = int(starts[number]) if number < len(starts) else None
            episodes.append(_episode(trace, ref[:, column], column, number, start, following))
    return episodes


def _episode(
    trace: StageTrace,
    ref: np.ndarray,
    column: int,
    number: int,
    start: int,
    following: int | None,
) -> ShockMeasures:
    codes = trace.codes[:, column]
    level = trace.level[:, column]
    stop = following if following is not None else len(codes)
    back = np.flatnonzero(codes[start:stop] == _PREP)
    if back.size:
        end: int | None = start + int(back[0])
        outcome = RECOVERED
    elif following is not None:
        end, outcome = following, RELAPSED
    else:
        end, outcome = None, ONGOING
    last = (end - 1) if end is not None else len(codes) - 1
    baseline = float(trace.baseline[start, column])
    peak = _fall_began(level, int(trace.peak[start, column]), start, baseline, trace.rules)
    trough = int(trace.trough[last, column])
    in_recovery = np.flatnonzero(codes[start : last + 1] == _RECOVER)
    recovery_start = start + int(in_recovery[0]) if in_recovery.size else None
    target = baseline * (1.0 - trace.rules.recovered)
    after = level[trough + 1 : last + 1]
    back_near = np.flatnonzero(~np.isnan(after) & (after >= target))
    recovered = trough + 1 + int(back_near[0]) if back_near.size else None
    if recovered is not None:
        recovery_end: int | None = recovered
    elif outcome == RELAPSED and following is not None:
        recovery_end = int(trace.peak[following, column])
    else:
        recovery_end = last if last > trough and not np.isnan(level[last]) else None

    def measure(first: int, second: int | None) -> float | None:
        if second is None or second <= first:
            return None
        own = relative_change(float(level[first]), float(level[second]))
        return martin_index(own, relative_change(float(ref[first]), float(ref[second])))

    periods = trace.periods
    peak_value, trough_value = float(level[peak]), float(level[trough])
    return ShockMeasures(
        entity=trace.entities[column],
        number=number,
        cause=CAUSES[int(trace.cause[start, column])],
        start=periods[start],
        peak=periods[peak],
        trough=periods[trough],
        recovery_start=_period(periods, recovery_start),
        recovered=_period(periods, recovered),
        end=_period(periods, end),
        outcome=outcome,
        latest=periods[last],
        baseline=baseline,
        peak_value=peak_value,
        trough_value=trough_value,
        depth=(peak_value - trough_value) / peak_value if peak_value > 0 else None,
        absorption_periods=trough - peak,
        recovery_periods=(recovered - trough) if recovered is not None else None,
        duration_periods=(end - start) if end is not None else None,
        resistance=measure(peak, trough),
        recoverability=measure(trough, recovery_end),
    )


def _fall_began(
    level: np.ndarray, high: int, start: int, baseline: float, rules: StageRules
) -> int:
    """The last period before ``start`` still within ``recovered`` of the high at ``high``.

    In a noisy flat stretch the highest value is an accident of the noise; the turning
    point is the last period the series was still at its pre-shock level.
    """
    floor = level[high] - rules.recovered * abs(baseline)
    before = level[high:start]
    at_level = np.flatnonzero(~np.isnan(before) & (before >= floor))
    return high + int(at_level[-1]) if at_level.size else high


def _period(periods: pd.DatetimeIndex, position: int | None) -> pd.Timestamp | None:
    return None if position is None else periods[position]


def _reference_array(trace: StageTrace, reference: pd.DataFrame | None) -> np.ndarray:
    shape = (len(trace.periods), len(trace.entities))
    if reference is None:
        return np.full(shape, np.nan)
    frame = as_panel(reference, name="reference")
    if not frame.index.equals(trace.periods):
        raise InvalidParameter("reference must have the trace's periods")
    frame = frame.reindex(columns=trace.entities)
    return frame.to_numpy(dtype=np.float64, na_value=np.nan)


def to_frequency(panel: pd.DataFrame, frequency: str, target: str) -> pd.DataFrame:
    """A panel of ``frequency`` as ``target`` periods: the mean of each complete period.

    A month-by-month series becomes quarterly or annual (a period with any month
    missing is NaN, so a part-year never passes for a year); the same frequency is
    returned as it is. A coarser series cannot be made finer: ``InvalidParameter``.
    """
    for name, value in (("frequency", frequency), ("target", target)):
        if value not in PERIODS_PER_YEAR:
            raise InvalidParameter(f"{name} must be one of M, Q, A; got {value!r}")
    data = as_panel(panel)
    check_regular(data.index, frequency)
    ratio = PERIODS_PER_YEAR[frequency] // PERIODS_PER_YEAR[target]
    if PERIODS_PER_YEAR[frequency] < PERIODS_PER_YEAR[target]:
        raise InvalidParameter(f"cannot turn a {frequency} series into a {target} one")
    if ratio == 1 or data.empty:
        return data if ratio == 1 else data.iloc[:0]
    starts = data.index.to_period(_PANDAS_PERIOD[target]).to_timestamp(how="start")
    grouped = data.groupby(starts)
    means = grouped.mean()
    complete = grouped.count() == ratio
    result = means.where(complete)
    full = pd.date_range(result.index.min(), result.index.max(), freq=PERIOD_OFFSETS[target])
    result = result.reindex(full)
    result.index.name = data.index.name
    return result


_PANDAS_PERIOD = {"M": "M", "Q": "Q", "A": "Y"}
