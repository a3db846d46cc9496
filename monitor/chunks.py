"""The chunks of entities the pipeline scores together, and the groups within them.

A chunk bounds the observations held in memory at once: a range of entity ids, narrowed
to a query of ids when given (a partition, the firms of some clusters). Most models
score each series alone, so any split gives the same scores and chunks are plain id
ranges. A grouped model (a detector with a ``groups`` parameter: the peer comparison)
compares each entity with the other members of its group in the same period, so its
chunks hold whole groups: groups packed in the order of their ids up to the chunk size,
a group larger than that in a chunk of its own. Entities without a group come in id
ranges of their own, where a grouped model gives them no score.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from monitor.records import Entity
from monitor.vocabulary import Level

#: An entity's group, by the levels a grouped model can score: a firm's cluster.
GROUP_COLUMNS: dict[str, InstrumentedAttribute[int | None]] = {
    Level.ENTERPRISE: Entity.cluster_id,
}


@dataclass(frozen=True)
class Chunk:
    """Entities scored together: ``entity_range`` (first, last id), narrowed by ``within``.

    ``grouped`` chunks hold whole groups; the others hold entities without one (or any
    entities, when no model of the run is grouped).
    """

    entity_range: tuple[int, int]
    within: Select[Any] | None = None
    grouped: bool = False


def entity_chunks(
    session: Session,
    level: str,
    first: int,
    last: int,
    size: int,
    *,
    within: Select[Any] | None = None,
    by_group: bool = False,
) -> Iterator[Chunk]:
    """The chunks of the entities with ids ``first .. last`` (and in ``within``).

    Without ``by_group``: id ranges of ``size``. With it: whole groups of ``level``
    packed up to ``size`` entities a chunk, then the entities without a group in id
    ranges. At a level without groups every entity is without one.
    """
    column = GROUP_COLUMNS.get(level)
    if not by_group or column is None:
        yield from _ranges(first, last, size, within)
        return
    scope = [Entity.level == level, Entity.id.between(first, last)]
    if within is not None:
        scope.append(Entity.id.in_(within))
    rows = session.execute(
        select(column, func.count(), func.min(Entity.id), func.max(Entity.id))
        .where(*scope, column.is_not(None))
        .group_by(column)
        .order_by(column)
    ).all()
    bounds = {group: (low, high) for group, _, low, high in rows}
    for batch in pack_groups([(group, count) for group, count, _, _ in rows], size):
        low = min(bounds[group][0] for group in batch)
        high = max(bounds[group][1] for group in batch)
        members = select(Entity.id).where(*scope, column.in_(batch))
        yield Chunk((low, high), members, grouped=True)
    loose = [*scope, column.is_(None)]
    extent = select(func.min(Entity.id), func.max(Entity.id)).where(*loose)
    low, high = session.execute(extent).one()
    if low is not None:
        yield from _ranges(low, high, size, select(Entity.id).where(*loose))


def pack_groups(sizes: Sequence[tuple[int, int]], size: int) -> list[list[int]]:
    """``(group, members)`` pairs packed in order into batches of at most ``size`` members.

    A group is never split: one larger than ``size`` makes a batch of its own.
    """
    batches: list[list[int]] = []
    batch: list[int] = []
    count = 0
    for group, members in sizes:
        if batch and count + members > size:
            batches.append(batch)
            batch, count = [], 0
        batch.append(group)
        count += members
    if batch:
        batches.append(batch)
    return batches


def chunk_groups(session: Session, chunk: Chunk, level: str) -> dict[int, int]:
    """Each entity of a grouped chunk with its group (none for the other chunks)."""
    column = GROUP_COLUMNS.get(level)
    if not chunk.grouped or column is None:
        return {}
    query = select(Entity.id, column).where(
        Entity.id.between(*chunk.entity_range), column.is_not(None)
    )
    if chunk.within is not None:
        query = query.where(Entity.id.in_(chunk.within))
    return {int(entity): int(group) for entity, group in session.execute(query)}


def _ranges(first: int, last: int, size: int, within: Select[Any] | None) -> Iterator[Chunk]:
    for low in range(first, last + 1, size):
        yield Chunk((low, min(last, low + size - 1)), within)
