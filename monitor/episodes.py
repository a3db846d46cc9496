"""Shock episodes dated by staff: add, remove, list, and read back as backtest references.

An episode is dated for one entity. One dated for a region or a cluster covers every
entity in it: the entity itself, its children (a province's cities), the entities whose
region or cluster it is, and the entities of its children (a province's firms, through
their cities). ``dimension`` ``None`` means every dimension.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased, joinedload

from models.signals import Episode as Reference
from monitor.errors import ClusterWatchError, NotFound
from monitor.records import Entity, Episode
from monitor.vocabulary import Dimension

LABEL_LENGTH = 200


class EpisodeError(ClusterWatchError):
    """An episode that cannot be stored as given."""


def add_episode(
    session: Session,
    *,
    entity_id: int,
    start: date,
    end: date | None,
    label: str,
    author: str,
    dimension: str | None = None,
) -> Episode:
    """Store a dated episode after checking its entity, dimension, dates and label."""
    if session.get(Entity, entity_id) is None:
        raise NotFound(f"no entity with id {entity_id}")
    if dimension is not None and dimension not in set(Dimension):
        raise EpisodeError(f"unknown dimension {dimension!r}")
    if end is not None and end < start:
        raise EpisodeError(f"the episode ends ({end}) before it starts ({start})")
    if not label.strip():
        raise EpisodeError("an episode needs a label")
    if not author.strip():
        raise EpisodeError("an episode needs an author")
    episode = Episode(
        entity_id=entity_id,
        dimension=dimension,
        start=start,
        end=end,
        label=label.strip()[:LABEL_LENGTH],
        author=author.strip(),
    )
    session.add(episode)
    session.flush()
    return episode


def remove_episode(session: Session, episode_id: int) -> Episode:
    """Delete an episode; returns the removed row."""
    episode = session.get(Episode, episode_id)
    if episode is None:
        raise NotFound(f"no episode with id {episode_id}")
    session.delete(episode)
    session.flush()
    return episode


def list_episodes(session: Session) -> list[Episode]:
    """Every dated episode, the latest start first, with its entity loaded."""
    statement = (
        select(Episode)
        .options(joinedload(Episode.entity))
        .order_by(Episode.start.desc(), Episode.id.desc())
    )
    return list(session.scalars(statement))


def reference_episodes(session: Session, level: str, dimension: str) -> list[Reference]:
    """The dated episodes of ``dimension`` as one reference per covered entity of ``level``.

    One query; a region's episode becomes one reference per entity of the level in it.
    """
    region = aliased(Entity)
    covers = or_(
        Entity.id == Episode.entity_id,
        Entity.parent_id == Episode.entity_id,
        Entity.region_id == Episode.entity_id,
        Entity.cluster_id == Episode.entity_id,
        region.parent_id == Episode.entity_id,
    )
    statement = (
        select(Entity.id, Episode.start, Episode.end)
        .select_from(Entity)
        .outerjoin(region, region.id == Entity.region_id)
        .join(Episode, covers)
        .where(
            Entity.level == level,
            or_(Episode.dimension.is_(None), Episode.dimension == dimension),
        )
        .distinct()
        .order_by(Episode.start, Entity.id)
    )
    return [
        Reference(
            start=pd.Timestamp(start),
            entity=entity_id,
            end=pd.Timestamp(end) if end is not None else None,
        )
        for entity_id, start, end in session.execute(statement)
    ]
