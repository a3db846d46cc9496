"""Store each entity's shock episodes with their resilience measures, and read them back.

The episodes come from ``models.resilience.shock_episodes`` on the entity's stage
trace; ``monitor.stages`` recomputes them on every scoring run that touches the
entity's series, so a shock still under way carries the measures of the periods seen
so far, and one that ended keeps its final measures. Rows are matched on (entity,
start) and only rewritten when a value changed: a re-run over the same data writes
nothing.

Martin's resistance and recoverability need a reference series. Which entity is an
entity's reference is a rule per level and kind (``reference_entity``): a city
against its province (``parent``), a cluster or industry category against the
province's manufacturing (``province``), a firm against its cluster (``cluster``),
or a named entity (``entity:<code>``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from models.resilience import ShockMeasures
from monitor.errors import ConfigError, NotFound
from monitor.queries import entity_as_dict, indicator_as_dict, iso_period, iso_time
from monitor.records import Entity, Shock
from monitor.vocabulary import Level

MAX_DEPTH = 8  # province > city > district ...: never deeper; guards against a cycle
REFERENCE_RULES: tuple[str, ...] = ("parent", "region", "province", "cluster", "none")
ENTITY_RULE = "entity:"


@dataclass(frozen=True)
class ReferenceSeries:
    """The series an entity's shocks are compared with: an entity and its indicator."""

    entity_id: int
    indicator_id: int


def check_reference_rule(rule: str) -> str:
    """``rule`` if it is a known reference rule, else ``ConfigError``."""
    if rule in REFERENCE_RULES or (rule.startswith(ENTITY_RULE) and len(rule) > len(ENTITY_RULE)):
        return rule
    allowed = ", ".join((*REFERENCE_RULES, "entity:<code>"))
    raise ConfigError(f"reference rule must be one of {allowed}; got {rule!r}")


def reference_entity(session: Session, entity: Entity, rule: str) -> Entity | None:
    """The entity ``entity`` is compared with under ``rule``, or ``None`` (never itself).

    ``parent`` is the entity's parent region; ``region`` its region (else its parent);
    ``province`` the top government-level region above it; ``cluster`` its cluster;
    ``entity:<code>`` the named entity; ``none`` nothing.
    """
    check_reference_rule(rule)
    found: Entity | None
    if rule == "none":
        found = None
    elif rule == "parent":
        found = entity.parent
    elif rule == "region":
        found = entity.region or entity.parent
    elif rule == "cluster":
        found = entity.cluster
    elif rule == "province":
        found = _top_region(entity)
    else:
        code = rule.removeprefix(ENTITY_RULE)
        found = session.scalar(select(Entity).where(Entity.code == code))
        if found is None:
            raise ConfigError(f"reference entity {code!r} does not exist")
    return None if found is None or found.id == entity.id else found


def _top_region(entity: Entity) -> Entity | None:
    """The highest government-level entity above ``entity`` (through region and parent)."""
    current = entity.region or entity.parent
    top: Entity | None = None
    seen: set[int] = set()
    while current is not None and current.id not in seen and len(seen) < MAX_DEPTH:
        seen.add(current.id)
        if current.level == Level.GOVERNMENT:
            top = current
        current = current.parent or current.region
    return top


def store_shocks(
    session: Session,
    episodes: Sequence[ShockMeasures],
    *,
    entity_ids: Sequence[int],
    indicator_id: int,
    references: Mapping[int, ReferenceSeries],
    now: datetime,
) -> int:
    """Make the stored shocks of ``entity_ids`` those of ``episodes``; return rows changed.

    An episode is matched to a stored row by entity and start; a stored shock that
    no longer appears (the data were revised) is deleted.
    """
    if not entity_ids:
        return 0
    stored = {
        (row.entity_id, row.start): row
        for row in session.scalars(select(Shock).where(Shock.entity_id.in_(list(entity_ids))))
    }
    changed = 0
    seen: set[tuple[int, date]] = set()
    for episode in episodes:
        entity_id = int(episode.entity)
        values = _shock_values(episode, indicator_id, references.get(entity_id))
        key = (entity_id, values["start"])
        seen.add(key)
        row = stored.get(key)
        if row is None:
            session.add(Shock(entity_id=entity_id, updated_at=now, **values))
            changed += 1
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = now
            changed += 1
    for key, row in stored.items():
        if key not in seen:
            session.delete(row)
            changed += 1
    return changed


def _shock_values(
    episode: ShockMeasures, indicator_id: int, reference: ReferenceSeries | None
) -> dict[str, Any]:
    return {
        "indicator_id": indicator_id,
        "number": episode.number,
        "cause": episode.cause,
        "outcome": episode.outcome,
        "start": episode.start.date(),
        "peak": episode.peak.date(),
        "trough": episode.trough.date(),
        "recovery_start": _day(episode.recovery_start),
        "recovered": _day(episode.recovered),
        "ended": _day(episode.end),
        "latest": episode.latest.date(),
        "baseline": float(episode.baseline),
        "peak_value": float(episode.peak_value),
        "trough_value": float(episode.trough_value),
        "depth": _number(episode.depth),
        "absorption_periods": int(episode.absorption_periods),
        "recovery_periods": episode.recovery_periods,
        "duration_periods": episode.duration_periods,
        "reference_entity_id": reference.entity_id if reference else None,
        "reference_indicator_id": reference.indicator_id if reference else None,
        "resistance": _number(episode.resistance),
        "recoverability": _number(episode.recoverability),
    }


def _day(stamp: Any) -> date | None:
    return None if stamp is None else stamp.date()


def _number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def list_shocks(
    session: Session,
    *,
    entity_code: str | None = None,
    outcome: str | None = None,
    locale: str = "zh_CN",
) -> list[dict[str, Any]]:
    """Every stored shock (of one entity, or with one outcome), by entity then start.

    Raises ``NotFound`` for an unknown entity code.
    """
    statement = (
        select(Shock)
        .join(Entity, Entity.id == Shock.entity_id)
        .options(
            joinedload(Shock.entity),
            joinedload(Shock.indicator),
            joinedload(Shock.reference_entity),
            joinedload(Shock.reference_indicator),
        )
        .order_by(Entity.level, Entity.code, Shock.start)
    )
    if entity_code is not None:
        entity_id = session.scalar(select(Entity.id).where(Entity.code == entity_code))
        if entity_id is None:
            raise NotFound(f"no entity with code {entity_code!r}")
        statement = statement.where(Shock.entity_id == entity_id)
    if outcome is not None:
        statement = statement.where(Shock.outcome == outcome)
    return [shock_as_dict(shock, locale) for shock in session.scalars(statement)]


def shock_as_dict(shock: Shock, locale: str = "zh_CN") -> dict[str, Any]:
    """One shock in the documented JSON shape (periods as ``YYYY-MM-DD``)."""
    reference = None
    if shock.reference_entity is not None:
        reference = {
            "entity": entity_as_dict(shock.reference_entity, locale),
            "indicator": (
                indicator_as_dict(shock.reference_indicator, locale)
                if shock.reference_indicator is not None
                else None
            ),
        }
    return {
        "entity": entity_as_dict(shock.entity, locale),
        "indicator": indicator_as_dict(shock.indicator, locale),
        "number": shock.number,
        "cause": shock.cause,
        "outcome": shock.outcome,
        "start": iso_period(shock.start),
        "peak": iso_period(shock.peak),
        "trough": iso_period(shock.trough),
        "recovery_start": iso_period(shock.recovery_start),
        "recovered": iso_period(shock.recovered),
        "end": iso_period(shock.ended),
        "latest": iso_period(shock.latest),
        "baseline": shock.baseline,
        "peak_value": shock.peak_value,
        "trough_value": shock.trough_value,
        "depth": shock.depth,
        "absorption_periods": shock.absorption_periods,
        "recovery_periods": shock.recovery_periods,
        "duration_periods": shock.duration_periods,
        "reference": reference,
        "resistance": shock.resistance,
        "recoverability": shock.recoverability,
        "updated_at": iso_time(shock.updated_at),
    }
