"""File sources: one CSV or Excel file at the source's location."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from monitor.connectors.base import Progress, SourceSpec
from monitor.db import Database
from monitor.ingest import IngestReport, ingest_file

__all__ = ["pull_file"]


def pull_file(
    database: Database,
    spec: SourceSpec,
    *,
    path: Path | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest the source's file (or ``path``) with its code map and validation policy."""
    return ingest_file(
        database,
        path or Path(spec.location),
        source_name=spec.name,
        now=now,
        code_map=spec.code_map,
        policy=spec.policy,
        progress=progress,
        source_kind=spec.kind,
    )
