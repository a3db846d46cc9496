"""Response playbooks: what to do about a warning of one dimension at one level.

Admins write them in the console; each alert shows the playbook of its dimension ×
level and every notification about it carries the text.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.errors import AlertError
from monitor.records import Alert, Playbook, utc_now
from monitor.vocabulary import Dimension, Level


def set_playbook(
    session: Session,
    *,
    dimension: str,
    level: str,
    text_zh: str,
    text_en: str = "",
    actor: str,
    now: datetime | None = None,
) -> Playbook:
    """Write (or rewrite) the playbook of ``dimension`` × ``level``."""
    if dimension not in set(Dimension) or level not in set(Level):
        raise AlertError(
            "unknown dimension or level: %(dimension)s, %(level)s",
            dimension=repr(dimension),
            level=repr(level),
        )
    if not (text_zh.strip() or text_en.strip()):
        raise AlertError("a playbook needs a text")
    playbook = session.scalar(
        select(Playbook).where(Playbook.dimension == dimension, Playbook.level == level)
    )
    if playbook is None:
        playbook = Playbook(dimension=dimension, level=level)
        session.add(playbook)
    playbook.text_zh = text_zh.strip()
    playbook.text_en = text_en.strip()
    playbook.updated_at = now or utc_now()
    playbook.updated_by = actor
    session.flush()
    return playbook


def playbook_for(session: Session, alert: Alert) -> Playbook | None:
    """The playbook attached to ``alert`` (its dimension × level), if one is written."""
    return session.scalar(
        select(Playbook).where(Playbook.dimension == alert.dimension, Playbook.level == alert.level)
    )


def list_playbooks(session: Session) -> list[Playbook]:
    """Every playbook, by level then dimension."""
    return list(session.scalars(select(Playbook).order_by(Playbook.level, Playbook.dimension)))


def delete_playbook(session: Session, playbook: Playbook) -> None:
    session.delete(playbook)
