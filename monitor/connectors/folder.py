"""A watched folder: files dropped there are ingested on each run, then archived.

Each file goes to ``archive/<outcome>/`` under the folder - ``succeeded`` (every row
stored), ``partial`` (some rows rejected) or ``failed`` (nothing stored) - with its
report beside it as ``<file>.report.json``. A name already in the archive gets the
run's time stamp in front, so nothing is overwritten.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.connectors.base import Progress, SourceSpec
from monitor.connectors.files import pull_file
from monitor.db import Database
from monitor.errors import IngestError
from monitor.ingest import IngestReport
from monitor.records import utc_now

__all__ = ["ARCHIVE", "INGESTIBLE", "archive_file", "pull_folder"]

ARCHIVE = "archive"
INGESTIBLE = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}


def waiting_files(folder: Path) -> list[Path]:
    """The files waiting in ``folder``, oldest first (hidden and partial files skipped)."""
    if not folder.is_dir():
        raise IngestError(f"watched folder {folder} does not exist")
    found = [
        path
        for path in folder.iterdir()
        if path.is_file()
        and not path.name.startswith((".", "~$"))
        and path.suffix.lower() in INGESTIBLE
    ]
    return sorted(found, key=lambda path: (path.stat().st_mtime, path.name))


def archive_file(path: Path, outcome: str, report: dict[str, Any], stamp: datetime) -> Path:
    """Move ``path`` to ``archive/<outcome>/`` and write its report beside it."""
    target_dir = path.parent / ARCHIVE / outcome
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        target = target_dir / f"{stamp:%Y%m%dT%H%M%S}-{path.name}"
    shutil.move(str(path), target)
    report_path = target.with_name(target.name + ".report.json")
    report_path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return target


def pull_folder(
    database: Database,
    spec: SourceSpec,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> list[IngestReport]:
    """Ingest every waiting file of the folder at the source's location and archive it."""
    folder = Path(spec.location)
    files = waiting_files(folder)
    reports: list[IngestReport] = []
    stamp = now or utc_now()
    for done, path in enumerate(files):
        try:
            report = pull_file(database, spec, path=path, now=now)
        except IngestError as exc:
            archive_file(path, "failed", {"file": path.name, "error": str(exc)}, stamp)
            continue
        outcome = "partial" if report.rejected else "succeeded"
        archive_file(path, outcome, report.as_dict(), stamp)
        reports.append(report)
        if progress is not None:
            progress((done + 1) / len(files))
    return reports
