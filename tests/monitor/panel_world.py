"""The 23-firm, 48-month monthly world the incremental-scoring tests store step by step."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from monitor.records import Observation

NOW = datetime(2024, 7, 1, tzinfo=UTC)
PERIODS = pd.date_range("2020-01-01", periods=48, freq="MS")
FIRMS = 23


def noisy_values(seed: int) -> np.ndarray:
    """Noisy growing series with shocks, recoveries and gaps: every colour, every path."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0.003, 0.04, (len(PERIODS), FIRMS)), axis=0)
    values = 100 * np.exp(walk)
    for firm in range(0, FIRMS, 3):
        at = int(rng.integers(14, 40))
        values[at : at + int(rng.integers(2, 7)), firm] *= rng.uniform(0.55, 0.9)
    values[rng.random(values.shape) < 0.06] = np.nan
    return values


def store_months(session: Session, indicator_id: int, firms: list[int], months: int) -> int:
    """Store the world's values of ``firms`` up to month ``months``, from the first month
    not stored yet; returns how many months were stored before."""
    stored = len(set(session.scalars(select(Observation.period))))
    values = noisy_values(8)
    rows = [
        {
            "indicator_id": indicator_id,
            "entity_id": firms[f],
            "period": PERIODS[t].date(),
            "value": float(values[t, f]),
            "updated_at": NOW,
        }
        for t in range(stored, months)
        for f in range(FIRMS)
        if not np.isnan(values[t, f])
    ]
    if rows:
        session.execute(insert(Observation), rows)
    return stored
