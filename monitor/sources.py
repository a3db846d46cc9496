"""Sources as rows: add, change, list and find them; load them from a deployment file.

These are also the console's service functions for the Sources page (admins):
``add_source``, ``update_source``, ``list_sources``, ``get_source``, ``source_summary``.

A deployment file (``clusterwatch source load FILE``) is YAML::

    sources:
      - name: stats-monthly
        kind: csv                 # csv (also .xlsx), folder, http_json, sdmx, sql, push
        location: /data/stats/monthly.csv
        cron: "0 6 * * *"         # Asia/Shanghai time
        enabled: true
        policy: quarantine        # or fail
        options:
          code_map:
            indicators: {工业增加值: GOV_IVA}
            entities: {山东省: SD}

Loading is idempotent: a source already there is updated to match the file.
Secrets never go in the file or the database: options name environment variables.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.connectors.base import KINDS
from monitor.connectors.codemap import CodeMap, CodeMapError
from monitor.errors import ClusterWatchError, NotFound
from monitor.ingest import POLICIES, QUARANTINE
from monitor.records import Source

__all__ = [
    "SourceError",
    "add_source",
    "get_source",
    "list_sources",
    "load_sources",
    "source_summary",
    "update_source",
    "validate_cron",
]

NEEDS_LOCATION = {"csv", "folder", "sql"}
FIELDS = {"name", "kind", "location", "cron", "enabled", "policy", "options"}
SECRET_WORDS = ("password", "secret", "token", "apikey", "api_key")


class SourceError(ClusterWatchError):
    """A source definition is invalid."""


def validate_cron(cron: str) -> str:
    """Return ``cron`` if it is a valid five-field crontab expression, else raise."""
    try:
        CronTrigger.from_crontab(cron)
    except ValueError as exc:
        raise SourceError(
            "invalid cron schedule %(cron)s: %(error)s", cron=repr(cron), error=str(exc)
        ) from exc
    return cron


def _check_options(options: Any) -> dict[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise SourceError("options must be a table")
    try:
        CodeMap.from_options(options)
    except CodeMapError as exc:
        raise SourceError(str(exc)) from exc
    for key in options:
        if any(word in str(key).lower() for word in SECRET_WORDS):
            raise SourceError(
                "option %(key)s looks like a secret; name an environment variable instead",
                key=repr(key),
            )
    return dict(options)


def _check(kind: str, location: str, policy: str) -> None:
    if kind not in KINDS:
        raise SourceError(
            "unknown source kind %(kind)s; expected one of %(kinds)s",
            kind=repr(kind),
            kinds=", ".join(KINDS),
        )
    if kind in NEEDS_LOCATION and not location:
        raise SourceError(
            "a %(kind)s source needs the file, folder or database it reads (--location)",
            kind=kind,
        )
    if policy not in POLICIES:
        raise SourceError(
            "unknown validation policy %(policy)s; use quarantine or fail", policy=repr(policy)
        )


def add_source(
    session: Session,
    *,
    name: str,
    kind: str,
    location: str = "",
    cron: str | None = None,
    enabled: bool = True,
    policy: str = QUARANTINE,
    options: Mapping[str, Any] | None = None,
) -> Source:
    """Add a source; its name must be new, its kind known and its schedule valid."""
    name = name.strip()
    if not name:
        raise SourceError("a source needs a name")
    _check(kind, location, policy)
    if session.scalar(select(Source.id).where(Source.name == name)) is not None:
        raise SourceError("source %(name)s already exists", name=repr(name))
    source = Source(
        name=name,
        kind=kind,
        location=location,
        cron=validate_cron(cron) if cron else None,
        enabled=enabled,
        policy=policy,
        options=_check_options(options),
    )
    session.add(source)
    session.flush()
    return source


def update_source(session: Session, name: str, **changes: Any) -> Source:
    """Change a source's kind, location, cron, enabled, policy or options."""
    unknown = set(changes) - (FIELDS - {"name"})
    if unknown:
        raise SourceError(f"cannot change {', '.join(sorted(unknown))}")
    source = get_source(session, name)
    kind = changes.get("kind", source.kind)
    location = changes.get("location", source.location) or ""
    policy = changes.get("policy", source.policy)
    _check(kind, location, policy)
    if "cron" in changes:
        source.cron = validate_cron(changes["cron"]) if changes["cron"] else None
    if "options" in changes:
        source.options = _check_options(changes["options"])
    if "enabled" in changes:
        source.enabled = bool(changes["enabled"])
    source.kind, source.location, source.policy = kind, location, policy
    session.flush()
    return source


def get_source(session: Session, name: str) -> Source:
    found = session.scalar(select(Source).where(Source.name == name))
    if found is None:
        raise NotFound(f"no source called {name!r}")
    return found


def list_sources(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).order_by(Source.name)))


def source_summary(source: Source) -> dict[str, Any]:
    """A JSON-ready description of a source (for the console and ``source list --json``)."""
    return {
        "id": source.id,
        "name": source.name,
        "kind": source.kind,
        "location": source.location,
        "cron": source.cron,
        "enabled": source.enabled,
        "policy": source.policy,
        "options": source.options or {},
    }


def load_sources(session: Session, path: Path) -> tuple[list[str], list[str]]:
    """Add or update the sources of a YAML file; returns (added, updated) names.

    The file is checked whole before anything is stored: one bad entry changes nothing.
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SourceError(f"{path.name}: cannot read the sources file: {exc}") from None
    entries = document.get("sources") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        raise SourceError(f"{path.name}: expected a top-level 'sources' list")
    added: list[str] = []
    updated: list[str] = []
    with session.begin_nested():
        for number, entry in enumerate(entries, start=1):
            if not isinstance(entry, Mapping) or not entry.get("name"):
                raise SourceError(f"{path.name}: source #{number} needs a name")
            unknown = set(entry) - FIELDS
            if unknown:
                raise SourceError(
                    f"{path.name}: source {entry['name']!r}: unknown keys {sorted(unknown)}"
                )
            name = str(entry["name"]).strip()
            fields = {key: value for key, value in entry.items() if key != "name"}
            fields.setdefault("kind", "csv")
            exists = session.scalar(select(Source.id).where(Source.name == name)) is not None
            try:
                if exists:
                    update_source(session, name, **fields)
                    updated.append(name)
                else:
                    add_source(session, name=name, **fields)
                    added.append(name)
            except SourceError as exc:
                raise SourceError(f"{path.name}: source {name!r}: {exc}") from None
    return added, updated
