"""The threshold backtest preview: what a setting would have raised over the stored history.

Stored scores of a threshold's model (for the threshold model, the transformed
values it compares) are cut again with ``models.levels.to_levels`` for a proposed
setting. An alert is a run of coloured periods of one entity; it counts in the year
it opened, under the worst colour it reached. Where the ``shocks`` table dates
episodes, the signals approach (``models.signals.signal_table``) scores the setting:
hits (A), false alarms (B), misses (C) and the noise-to-signal ratio.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from models.errors import InvalidInput, InvalidParameter
from models.levels import SEVERITY_NAMES, to_levels
from models.panel import PERIOD_OFFSETS
from models.signals import Episode, signal_table
from monitor.audit import threshold_setting
from monitor.records import Entity, Indicator, Score, Shock, Threshold

COLOURS = SEVERITY_NAMES[1:]


@dataclass
class Outcome:
    """The preview of one setting: alerts per year and colour, per entity, signal counts."""

    years: dict[int, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLOURS, 0))
    entities: dict[int, Counter[str]] = field(default_factory=dict)
    signals: dict[str, int] | None = None
    error: str | None = None

    @property
    def alerts(self) -> int:
        return sum(self.totals.values())

    @property
    def noise_to_signal(self) -> float | None:
        if self.signals is None:
            return None
        a, b, c, d = (self.signals[key] for key in "ABCD")
        if a + c == 0 or b + d == 0:
            return None
        hit_rate = a / (a + c)
        return math.inf if hit_rate == 0 else (b / (b + d)) / hit_rate


def covered_indicators(session: Session, threshold: Threshold) -> list[Indicator]:
    """The indicators a threshold row decides for: its own, or its group's without overrides."""
    if threshold.indicator_id is not None:
        return [threshold.indicator] if threshold.indicator else []
    overridden = select(Threshold.indicator_id).where(
        Threshold.model == threshold.model, Threshold.indicator_id.is_not(None)
    )
    statement = select(Indicator).where(
        Indicator.level == threshold.level,
        Indicator.dimension == threshold.dimension,
        Indicator.id.not_in(overridden),
    )
    return list(session.scalars(statement.order_by(Indicator.code)))


def score_panel(session: Session, indicator: Indicator, model: str) -> pd.DataFrame:
    """Stored scores of one indicator: consecutive period starts x entity ids, gaps NaN."""
    rows = session.execute(
        select(Score.period, Score.entity_id, Score.score).where(
            Score.indicator_id == indicator.id, Score.model == model
        )
    ).all()
    if not rows:
        return pd.DataFrame(dtype=np.float64)
    frame = pd.DataFrame(rows, columns=["period", "entity", "score"])
    frame["period"] = pd.to_datetime(frame["period"])
    frame["score"] = frame["score"].astype(np.float64)
    panel = frame.pivot_table(index="period", columns="entity", values="score", aggfunc="last")
    full = pd.date_range(
        panel.index.min(), panel.index.max(), freq=PERIOD_OFFSETS[indicator.frequency]
    )
    return panel.reindex(full).astype(np.float64)


def _episodes(session: Session, entity_ids: list[int]) -> list[Episode]:
    shocks = session.execute(
        select(Shock.entity_id, Shock.start, Shock.ended).where(Shock.entity_id.in_(entity_ids))
    ).all()
    return [
        Episode(
            start=pd.Timestamp(start),
            entity=entity_id,
            end=pd.Timestamp(ended) if ended else None,
        )
        for entity_id, start, ended in shocks
    ]


def _count_alerts(codes: pd.DataFrame, outcome: Outcome) -> None:
    values = codes.to_numpy()
    for column, entity_id in enumerate(codes.columns):
        worst, opened = 0, None
        for row, code in enumerate(values[:, column]):
            if code > 0 and worst == 0:
                opened = codes.index[row].year
            if code > 0:
                worst = max(worst, int(code))
            if (code == 0 or row == len(values) - 1) and worst > 0:
                colour = SEVERITY_NAMES[worst]
                year = outcome.years.setdefault(opened, dict.fromkeys(COLOURS, 0))
                year[colour] += 1
                outcome.totals[colour] += 1
                outcome.entities.setdefault(int(entity_id), Counter())[colour] += 1
                worst = 0


def evaluate(
    session: Session, indicators: list[Indicator], model: str, setting: dict[str, Any]
) -> Outcome:
    """Replay ``setting`` (direction, blue..red, clear, min_periods) over stored scores."""
    outcome = Outcome()
    totals: dict[str, int] = dict.fromkeys("ABCD", 0)
    any_episodes = False
    cutoffs = [setting[name] for name in ("blue", "yellow", "orange", "red")]
    for indicator in indicators:
        panel = score_panel(session, indicator, model)
        if panel.empty:
            continue
        direction = setting.get("direction") or indicator.direction
        try:
            codes = to_levels(
                panel,
                cutoffs,
                direction,
                clear=setting.get("clear"),
                min_periods=int(setting.get("min_periods") or 1),
            )
        except (InvalidInput, InvalidParameter) as exc:
            outcome.error = str(exc)
            return outcome
        _count_alerts(codes, outcome)
        episodes = _episodes(session, [int(column) for column in panel.columns])
        if episodes:
            any_episodes = True
            signals = (codes >= 1).astype(np.float64).where(panel.notna())
            table = signal_table(signals, episodes, frequency=indicator.frequency)
            for key in totals:
                totals[key] += getattr(table, key)
    outcome.years = dict(sorted(outcome.years.items()))
    outcome.signals = totals if any_episodes else None
    return outcome


def entity_names(session: Session, outcomes: list[Outcome], locale: str) -> dict[int, str]:
    """Display names of every entity that raised an alert in any of ``outcomes``."""
    ids = sorted({entity for outcome in outcomes for entity in outcome.entities})
    if not ids:
        return {}
    rows = session.scalars(select(Entity).where(and_(Entity.id.in_(ids))))
    return {entity.id: entity.name(locale) for entity in rows}


def compare(
    session: Session, threshold: Threshold, proposed: dict[str, Any], locale: str
) -> dict[str, Any]:
    """The current and the proposed setting's outcomes side by side, for the template."""
    indicators = covered_indicators(session, threshold)
    current = evaluate(session, indicators, threshold.model, threshold_setting(threshold))
    new = evaluate(session, indicators, threshold.model, proposed)
    years = sorted(set(current.years) | set(new.years))
    return {
        "current": current,
        "proposed": new,
        "years": years,
        "names": entity_names(session, [current, new], locale),
        "indicators": indicators,
    }
