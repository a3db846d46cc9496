"""Store each government- and industry-level entity's resilience stage per period.

An entity's stage comes from its core performance series: the highest-frequency
indicator marked ``core`` at its level that it has data for. The classification
(``models.stages``) is causal, so re-running it never rewrites what was shown before;
stages are replaced from the earliest changed period on.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from models.stages import classify_stages
from monitor.panels import observation_panel
from monitor.records import Indicator, Observation, StageRecord
from monitor.vocabulary import Level

STAGE_LEVELS = (Level.GOVERNMENT, Level.INDUSTRY)
FREQUENCY_RANK = {"M": 0, "Q": 1, "A": 2}
CHUNK = 5_000


def core_indicators(session: Session) -> list[Indicator]:
    """Core indicators of the staged levels, highest frequency first."""
    rows = session.scalars(
        select(Indicator).where(Indicator.core, Indicator.level.in_(list(STAGE_LEVELS)))
    )
    return sorted(rows, key=lambda i: (FREQUENCY_RANK.get(i.frequency, 9), i.id))


def update_stages(session: Session, changed: Mapping[int, date] | None = None) -> int:
    """Classify and store stages for the core series touched by ``changed`` (or all)."""
    assigned: set[int] = set()
    written = 0
    for indicator in core_indicators(session):
        entity_ids = sorted(
            set(
                session.scalars(
                    select(Observation.entity_id)
                    .where(Observation.indicator_id == indicator.id)
                    .distinct()
                )
            )
            - assigned
        )
        assigned.update(entity_ids)
        if changed is not None and indicator.id not in changed:
            continue
        if not entity_ids:
            continue
        panel = observation_panel(session, indicator.id, indicator.frequency, entity_ids)
        stages = classify_stages(panel, frequency=indicator.frequency)
        since = changed.get(indicator.id) if changed is not None else None
        written += _store(session, indicator.id, stages, since)
    return written


def _store(session: Session, indicator_id: int, stages: pd.DataFrame, since: date | None) -> int:
    if since is not None:
        stages = stages.loc[stages.index >= pd.Timestamp(since)]
    if stages.empty:
        return 0
    first = stages.index[0].date()
    entity_ids = [int(c) for c in stages.columns]
    session.execute(
        delete(StageRecord).where(
            StageRecord.entity_id.in_(entity_ids), StageRecord.period >= first
        )
    )
    long = stages.stack().dropna()
    rows = [
        {
            "entity_id": int(entity_id),
            "period": period.date(),
            "stage": str(stage),
            "indicator_id": indicator_id,
        }
        for (period, entity_id), stage in long.items()
    ]
    for offset in range(0, len(rows), CHUNK):
        session.execute(insert(StageRecord), rows[offset : offset + CHUNK])
    return len(rows)
