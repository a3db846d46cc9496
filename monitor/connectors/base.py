"""What every connector needs: a plain snapshot of the source and the dispatch by kind."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.connectors.codemap import CodeMap
from monitor.db import Database
from monitor.errors import IngestError
from monitor.records import Source

if TYPE_CHECKING:
    from monitor.ingest import IngestReport

__all__ = ["KINDS", "Progress", "SourceSpec", "pull"]

KINDS = ("csv", "demo", "folder", "http_json", "sdmx", "sql", "push")
Progress = Callable[[float], None]


@dataclass(frozen=True)
class SourceSpec:
    """A source's settings, detached from any session."""

    id: int
    name: str
    kind: str
    location: str = ""
    policy: str = "quarantine"
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, source: Source) -> SourceSpec:
        return cls(
            id=source.id,
            name=source.name,
            kind=source.kind,
            location=source.location or "",
            policy=source.policy or "quarantine",
            options=dict(source.options or {}),
        )

    @property
    def code_map(self) -> CodeMap | None:
        return CodeMap.from_options(self.options)


def pull(
    database: Database,
    spec: SourceSpec,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> list[IngestReport]:
    """Pull one source with the connector of its kind."""
    from monitor.connectors import files, folder, http_json, sdmx_source, sql

    if spec.kind == "csv":
        return [files.pull_file(database, spec, now=now, progress=progress)]
    if spec.kind == "folder":
        return folder.pull_folder(database, spec, now=now, progress=progress)
    if spec.kind == "http_json":
        return [http_json.pull_json(database, spec, now=now)]
    if spec.kind == "sdmx":
        return [sdmx_source.pull_sdmx(database, spec, now=now)]
    if spec.kind == "sql":
        return [sql.pull_sql(database, spec, now=now)]
    if spec.kind == "push":
        return []
    if spec.kind == "demo":
        from monitor.demo.feed import pull_next_period

        report = pull_next_period(database, now=now)
        return [report] if report is not None else []
    raise IngestError(f"source {spec.name!r}: no connector for kind {spec.kind!r}")
