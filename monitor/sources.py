"""Sources as rows: add one, find one by name."""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.errors import ClusterWatchError, NotFound
from monitor.records import Source
from monitor.vocabulary import SourceKind


class SourceError(ClusterWatchError):
    """A source definition is invalid."""


def validate_cron(cron: str) -> str:
    """Return ``cron`` if it is a valid five-field crontab expression, else raise."""
    try:
        CronTrigger.from_crontab(cron)
    except ValueError as exc:
        raise SourceError(f"invalid cron schedule {cron!r}: {exc}") from exc
    return cron


def add_source(
    session: Session, *, name: str, kind: str, location: str = "", cron: str | None = None
) -> Source:
    """Add a source; its name must be new, its kind known and its schedule valid."""
    name = name.strip()
    if not name:
        raise SourceError("a source needs a name")
    if kind not in set(SourceKind):
        raise SourceError(f"unknown source kind {kind!r}")
    if kind == SourceKind.CSV and not location:
        raise SourceError("a csv source needs the file it reads (--location)")
    if session.scalar(select(Source.id).where(Source.name == name)) is not None:
        raise SourceError(f"source {name!r} already exists")
    source = Source(
        name=name, kind=kind, location=location, cron=validate_cron(cron) if cron else None
    )
    session.add(source)
    session.flush()
    return source


def get_source(session: Session, name: str) -> Source:
    found = session.scalar(select(Source).where(Source.name == name))
    if found is None:
        raise NotFound(f"no source called {name!r}")
    return found
