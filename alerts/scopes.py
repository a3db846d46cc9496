"""Where an alert sits: its level, dimension, regions and cluster, as matchers see it.

Routes, channel filters, silences and inhibition rules all compare the same
``AlertScope``; grouping uses ``group_key``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.records import Alert, Entity
from monitor.vocabulary import Level

MAX_DEPTH = 8  # province > city > district ... never deeper; guards against a cycle


@dataclass(frozen=True)
class AlertScope:
    """The facts of one alert that matchers compare.

    ``region_ids`` holds every region the alert's entity lies in (its region and that
    region's parents; a government-level entity is a region itself), ``cluster_ids``
    its cluster (a cluster is its own).
    """

    alert_id: int | None
    level: str
    dimension: str
    severity: str
    entity_id: int
    indicator_id: int
    region_ids: frozenset[int]
    cluster_ids: frozenset[int]


def _entity_facts(session: Session, entity_id: int) -> tuple[str, int | None] | None:
    """(level, parent id) of an entity, remembered for the session's lifetime."""
    cache: dict[int, tuple[str, int | None] | None] = session.info.setdefault(
        "alerts.entity_facts", {}
    )
    if entity_id not in cache:
        row = session.execute(
            select(Entity.level, Entity.parent_id).where(Entity.id == entity_id)
        ).first()
        cache[entity_id] = (row[0], row[1]) if row is not None else None
    return cache[entity_id]


def _region_chain(session: Session, start: int | None) -> list[int]:
    """``start`` and its parents, nearest first."""
    chain: list[int] = []
    current = start
    while current is not None and current not in chain and len(chain) < MAX_DEPTH:
        chain.append(current)
        facts = _entity_facts(session, current)
        current = facts[1] if facts is not None else None
    return chain


def entity_regions(session: Session, entity: Entity) -> frozenset[int]:
    """Every region ``entity`` lies in, itself included when it is a region."""
    if entity.level == Level.GOVERNMENT:
        return frozenset(_region_chain(session, entity.id))
    regions: set[int] = set()
    for start in (entity.region_id, entity.parent_id):
        for region_id in _region_chain(session, start):
            facts = _entity_facts(session, region_id)
            if facts is not None and facts[0] == Level.GOVERNMENT:
                regions.add(region_id)
    return frozenset(regions)


def entity_clusters(entity: Entity) -> frozenset[int]:
    """The cluster ``entity`` belongs to, or itself when it is a cluster."""
    clusters = {entity.cluster_id} if entity.cluster_id is not None else set()
    if entity.kind == "cluster":
        clusters.add(entity.id)
    return frozenset(clusters)


def scope_of(session: Session, alert: Alert) -> AlertScope:
    """The matchers' view of ``alert`` (reads its entity and the entity's regions)."""
    entity = alert.entity
    return AlertScope(
        alert_id=alert.id,
        level=alert.level,
        dimension=alert.dimension,
        severity=alert.severity,
        entity_id=alert.entity_id,
        indicator_id=alert.indicator_id,
        region_ids=entity_regions(session, entity),
        cluster_ids=entity_clusters(entity),
    )


def group_scope(entity: Entity) -> str:
    """The part of a group key that says where: the cluster, else the region, else itself.

    A shock across the firms of one cluster, or the cities of one province, thereby
    lands in one group.
    """
    if entity.cluster_id is not None:
        return f"cluster:{entity.cluster_id}"
    if entity.region_id is not None:
        return f"region:{entity.region_id}"
    if entity.parent_id is not None:
        return f"parent:{entity.parent_id}"
    return f"entity:{entity.id}"


def group_key(alert: Alert) -> str:
    """``level|dimension|scope``: the notices of one group go out as one message."""
    return f"{alert.level}|{alert.dimension}|{group_scope(alert.entity)}"


def parse_group_key(key: str) -> tuple[str, str, str, int | None]:
    """``(level, dimension, scope kind, scope entity id)`` of a group key."""
    level, dimension, scope = (key.split("|", 2) + ["", ""])[:3]
    kind, _, raw_id = scope.partition(":")
    return level, dimension, kind, int(raw_id) if raw_id.isdigit() else None
