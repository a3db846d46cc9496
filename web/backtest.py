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
from sqlalchemy import String, and_, cast, select
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
    # Periods as text skip the per-row date conversion; pandas parses them in one go.
    statement = select(
        cast(Score.period, String).label("period"),
        Score.entity_id.label("entity"),
        Score.score.label("score"),
    ).where(Score.indicator_id == indicator.id, Score.model == model)
    frame = pd.read_sql(statement, session.connection(), dtype={"score": np.float64})
    if frame.empty:
        return pd.DataFrame(dtype=np.float64)
    frame["period"] = pd.to_datetime(frame["period"], format="%Y-%m-%d")
    panel = frame.drop_duplicates(["period", "entity"], keep="last").pivot(
        index="period", columns="entity", values="score"
    )
    full = pd.date_range(
        panel.index.min(), panel.index.max(), freq=PERIOD_OFFSETS[indicator.frequency]
    )
    return panel.reindex(full).astype(np.float64)


@dataclass(frozen=True)
class History:
    """One indicator's stored scores and the dated shocks of its entities."""

    indicator: Indicator
    panel: pd.DataFrame
    episodes: list[Episode]


def load_history(session: Session, indicators: list[Indicator], model: str) -> list[History]:
    """The score panels (and shock episodes) a preview replays, loaded once."""
    histories = []
    for indicator in indicators:
        panel = score_panel(session, indicator, model)
        if panel.empty:
            continue
        episodes = _episodes(session, [int(column) for column in panel.columns])
        histories.append(History(indicator=indicator, panel=panel, episodes=episodes))
    return histories


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
    """Count each run of coloured periods once: in its opening year, at its worst colour."""
    values = codes.to_numpy()
    on = values > 0
    if not on.any():
        return
    before = np.vstack([np.zeros((1, on.shape[1]), dtype=bool), on[:-1]])
    runs = np.cumsum(on & ~before, axis=0)
    columns, rows = np.nonzero(on.T)  # column-major: each run's periods in time order
    cells = pd.DataFrame(
        {
            "entity": np.asarray(codes.columns)[columns],
            "run": runs[rows, columns],
            "code": values[rows, columns],
            "year": codes.index.year.to_numpy()[rows],
        }
    )
    alerts = cells.groupby(["entity", "run"], sort=False).agg(
        code=("code", "max"), year=("year", "first")
    )
    for (entity_id, _run), code, year in zip(
        alerts.index, alerts["code"], alerts["year"], strict=True
    ):
        colour = SEVERITY_NAMES[int(code)]
        outcome.years.setdefault(int(year), dict.fromkeys(COLOURS, 0))[colour] += 1
        outcome.totals[colour] += 1
        outcome.entities.setdefault(int(entity_id), Counter())[colour] += 1


def evaluate(histories: list[History], setting: dict[str, Any]) -> Outcome:
    """Replay ``setting`` (direction, blue..red, clear, min_periods) over stored scores."""
    outcome = Outcome()
    totals: dict[str, int] = dict.fromkeys("ABCD", 0)
    any_episodes = False
    cutoffs = [setting[name] for name in ("blue", "yellow", "orange", "red")]
    for history in histories:
        direction = setting.get("direction") or history.indicator.direction
        try:
            codes = to_levels(
                history.panel,
                cutoffs,
                direction,
                clear=setting.get("clear"),
                min_periods=int(setting.get("min_periods") or 1),
            )
        except (InvalidInput, InvalidParameter) as exc:
            outcome.error = str(exc)
            return outcome
        _count_alerts(codes, outcome)
        if history.episodes:
            any_episodes = True
            signals = (codes >= 1).astype(np.float64).where(history.panel.notna())
            table = signal_table(signals, history.episodes, frequency=history.indicator.frequency)
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
    histories = load_history(session, indicators, threshold.model)
    current = evaluate(histories, threshold_setting(threshold))
    new = evaluate(histories, proposed)
    years = sorted(set(current.years) | set(new.years))
    return {
        "current": current,
        "proposed": new,
        "years": years,
        "names": entity_names(session, [current, new], locale),
        "indicators": indicators,
    }
