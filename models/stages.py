"""Resilience stages: where each entity stands in a shock cycle, period by period.

After the paper's adaptive cycle: **preparation** (no shock under way), **absorption**
(the shock hits, performance falls), **adaptation** (the fall has stopped, bottoming
out), **recovery** (performance climbs back). In the spirit of Bry-Boschan dating, a
shock needs a significant amplitude (``drop``) and every stage a minimum duration
(``min_stage_length``), but unlike Bry-Boschan every decision is causal: the stage of
period ``t`` uses data up to ``t`` only, so a stage once shown is never rewritten.

The rules work on the entity's *performance level*: its series, seasonally adjusted
by a causal ratio-to-moving-average filter (monthly and quarterly series, see
:func:`seasonal_adjust`) and smoothed by a trailing moving average. See
:func:`classify_stages` for the rules and ``docs/stages.md`` for their rationale.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd

from models.checks import require_choice, require_int, require_real
from models.errors import InvalidParameter
from models.panel import PERIODS_PER_YEAR, as_panel, check_index, check_regular

PREPARATION = "preparation"
ABSORPTION = "absorption"
ADAPTATION = "adaptation"
RECOVERY = "recovery"
#: Stage names in cycle order; the internal codes are their positions.
STAGES: tuple[str, ...] = (PREPARATION, ABSORPTION, ADAPTATION, RECOVERY)
_PREP, _ABSORB, _ADAPT, _RECOVER = range(4)

#: Why a shock episode began (``StageTrace.cause`` at its first period).
NO_START, DROP_START, WARNING_START, RELAPSE_START = range(4)
CAUSES: tuple[str, ...] = ("", "drop", "warning", "relapse")


@dataclass(frozen=True)
class StageParams:
    """The rules of stage classification; ``None`` takes the frequency's default.

    Parameters
    ----------
    baseline_window : int
        Periods of the running peak that serves as the pre-shock baseline
        (default 24 months, 8 quarters, 3 years). The baseline is frozen while a
        shock is under way.
    drop : float
        Fraction below the baseline at which a shock begins (default 5 % a month,
        4 % a quarter, 2 % a year: an annual value averages out the noise a monthly
        one carries, so a smaller fall is already significant). The same fraction
        below the high of a recovery starts a second shock.
    slope_tolerance : float
        Per-period change, as a fraction of the baseline, within which the series
        counts as flat: a faster fall is absorption; a slower one, or a climb,
        adaptation (default 1 % a month, 2 % a quarter, 1 % a year).
    rebound : float
        Climb from the trough, as a fraction of the baseline, that makes a recovery
        (default ``drop``: the amplitude that starts a shock, so noise around the
        trough is not taken for a recovery).
    recovered : float
        Fraction below the baseline within which the series counts as back at it
        (default half of ``drop``).
    hold_periods : int
        How many periods the entity stays in recovery once the series is back near
        its baseline, counting the period it gets back, before it returns to
        preparation (default 3 months, 2 quarters, 1 year).
    min_stage_length : int
        A stage lasts at least this many periods before it can change, which stops
        flapping (default 3 months, 2 quarters, 1 year).
    smoothing : int
        Trailing moving-average window applied to the (adjusted) series (default 3
        months, 2 quarters, 1 year = none). The period-on-period change of a moving
        average is the mean change over its window, which steadies the slope.
    seasonal : bool
        Seasonally adjust the series first (default off). Switch it on for a monthly
        or quarterly series published unadjusted (raw revenue, exports): see
        :func:`seasonal_adjust`. Official indices published adjusted, and series
        without a season, only gain noise from it. An annual series is never adjusted.
    seasonal_years : int
        How many past years of seasonal ratios each season's factor is the median of
        (default 5: the median ignores the distortion a shock of up to two years
        leaves in the ratios).
    seasonal_min_years : int
        How many years of ratios a season needs before the series is adjusted at all
        (default 2, so a factor is never one noisy ratio; no stage can change before).
    """

    baseline_window: int | None = None
    drop: float | None = None
    slope_tolerance: float | None = None
    rebound: float | None = None
    recovered: float | None = None
    hold_periods: int | None = None
    min_stage_length: int | None = None
    smoothing: int | None = None
    seasonal: bool | None = None
    seasonal_years: int | None = None
    seasonal_min_years: int | None = None

    def resolved(self, frequency: str) -> StageParams:
        """These parameters with every ``None`` filled in for ``frequency``, validated."""
        require_choice("frequency", frequency, tuple(PERIODS_PER_YEAR))
        defaults = FREQUENCY_DEFAULTS[frequency]
        filled = {
            field.name: getattr(defaults, field.name)
            for field in fields(self)
            if getattr(self, field.name) is None and getattr(defaults, field.name) is not None
        }
        params = replace(self, **filled)
        if params.recovered is None and params.drop is not None:
            params = replace(params, recovered=params.drop / 2)
        if params.rebound is None:
            params = replace(params, rebound=params.drop)
        params.validate()
        return params

    def validate(self) -> None:
        """Raise ``InvalidParameter`` unless every parameter is set and in range."""
        self.checked()

    def checked(self) -> StageRules:
        """The validated parameters, every one set (call ``resolved`` first)."""
        drop = require_real("drop", self.drop, minimum=0.0, maximum=1.0, strict_minimum=True)
        recovered = require_real("recovered", self.recovered, minimum=0.0)
        if recovered >= drop:
            raise InvalidParameter(f"recovered ({recovered}) must be below drop ({drop})")
        if not isinstance(self.seasonal, bool):
            raise InvalidParameter(f"seasonal must be true or false, got {self.seasonal!r}")
        seasonal_years = require_int("seasonal_years", self.seasonal_years, minimum=1)
        seasonal_min_years = require_int("seasonal_min_years", self.seasonal_min_years, minimum=1)
        if seasonal_min_years > seasonal_years:
            raise InvalidParameter(
                f"seasonal_min_years ({seasonal_min_years}) cannot exceed "
                f"seasonal_years ({seasonal_years})"
            )
        return StageRules(
            baseline_window=require_int("baseline_window", self.baseline_window, minimum=1),
            drop=drop,
            slope_tolerance=require_real("slope_tolerance", self.slope_tolerance, minimum=0.0),
            rebound=require_real(
                "rebound", self.rebound, minimum=0.0, maximum=1.0, strict_minimum=True
            ),
            recovered=recovered,
            hold_periods=require_int("hold_periods", self.hold_periods, minimum=1),
            min_stage_length=require_int("min_stage_length", self.min_stage_length, minimum=1),
            smoothing=require_int("smoothing", self.smoothing, minimum=1),
            seasonal=self.seasonal,
            seasonal_years=seasonal_years,
            seasonal_min_years=seasonal_min_years,
        )


@dataclass(frozen=True)
class StageRules:
    """Fully set, validated stage parameters (see :class:`StageParams`)."""

    baseline_window: int
    drop: float
    slope_tolerance: float
    rebound: float
    recovered: float
    hold_periods: int
    min_stage_length: int
    smoothing: int
    seasonal: bool
    seasonal_years: int
    seasonal_min_years: int


#: Defaults per frequency: annual series are short (the paper's tables have 6 points).
FREQUENCY_DEFAULTS: dict[str, StageParams] = {
    "M": StageParams(
        baseline_window=24,
        drop=0.05,
        slope_tolerance=0.01,
        hold_periods=3,
        min_stage_length=3,
        smoothing=3,
        seasonal=False,
        seasonal_years=5,
        seasonal_min_years=2,
    ),
    "Q": StageParams(
        baseline_window=8,
        drop=0.04,
        slope_tolerance=0.02,
        hold_periods=2,
        min_stage_length=2,
        smoothing=2,
        seasonal=False,
        seasonal_years=5,
        seasonal_min_years=2,
    ),
    "A": StageParams(
        baseline_window=3,
        drop=0.02,
        slope_tolerance=0.01,
        hold_periods=1,
        min_stage_length=1,
        smoothing=1,
        seasonal=False,
        seasonal_years=5,
        seasonal_min_years=2,
    ),
}


@dataclass(frozen=True)
class StageTrace:
    """Everything the stage rules saw and decided, period by period (rows) and entity.

    ``level`` is the adjusted, smoothed performance level; ``baseline`` the level a
    shock is measured against (the running peak in preparation, frozen during a
    shock); ``episode`` counts the shocks begun so far; ``peak`` and ``trough`` are
    the row positions of the current shock's pre-shock peak and of its lowest level
    so far (-1 outside a shock); ``cause`` is non-zero in the first period of each
    shock and says why it began (see ``CAUSES``).
    """

    periods: pd.DatetimeIndex
    entities: pd.Index
    frequency: str
    rules: StageRules
    codes: np.ndarray
    level: np.ndarray
    baseline: np.ndarray
    episode: np.ndarray
    peak: np.ndarray
    trough: np.ndarray
    cause: np.ndarray

    def stages(self) -> pd.DataFrame:
        """The stage names as a frame of the input's shape."""
        names = np.array(STAGES, dtype=object)[self.codes]
        return pd.DataFrame(names, index=self.periods, columns=self.entities, dtype=object)

    def levels(self) -> pd.DataFrame:
        """The performance levels the rules compared, as a frame."""
        return pd.DataFrame(self.level, index=self.periods, columns=self.entities)


def classify_stages(
    panel: pd.DataFrame,
    params: StageParams | None = None,
    frequency: str = "M",
    *,
    warnings: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The resilience stage of every entity in every period, as stage-name strings.

    ``panel`` holds a performance series per entity (higher is better: output, firm
    entries, an export index), on consecutive period starts. ``warnings``, optional,
    is a boolean frame of the same shape: True where an orange or red warning fires
    in the entity's core dimension. The rules, per entity, on its performance level
    (seasonally adjusted, smoothed):

    * **preparation → absorption** when the level falls ``drop`` or more below its
      baseline, the peak of the previous ``baseline_window`` periods, or when a
      warning fires; the baseline is then frozen for the shock;
    * **absorption → adaptation** once the fall slows to within ``slope_tolerance``
      of the baseline per period (or turns into a climb), and back to absorption if
      it falls faster again;
    * **absorption or adaptation → recovery** once the level has climbed
      ``rebound`` above its lowest point since the shock began, or is back within
      ``recovered`` of the baseline;
    * **recovery → absorption**, a second shock, when the level falls ``drop`` below
      the highest level of the recovery; the baseline stays (or rises to that high);
    * **recovery → preparation** once the level has stayed near the baseline for
      ``hold_periods`` periods in a row with no warning firing.

    No stage changes before it has lasted ``min_stage_length`` periods. A period with
    no level keeps the stage (no information); before there is an earlier level to
    compare with, and while the seasonal filter (when on) is still learning its
    factors, an entity is in preparation.
    The baseline scales every threshold, so the rules suit positive performance
    series; where it is 0 no shock can start.
    """
    return trace_stages(panel, params, frequency, warnings=warnings).stages()


def trace_stages(
    panel: pd.DataFrame,
    params: StageParams | None = None,
    frequency: str = "M",
    *,
    warnings: pd.DataFrame | None = None,
) -> StageTrace:
    """Run the rules of :func:`classify_stages` and keep what they saw and decided."""
    rules = (params or StageParams()).resolved(frequency).checked()
    data = as_panel(panel)
    check_regular(data.index, frequency)
    warned = _warning_array(warnings, data)
    level = _performance_level(data, rules, frequency)
    return _run_rules(data, level, warned, rules, frequency)


def performance_level(
    panel: pd.DataFrame, params: StageParams | None = None, frequency: str = "M"
) -> pd.DataFrame:
    """The level the stage rules compare: the series seasonally adjusted and smoothed."""
    rules = (params or StageParams()).resolved(frequency).checked()
    data = as_panel(panel)
    check_regular(data.index, frequency)
    level = _performance_level(data, rules, frequency)
    return pd.DataFrame(level, index=data.index, columns=data.columns)


def seasonal_adjust(
    panel: pd.DataFrame, frequency: str = "M", years: int = 5, min_years: int = 2
) -> pd.DataFrame:
    """Divide each value by its season's factor, estimated from earlier data only.

    A causal ratio-to-moving-average filter (the first step of X-11): each value is
    divided by the centred 2×12 (2×4 for quarters) moving average around it, which
    takes out trend and cycle and leaves season and noise; that ratio is known half a
    year later, when the moving average is complete. A season's factor is the median of
    its last ``years`` known ratios (robust to the distortion a shock leaves in them),
    and the factors are scaled to average 1 over the year. Until every season has
    ``min_years`` ratios (three years of a monthly or quarterly series with the
    default 2) the adjusted value is NaN: there is no telling a seasonal low from a
    shock yet. An annual series is returned unchanged.
    """
    require_choice("frequency", frequency, tuple(PERIODS_PER_YEAR))
    years = require_int("years", years, minimum=1)
    min_years = require_int("min_years", min_years, minimum=1)
    if min_years > years:
        raise InvalidParameter(f"min_years ({min_years}) cannot exceed years ({years})")
    data = as_panel(panel)
    check_regular(data.index, frequency)
    adjusted = _seasonally_adjusted(data, frequency, years, min_years)
    return pd.DataFrame(adjusted, index=data.index, columns=data.columns)


def stage_since(stages: pd.DataFrame) -> pd.Series:
    """Per entity, the first period of its current (latest) run of one stage.

    NaT for an entity without periods. Consecutive missing stages count as one run.
    """
    frame = check_index(stages, name="stages")
    values = frame.to_numpy(dtype=object)
    if len(frame) == 0:
        return pd.Series(pd.NaT, index=frame.columns, dtype=frame.index.dtype, name="since")
    missing = pd.isna(values)
    changed = np.ones(values.shape, dtype=bool)
    same = (values[1:] == values[:-1]) | (missing[1:] & missing[:-1])
    changed[1:] = ~same
    # The last row where the stage changed: search the reversed rows for the first one.
    last_change = len(frame) - 1 - np.argmax(changed[::-1], axis=0)
    return pd.Series(frame.index[last_change], index=frame.columns, name="since")


# -- the rules ---------------------------------------------------------------------------


def _run_rules(
    data: pd.DataFrame, level: np.ndarray, warned: np.ndarray, rules: StageRules, frequency: str
) -> StageTrace:
    """Run the stage rules over the periods, all entities at once."""
    slope = _slope(level)
    peak, peak_at = _running_peak(level, rules.baseline_window)
    n_periods, n_entities = level.shape
    out = _Outputs.empty(n_periods, n_entities)
    state = _State.start(n_entities, rules.min_stage_length)
    for t in range(n_periods):
        _step(state, t, level[t], slope[t], peak[t], peak_at[t], warned[t], rules)
        out.record(t, state, peak[t])
    return StageTrace(
        periods=data.index,
        entities=data.columns,
        frequency=frequency,
        rules=rules,
        codes=out.codes,
        level=level,
        baseline=out.baseline,
        episode=out.episode,
        peak=out.peak,
        trough=out.trough,
        cause=out.cause,
    )


@dataclass
class _State:
    """Per-entity state carried from one period to the next."""

    stage: np.ndarray
    age: np.ndarray  # periods in the current stage
    baseline: np.ndarray  # frozen while a shock is under way
    peak_at: np.ndarray  # row of the current shock's pre-shock peak
    trough: np.ndarray  # lowest level since the shock began
    trough_at: np.ndarray
    high: np.ndarray  # highest level since the recovery began
    high_at: np.ndarray
    near_for: np.ndarray  # periods in a row back near the baseline, no warning
    episode: np.ndarray
    cause: np.ndarray  # why a shock began, this period only

    @classmethod
    def start(cls, n: int, min_stage_length: int) -> _State:
        return cls(
            stage=np.full(n, _PREP, dtype=np.int8),
            age=np.full(n, min_stage_length, dtype=np.int64),
            baseline=np.full(n, np.nan),
            peak_at=np.full(n, -1, dtype=np.int64),
            trough=np.full(n, np.nan),
            trough_at=np.full(n, -1, dtype=np.int64),
            high=np.full(n, np.nan),
            high_at=np.full(n, -1, dtype=np.int64),
            near_for=np.zeros(n, dtype=np.int64),
            episode=np.zeros(n, dtype=np.int32),
            cause=np.zeros(n, dtype=np.int8),
        )


@dataclass
class _Outputs:
    codes: np.ndarray
    baseline: np.ndarray
    episode: np.ndarray
    peak: np.ndarray
    trough: np.ndarray
    cause: np.ndarray

    @classmethod
    def empty(cls, n_periods: int, n_entities: int) -> _Outputs:
        shape = (n_periods, n_entities)
        return cls(
            codes=np.zeros(shape, dtype=np.int8),
            baseline=np.full(shape, np.nan),
            episode=np.zeros(shape, dtype=np.int32),
            peak=np.full(shape, -1, dtype=np.int64),
            trough=np.full(shape, -1, dtype=np.int64),
            cause=np.zeros(shape, dtype=np.int8),
        )

    def record(self, t: int, state: _State, running_peak: np.ndarray) -> None:
        in_prep = state.stage == _PREP
        self.codes[t] = state.stage
        self.baseline[t] = np.where(in_prep, running_peak, state.baseline)
        self.episode[t] = state.episode
        self.peak[t] = np.where(in_prep, -1, state.peak_at)
        self.trough[t] = np.where(in_prep, -1, state.trough_at)
        self.cause[t] = state.cause


def _fraction(numerator: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """``numerator / scale`` where the scale is positive, NaN elsewhere."""
    result = np.full(numerator.shape, np.nan)
    np.divide(numerator, scale, out=result, where=scale > 0)
    return result


def _step(
    s: _State,
    t: int,
    level: np.ndarray,
    slope: np.ndarray,
    running_peak: np.ndarray,
    running_peak_at: np.ndarray,
    warned: np.ndarray,
    rules: StageRules,
) -> None:
    """Apply period ``t`` to every entity's state."""
    present = ~np.isnan(level)
    warning = warned & present
    in_prep = s.stage == _PREP
    in_fall = (s.stage == _ABSORB) | (s.stage == _ADAPT)
    in_recovery = s.stage == _RECOVER
    reference = np.where(in_prep, running_peak, s.baseline)
    scale = np.abs(np.nan_to_num(reference, nan=0.0))
    gap = _fraction(reference - level, scale)  # fraction below the baseline
    rate = _fraction(slope, scale)  # change this period, as a fraction of it

    lower = ~in_prep & present & ~(level >= s.trough)
    s.trough = np.where(lower, level, s.trough)
    s.trough_at = np.where(lower, t, s.trough_at)
    higher = in_recovery & present & ~(level <= s.high)
    s.high = np.where(higher, level, s.high)
    s.high_at = np.where(higher, t, s.high_at)
    rebound = _fraction(level - s.trough, scale)
    off_high = _fraction(s.high - level, scale)

    near = gap <= rules.recovered
    s.near_for = np.where(in_recovery & near & ~warning, s.near_for + 1, s.near_for)
    s.near_for = np.where(in_recovery & present & (~near | warning), 0, s.near_for)

    starts = in_prep & present & (scale > 0) & ((gap >= rules.drop) | warning)
    recovers = in_fall & (near | (rebound >= rules.rebound))
    adapts = (s.stage == _ABSORB) & (rate >= -rules.slope_tolerance) & ~recovers
    falls_again = (s.stage == _ADAPT) & (rate < -rules.slope_tolerance) & ~recovers
    relapses = in_recovery & (off_high >= rules.drop)
    returns = in_recovery & ~relapses & near & (s.near_for > rules.hold_periods)

    target = s.stage.copy()
    target[starts | falls_again | relapses] = _ABSORB
    target[adapts] = _ADAPT
    target[recovers] = _RECOVER
    target[returns] = _PREP
    target = np.where(s.age >= rules.min_stage_length, target, s.stage)
    moved = target != s.stage

    begins = moved & (target == _ABSORB) & in_prep
    again = moved & (target == _ABSORB) & in_recovery
    new_shock = begins | again
    s.cause = np.where(begins, np.where(gap >= rules.drop, DROP_START, WARNING_START), 0)
    s.cause = np.where(again, RELAPSE_START, s.cause).astype(np.int8)
    s.baseline = np.where(begins, running_peak, s.baseline)
    s.baseline = np.where(again, np.fmax(s.baseline, s.high), s.baseline)
    s.peak_at = np.where(begins, running_peak_at, np.where(again, s.high_at, s.peak_at))
    s.trough = np.where(new_shock, level, s.trough)
    s.trough_at = np.where(new_shock, t, s.trough_at)
    s.episode = np.where(new_shock, s.episode + 1, s.episode).astype(np.int32)

    enters_recovery = moved & (target == _RECOVER)
    s.high = np.where(enters_recovery, level, np.where(new_shock, np.nan, s.high))
    s.high_at = np.where(enters_recovery, t, np.where(new_shock, -1, s.high_at))
    s.near_for = np.where(enters_recovery, (near & ~warning).astype(np.int64), s.near_for)

    ends = moved & (target == _PREP)
    for name in ("baseline", "trough", "high"):
        setattr(s, name, np.where(ends, np.nan, getattr(s, name)))
    for name in ("peak_at", "trough_at", "high_at"):
        setattr(s, name, np.where(ends, -1, getattr(s, name)))
    s.near_for = np.where(ends, 0, s.near_for)
    s.age = np.where(moved, 1, s.age + 1)
    s.stage = target.astype(np.int8)


# -- the signals -------------------------------------------------------------------------


def _warning_array(warnings: pd.DataFrame | None, data: pd.DataFrame) -> np.ndarray:
    """The warnings as a boolean array of the panel's shape (all False without any)."""
    if warnings is None:
        return np.zeros(data.shape, dtype=bool)
    frame = check_index(warnings, name="warnings")
    if not frame.index.equals(data.index) or not frame.columns.equals(data.columns):
        raise InvalidParameter("warnings must have the panel's periods and entities")
    values = frame.to_numpy(dtype=object)
    return np.where(pd.isna(values), False, values).astype(bool)


def _performance_level(data: pd.DataFrame, rules: StageRules, frequency: str) -> np.ndarray:
    values = data.to_numpy()
    if rules.seasonal and PERIODS_PER_YEAR[frequency] > 1:
        values = _seasonally_adjusted(
            data, frequency, rules.seasonal_years, rules.seasonal_min_years
        )
    return _smoothed(values, rules.smoothing)


def _smoothed(values: np.ndarray, smoothing: int) -> np.ndarray:
    """The mean of the values present in the last ``smoothing`` periods.

    NaN where the period's own value is missing: no information that period.
    """
    present = ~np.isnan(values)
    total = np.zeros_like(values)
    count = np.zeros(values.shape, dtype=np.int64)
    for lag in range(min(smoothing, len(values))):
        total[lag:] += np.where(present, values, 0.0)[: len(values) - lag]
        count[lag:] += present[: len(values) - lag]
    level = np.full_like(values, np.nan)
    np.divide(total, count, out=level, where=present)
    return level


def _slope(level: np.ndarray) -> np.ndarray:
    """The per-period change since the latest earlier level, spanning gaps."""
    present = ~np.isnan(level)
    rows = np.arange(len(level))[:, None]
    latest = np.maximum.accumulate(np.where(present, rows, -1), axis=0)
    before = np.full_like(latest, -1)
    before[1:] = latest[:-1]
    columns = np.arange(level.shape[1])[None, :]
    previous = np.where(before >= 0, level[before.clip(min=0), columns], np.nan)
    return (level - previous) / np.where(before >= 0, rows - before, 1)


def _running_peak(level: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The highest level of the previous ``window`` periods and its row (-1 before any).

    Among equal highs the most recent wins.
    """
    peak = np.full_like(level, np.nan)
    peak_at = np.full(level.shape, -1, dtype=np.int64)
    rows = np.arange(len(level))[:, None]
    for lag in range(1, min(window, len(level)) + 1):
        candidate = level[:-lag]
        better = candidate > peak[lag:]
        better |= np.isnan(peak[lag:]) & ~np.isnan(candidate)
        peak[lag:] = np.where(better, candidate, peak[lag:])
        peak_at[lag:] = np.where(better, rows[:-lag], peak_at[lag:])
    return peak, peak_at


def _seasonal_positions(index: pd.DatetimeIndex, frequency: str) -> np.ndarray:
    """Each period's season: its month (0-11) or quarter (0-3)."""
    months = np.asarray(index.month) - 1
    return months if frequency == "M" else months // 3


def _centred_average(values: np.ndarray, period: int) -> np.ndarray:
    """The centred 2×``period`` moving average (NaN unless every value it spans is there)."""
    half = period // 2
    n = len(values)
    weights = np.full(2 * half + 1, 1.0 / period)
    weights[0] = weights[-1] = 0.5 / period
    average = np.full_like(values, np.nan)
    if n < 2 * half + 1:
        return average
    total = np.zeros((n - 2 * half, values.shape[1]))
    for offset, weight in enumerate(weights):
        total += weight * values[offset : n - 2 * half + offset]
    average[half : n - half] = total  # NaN anywhere in the span makes the sum NaN
    return average


def _seasonally_adjusted(
    data: pd.DataFrame, frequency: str, years: int, min_years: int
) -> np.ndarray:
    values = data.to_numpy()
    period = PERIODS_PER_YEAR[frequency]
    if period == 1:
        return values.copy()
    half = period // 2
    ratio = np.full_like(values, np.nan)
    average = _centred_average(values, period)
    np.divide(values, average, out=ratio, where=~np.isnan(values) & (np.abs(average) > 0))
    ratio[~np.isfinite(ratio) | (ratio <= 0)] = np.nan
    season = _seasonal_positions(data.index, frequency)
    n, n_entities = values.shape
    # The ratios known so far, per season: the last ``years`` of them, oldest first.
    recent = np.full((period, years, n_entities), np.nan)
    factor = np.full((period, n_entities), np.nan)
    adjusted = np.full_like(values, np.nan)
    for t in range(n):
        known = t - half  # the ratio of this row has just become known
        if known >= 0:
            m = season[known]
            arrived = ~np.isnan(ratio[known])
            shifted = np.concatenate([recent[m, 1:], ratio[known][None, :]])
            recent[m] = np.where(arrived, shifted, recent[m])
            enough = (~np.isnan(recent[m])).sum(axis=0) >= min_years
            factor[m] = np.where(enough, _median_of_present(recent[m]), factor[m])
        ready = ~np.isnan(factor).any(axis=0)
        scale = np.where(ready, factor.sum(axis=0) / period, np.nan)
        own = factor[season[t]]
        with np.errstate(invalid="ignore"):
            adjusted[t] = np.where(ready, values[t] * scale / own, np.nan)
    return adjusted


def _median_of_present(stack: np.ndarray) -> np.ndarray:
    """The median down the rows of the values present (NaN for a column without any)."""
    ordered = np.sort(stack, axis=0)  # NaN sorts last
    count = (~np.isnan(stack)).sum(axis=0)
    low = np.take_along_axis(ordered, np.maximum(count - 1, 0)[None, :] // 2, axis=0)[0]
    high = np.take_along_axis(ordered, (count // 2)[None, :], axis=0)[0]
    return np.where(count > 0, (low + high) / 2, np.nan)
