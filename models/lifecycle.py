"""Cluster life cycle: emergence (萌芽), growth (成长) or maturity (成熟), year by year.

The paper ties the policy mix to the life-cycle stage of a cluster: demand-side
policy while it emerges, supply-side and environment policy while it grows, mainly
environment policy (with supply) once it is mature. The stage is read from two
annual growth rates, each the trailing mean of the last ``window`` year-on-year
changes (so one odd year does not flip it):

* firm-entry growth ``gE``: how fast the number of new firms entering grows;
* output growth ``gY``: how fast the cluster's output (revenue, value added) grows.

The rule, after the industry life-cycle literature (Gort and Klepper 1982: entry
surges first, output scales up next, both settle at maturity):

* **emergence** when ``gE >= entry_fast`` and ``gE >= gY``: new firms arrive faster
  than output grows, the cluster is being populated;
* **growth** otherwise when ``gY >= output_fast`` or ``gE >= entry_fast``: output
  scales up (or entry is still brisk but output outpaces it);
* **maturity** otherwise: slow output growth and few new entrants.

A stage lasts ``min_stage_length`` years before it can change. Causal, like the
resilience stages: the stage of year t uses years up to t only. A year without both
growth rates has no stage (NaN).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.checks import require_int, require_real
from models.errors import InvalidParameter
from models.panel import as_panel, check_regular

EMERGENCE = "emergence"
GROWTH = "growth"
MATURITY = "maturity"
#: Life-cycle stages in order; the internal codes are their positions.
LIFECYCLE_STAGES: tuple[str, ...] = (EMERGENCE, GROWTH, MATURITY)

DEMAND_POLICY = "demand"
SUPPLY_ENVIRONMENT_POLICY = "supply_environment"
ENVIRONMENT_POLICY = "environment"
#: The policy type the paper recommends for each life-cycle stage.
RECOMMENDED_POLICY: dict[str, str] = {
    EMERGENCE: DEMAND_POLICY,
    GROWTH: SUPPLY_ENVIRONMENT_POLICY,
    MATURITY: ENVIRONMENT_POLICY,
}
#: Names of the stages and policies, Chinese and English.
NAMES: dict[str, tuple[str, str]] = {
    EMERGENCE: ("萌芽期", "emergence"),
    GROWTH: ("成长期", "growth"),
    MATURITY: ("成熟期", "maturity"),
    DEMAND_POLICY: ("需求型政策", "demand-side policy"),
    SUPPLY_ENVIRONMENT_POLICY: ("供给型与环境型政策", "supply-side and environment policy"),
    ENVIRONMENT_POLICY: (
        "环境型政策为主、供给型为辅",
        "environment policy, with supply-side support",
    ),
}


@dataclass(frozen=True)
class LifecycleParams:
    """The thresholds of the life-cycle rule (see the module docstring).

    Parameters
    ----------
    window : int
        Years of year-on-year growth averaged into each rate (default 3).
    entry_fast : float
        Firm-entry growth a year that counts as a surge of entrants (default 0.10).
    output_fast : float
        Output growth a year that counts as fast growth (default 0.08).
    min_stage_length : int
        Years a stage lasts before it can change (default 1: no censoring; the
        trailing mean already steadies the rates).
    """

    window: int = 3
    entry_fast: float = 0.10
    output_fast: float = 0.08
    min_stage_length: int = 1

    def validate(self) -> None:
        """Raise ``InvalidParameter`` unless every parameter is in range."""
        require_int("window", self.window, minimum=1)
        require_int("min_stage_length", self.min_stage_length, minimum=1)
        require_real("entry_fast", self.entry_fast, minimum=-1.0)
        require_real("output_fast", self.output_fast, minimum=-1.0)


def recommended_policy(stage: str) -> str:
    """The policy type the paper recommends for a life-cycle ``stage``."""
    try:
        return RECOMMENDED_POLICY[stage]
    except KeyError:
        raise InvalidParameter(f"unknown life-cycle stage {stage!r}") from None


def trailing_growth(panel: pd.DataFrame, window: int) -> pd.DataFrame:
    """The mean of the last ``window`` year-on-year changes of an annual panel.

    A change needs both years and a positive earlier value; the mean takes the
    changes present in the window and is NaN without any, or when this year's own
    change is missing (no news this year).
    """
    window = require_int("window", window, minimum=1)
    data = as_panel(panel)
    check_regular(data.index, "A")
    values = data.to_numpy()
    change = np.full_like(values, np.nan)
    if len(values) > 1:
        before, after = values[:-1], values[1:]
        np.divide(after - before, before, out=change[1:], where=before > 0)
    present = ~np.isnan(change)
    total = np.zeros_like(change)
    count = np.zeros(change.shape, dtype=np.int64)
    for lag in range(min(window, len(change))):
        total[lag:] += np.where(present, change, 0.0)[: len(change) - lag]
        count[lag:] += present[: len(change) - lag]
    mean = np.full_like(change, np.nan)
    np.divide(total, count, out=mean, where=present)
    return pd.DataFrame(mean, index=data.index, columns=data.columns)


def classify_lifecycle(
    entries: pd.DataFrame, output: pd.DataFrame, params: LifecycleParams | None = None
) -> pd.DataFrame:
    """Each entity's life-cycle stage per year, from annual firm entries and output.

    ``entries`` and ``output`` are annual panels (period starts of years); they are
    aligned on the union of their years and entities. The result holds stage names,
    NaN where a growth rate is unknown.
    """
    params = params or LifecycleParams()
    params.validate()
    entry_data, output_data = as_panel(entries, name="entries"), as_panel(output, name="output")
    check_regular(entry_data.index, "A", name="entries")
    check_regular(output_data.index, "A", name="output")
    index = entry_data.index.union(output_data.index)
    if len(index):
        index = pd.date_range(index[0], index[-1], freq="YS-JAN", name=entry_data.index.name)
    columns = entry_data.columns.union(output_data.columns, sort=False)
    g_entry = trailing_growth(entry_data.reindex(index=index, columns=columns), params.window)
    g_output = trailing_growth(output_data.reindex(index=index, columns=columns), params.window)
    codes = _lifecycle_codes(g_entry.to_numpy(), g_output.to_numpy(), params)
    names = np.array((*LIFECYCLE_STAGES, np.nan), dtype=object)[codes]
    return pd.DataFrame(names, index=index, columns=columns, dtype=object)


def _lifecycle_codes(
    g_entry: np.ndarray, g_output: np.ndarray, params: LifecycleParams
) -> np.ndarray:
    """Stage codes 0..2 per year and entity, 3 where unknown, with minimum lengths."""
    known = ~np.isnan(g_entry) & ~np.isnan(g_output)
    entry_surge = g_entry >= params.entry_fast
    raw = np.full(g_entry.shape, 2, dtype=np.int8)
    raw[(g_output >= params.output_fast) | entry_surge] = 1
    raw[entry_surge & (g_entry >= g_output)] = 0
    codes = np.full(g_entry.shape, 3, dtype=np.int8)
    stage = np.full(g_entry.shape[1], 3, dtype=np.int8)
    age = np.zeros(g_entry.shape[1], dtype=np.int64)
    for t in range(len(raw)):
        first = known[t] & (stage == 3)
        may_move = known[t] & (stage != 3) & (age >= params.min_stage_length)
        target = np.where(first | may_move, raw[t], stage)
        age = np.where(target != stage, 1, age + known[t])
        stage = target.astype(np.int8)
        codes[t] = np.where(known[t], stage, 3)
    return codes
