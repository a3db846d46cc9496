"""Resilience stages: where each entity stands in a shock cycle, period by period.

After the paper's adaptive cycle: **preparation** (no shock under way), **absorption**
(the shock hits, performance falls), **adaptation** (the fall has stopped, bottoming
out), **recovery** (performance climbs back). In the spirit of Bry-Boschan dating, the
turning points need a significant amplitude (``drop``) and phases a minimum duration
(``min_stage_length``), but unlike Bry-Boschan every decision is causal: the stage of
period ``t`` uses data up to ``t`` only, so a stage once shown is never rewritten.
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
        Fraction below the baseline at which a shock begins (default 0.05).
    slope_tolerance : float
        Per-period change, as a fraction of the baseline, within which the series
        counts as flat: a faster fall is absorption; a slower one, or a climb,
        adaptation (default 0.01 a month, 0.02 a quarter or a year).
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
        Trailing moving-average window applied to the series first (default 3
        months, 2 quarters, 1 year = none). The period-on-period change of a moving
        average is the mean change over its window, which steadies the slope.
    """

    baseline_window: int | None = None
    drop: float = 0.05
    slope_tolerance: float | None = None
    recovered: float | None = None
    hold_periods: int | None = None
    min_stage_length: int | None = None
    smoothing: int | None = None

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
        if params.recovered is None:
            params = replace(params, recovered=params.drop / 2)
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
        return StageRules(
            baseline_window=require_int("baseline_window", self.baseline_window, minimum=1),
            drop=drop,
            slope_tolerance=require_real("slope_tolerance", self.slope_tolerance, minimum=0.0),
            recovered=recovered,
            hold_periods=require_int("hold_periods", self.hold_periods, minimum=1),
            min_stage_length=require_int("min_stage_length", self.min_stage_length, minimum=1),
            smoothing=require_int("smoothing", self.smoothing, minimum=1),
        )


@dataclass(frozen=True)
class StageRules:
    """Fully set, validated stage parameters (see :class:`StageParams`)."""

    baseline_window: int
    drop: float
    slope_tolerance: float
    recovered: float
    hold_periods: int
    min_stage_length: int
    smoothing: int


#: Defaults per frequency: annual series are short (the paper's tables have 6 points).
FREQUENCY_DEFAULTS: dict[str, StageParams] = {
    "M": StageParams(
        baseline_window=24, slope_tolerance=0.01, hold_periods=3, min_stage_length=3, smoothing=3
    ),
    "Q": StageParams(
        baseline_window=8, slope_tolerance=0.02, hold_periods=2, min_stage_length=2, smoothing=2
    ),
    "A": StageParams(
        baseline_window=3, slope_tolerance=0.02, hold_periods=1, min_stage_length=1, smoothing=1
    ),
}


def classify_stages(
    panel: pd.DataFrame, params: StageParams | None = None, frequency: str = "M"
) -> pd.DataFrame:
    """The resilience stage of every entity in every period, as stage-name strings.

    ``panel`` holds a performance series per entity (higher is better: output, firm
    entries, an export index), on consecutive period starts. The rules, per entity:

    * **preparation → absorption** when the (smoothed) value falls ``drop`` or more
      below its baseline, the peak of the previous ``baseline_window`` periods; the
      baseline is then frozen until the entity is back in preparation;
    * **absorption → adaptation** once the fall slows to within ``slope_tolerance``
      of the baseline per period (or turns into a climb), and back to absorption if
      it falls faster again;
    * **absorption or adaptation → recovery** once it has climbed ``drop`` above its
      lowest point since the shock began (the same amplitude that starts a shock, so
      noise around the trough is not taken for a recovery), or is back within
      ``recovered`` of the baseline; recovery returns to absorption if it falls
      faster than ``slope_tolerance`` again before getting back;
    * **recovery → preparation** once it has stayed near the baseline for
      ``hold_periods`` periods.

    No stage changes before it has lasted ``min_stage_length`` periods. A period with
    no value keeps the stage (no information); before there is any earlier value to
    compare with, an entity is in preparation. The baseline scales every threshold, so
    the rules suit positive performance series; where it is 0 no shock can start.
    """
    rules = (params or StageParams()).resolved(frequency).checked()
    data = as_panel(panel)
    check_regular(data.index, frequency)
    codes = _stage_codes(data, rules)
    names = np.array(STAGES, dtype=object)[codes]
    return pd.DataFrame(names, index=data.index, columns=data.columns, dtype=object)


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


def _stage_codes(data: pd.DataFrame, rules: StageRules) -> np.ndarray:
    """Run the stage rules over the periods, all entities at once, as int8 codes."""
    level, slope, peak = _signals(data, rules.smoothing, rules.baseline_window)
    n_periods, n_entities = level.shape
    codes = np.zeros((n_periods, n_entities), dtype=np.int8)
    stage = np.full(n_entities, _PREP, dtype=np.int8)
    baseline = np.full(n_entities, np.nan)  # frozen while a shock is under way
    trough = np.full(n_entities, np.nan)  # lowest level since the shock began
    near_for = np.zeros(n_entities, dtype=np.int64)  # periods back near the baseline
    age = np.full(n_entities, rules.min_stage_length, dtype=np.int64)
    drop, tolerance, recovered = rules.drop, rules.slope_tolerance, rules.recovered
    for t in range(n_periods):
        in_prep = stage == _PREP
        reference = np.where(in_prep, peak[t], baseline)
        size = np.abs(reference)
        gap = np.full(n_entities, np.nan)  # fraction below the baseline
        rate = np.full(n_entities, np.nan)  # change this period, as a fraction of it
        np.divide(reference - level[t], size, out=gap, where=size > 0)
        np.divide(slope[t], size, out=rate, where=size > 0)
        falling = rate < -tolerance
        settled = rate >= -tolerance  # not falling fast: flat, or climbing
        near = gap <= recovered
        in_shock = (stage == _ABSORB) | (stage == _ADAPT)
        in_recovery = stage == _RECOVER
        trough = np.where(in_prep, np.nan, np.fmin(trough, level[t]))
        rebound = np.full(n_entities, np.nan)  # climb from the trough, as a fraction
        np.divide(level[t] - trough, size, out=rebound, where=size > 0)

        near_for = np.where(in_recovery & near, near_for + 1, near_for)
        near_for = np.where(in_recovery & (gap > recovered), 0, near_for)
        starts = in_prep & (gap >= drop)
        recovers = in_shock & (near | (rebound >= drop))
        adapts = (stage == _ABSORB) & settled & ~recovers
        relapses = ((stage == _ADAPT) & falling & ~recovers) | (in_recovery & falling & ~near)
        returns = in_recovery & near & (near_for > rules.hold_periods)

        may_move = age >= rules.min_stage_length
        target = stage.copy()
        target[starts] = _ABSORB
        target[adapts] = _ADAPT
        target[relapses] = _ABSORB
        target[recovers] = _RECOVER
        target[returns] = _PREP
        target = np.where(may_move, target, stage)

        moved = target != stage
        baseline = np.where(moved & (target == _ABSORB) & in_prep, reference, baseline)
        trough = np.where(moved & (target == _ABSORB) & in_prep, level[t], trough)
        baseline = np.where(moved & (target == _PREP), np.nan, baseline)
        trough = np.where(moved & (target == _PREP), np.nan, trough)
        near_for = np.where(moved & (target == _RECOVER), near.astype(np.int64), near_for)
        near_for = np.where(moved & (target == _PREP), 0, near_for)
        age = np.where(moved, 1, age + 1)
        stage = target
        codes[t] = stage
    return codes


def _signals(
    data: pd.DataFrame, smoothing: int, baseline_window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The smoothed level, its per-period slope and the running peak before each period.

    The level is the mean of the values present in the last ``smoothing`` periods, NaN
    where the period's own value is missing (no information that period); the slope
    spans gaps, divided by the periods elapsed; the peak is the highest level of the
    previous ``baseline_window`` periods (NaN before any).
    """
    values = data.to_numpy()
    present = ~np.isnan(values)
    total = np.zeros_like(values)
    count = np.zeros(values.shape, dtype=np.int64)
    for lag in range(min(smoothing, len(values))):
        total[lag:] += np.where(present, values, 0.0)[: len(values) - lag]
        count[lag:] += present[: len(values) - lag]
    level = np.full_like(values, np.nan)
    np.divide(total, count, out=level, where=present)

    # Position of the latest present level at or before each period, -1 if none yet.
    rows = np.arange(len(values))[:, None]
    latest = np.maximum.accumulate(np.where(present, rows, -1), axis=0)
    before = np.full_like(latest, -1)
    before[1:] = latest[:-1]
    columns = np.arange(values.shape[1])[None, :]
    previous_level = np.where(before >= 0, level[before.clip(min=0), columns], np.nan)
    slope = (level - previous_level) / np.where(before >= 0, rows - before, 1)

    peak = np.full_like(values, np.nan)
    for lag in range(1, min(baseline_window, len(values)) + 1):
        peak[lag:] = np.fmax(peak[lag:], level[:-lag])
    return level, slope, peak
