"""What the scheduler runs: pull one source and score what changed; deliver the outbox.

Jobs are referenced by text and take plain ids, so the persistent job store holds
nothing but names and numbers. Each job opens the process's database from the
settings; expected failures are stored on the job run and logged, and the scheduler
carries on.

The console's Sources and job pages call ``run_now``, ``upload_file``, ``recent_runs``,
``rejected_rows`` and ``run_progress``; the command line's ``backfill`` calls
``backfill``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from alerts.dispatch import DeliveryReport, deliver_due
from alerts.housekeeping import run_housekeeping
from alerts.source_dispatch import deliver_source_notices
from alerts.states import NoticeStatus
from monitor.config import Settings
from monitor.connectors.base import SourceSpec, pull
from monitor.db import Database, database_for
from monitor.errors import IngestError
from monitor.pipeline import ScoreReport, score_indicators
from monitor.progress import Tracker, live_progress
from monitor.records import JobRun, Observation, RejectedRow, Source, utc_now
from monitor.vocabulary import RunStatus

if TYPE_CHECKING:
    from monitor.ingest import IngestReport

__all__ = [
    "BackfillReport",
    "backfill",
    "deliver",
    "deliver_now",
    "pull_and_score",
    "recent_runs",
    "rejected_rows",
    "run_now",
    "run_progress",
    "run_source",
    "upload_file",
]

logger = logging.getLogger(__name__)

RUN_SOURCE = "monitor.jobs:run_source"
DELIVER = "monitor.jobs:deliver"
HOUSEKEEPING = "monitor.jobs:housekeeping"
Progress = Callable[[float], None]


def _database() -> tuple[Settings, Database]:
    settings = Settings.from_env()
    return settings, database_for(settings.database_url)


def run_source(source_id: int) -> None:
    """Scheduled entry point: pull source ``source_id`` and score what it changed."""
    _settings, database = _database()
    pull_and_score(database, source_id)


def deliver() -> None:
    """Scheduled entry point: send the notifications that are due."""
    settings, database = _database()
    report = deliver_all(settings, database)
    if report.sent or report.retried or report.dead:
        logger.info("delivery: %s", report)


def housekeeping() -> None:
    """Scheduled entry point: mark alerts of overdue series stale, queue due reminders."""
    _settings, database = _database()
    run_housekeeping(database)


def _spec(database: Database, source_id: int) -> SourceSpec:
    with database.session() as session:
        return SourceSpec.of(session.get_one(Source, source_id))


def _merge_changed(reports: Sequence[IngestReport]) -> dict[int, date]:
    changed: dict[int, date] = {}
    for report in reports:
        for indicator, first in report.changed.items():
            changed[indicator] = min(first, changed.get(indicator, first))
    return changed


def pull_and_score(
    database: Database,
    source_id: int,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
    force: bool = False,
) -> tuple[IngestReport | None, ScoreReport | None]:
    """Pull one source; when it changed observations, score the indicators it touched.

    A disabled source is skipped unless ``force`` (an admin's "run now"). A watched
    folder may ingest several files: the last report is returned, all are scored.
    """
    spec = _spec(database, source_id)
    with database.session() as session:
        enabled = session.get_one(Source, source_id).enabled
    if not enabled and not force:
        logger.info("source %s is disabled; skipped", source_id)
        return None, None
    try:
        reports = pull(database, spec, now=now, progress=progress)
    except IngestError as exc:
        logger.warning("source %s: pull failed: %s", source_id, exc)
        return None, None
    changed = _merge_changed(reports)
    last = reports[-1] if reports else None
    if not changed:
        return last, None
    return last, score_indicators(database, changed=changed, now=now)


def run_now(
    database: Database, name: str, *, progress: Progress | None = None
) -> tuple[IngestReport | None, ScoreReport | None]:
    """Console / command line "run now": pull source ``name`` at once, even if disabled."""
    from monitor.sources import get_source

    with database.session() as session:
        source_id = get_source(session, name).id
    return pull_and_score(database, source_id, progress=progress, force=True)


def upload_file(
    database: Database, name: str, filename: str, data: bytes, *, folder: Path
) -> tuple[IngestReport | None, ScoreReport | None]:
    """Ingest a file an admin uploaded for source ``name``, then score what changed.

    The file is kept under ``folder`` (the uploads folder) with its original name.
    """
    from monitor.connectors.files import pull_file
    from monitor.sources import get_source

    safe = Path(filename).name
    if not safe or safe.startswith("."):
        raise IngestError(f"unusable file name {filename!r}")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe
    target.write_bytes(data)
    with database.session() as session:
        spec = SourceSpec.of(get_source(session, name))
    report = pull_file(database, spec, path=target)
    if not report.changed:
        return report, None
    return report, score_indicators(database, changed=report.changed)


def _run_dict(run: JobRun, live: tuple[float, datetime | None] | None = None) -> dict[str, Any]:
    """A job run as the console and the command line show it; ``live`` is the progress
    a running job stored aside (on SQLite, while its transaction is open)."""
    progress, eta = live if live is not None else (run.progress, run.eta)
    seconds = (
        (run.finished_at - run.started_at).total_seconds() if run.finished_at is not None else None
    )
    return {
        "id": run.id,
        "job": run.job,
        "source_id": run.source_id,
        "file": run.file_name,
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "seconds": seconds,
        "progress": progress,
        "eta": eta.isoformat() if eta else None,
        "read": run.rows_read,
        "accepted": run.rows_accepted,
        "rejected": run.rows_rejected,
        "inserted": run.rows_inserted,
        "updated": run.rows_updated,
        "unchanged": run.rows_unchanged,
        "error": run.error,
    }


def recent_runs(
    database: Database,
    *,
    source: str | None = None,
    job: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Job-run history, newest first: durations, row counts, status, error, progress.

    ``before`` (a run id) gives the page after one that ended with that run.
    """
    with database.session() as session:
        query = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
        if source is not None:
            query = query.join(Source, JobRun.source_id == Source.id).where(Source.name == source)
        if job is not None:
            query = query.where(JobRun.job == job)
        if before is not None:
            query = query.where(JobRun.id < before)
        return _with_live(database, list(session.scalars(query)))


def run_progress(database: Database, run_id: int) -> dict[str, Any]:
    """One job run as ``recent_runs`` describes it (poll it for a progress bar)."""
    with database.session() as session:
        (run,) = _with_live(database, [session.get_one(JobRun, run_id)])
        return run


def _with_live(database: Database, runs: list[JobRun]) -> list[dict[str, Any]]:
    running = [run.id for run in runs if run.status == RunStatus.RUNNING]
    live = live_progress(database, running)
    return [_run_dict(run, live.get(run.id)) for run in runs]


def rejected_rows(
    database: Database, run_id: int, *, limit: int = 200, offset: int = 0
) -> list[dict[str, Any]]:
    """The rows a run rejected, in file order, with their raw cells and reasons."""
    with database.session() as session:
        rows = session.scalars(
            select(RejectedRow)
            .where(RejectedRow.job_run_id == run_id)
            .order_by(RejectedRow.row_number, RejectedRow.id)
            .limit(limit)
            .offset(offset)
        )
        return [{"row": r.row_number, "reason": r.reason, "raw": r.raw} for r in rows]


@dataclass
class BackfillReport:
    """What a backfill pulled and scored."""

    first: date
    last: date
    pulled: dict[str, int] = field(default_factory=dict)  # source -> rows accepted
    failed: dict[str, str] = field(default_factory=dict)  # source -> error
    score: ScoreReport | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "pulled": self.pulled,
            "failed": self.failed,
            "score": self.score.as_dict() if self.score else None,
        }


def _for_range(spec: SourceSpec, first: date, last: date) -> SourceSpec:
    """The source with ``{from}``, ``{to}``, ``{from_year}``, ``{to_year}`` filled in
    its location, url and query (how an API or database is asked for a range)."""
    values = {
        "from": first.strftime("%Y-%m"),
        "to": last.strftime("%Y-%m"),
        "from_year": str(first.year),
        "to_year": str(last.year),
    }

    def fill(text: str) -> str:
        for key, value in values.items():
            text = text.replace("{" + key + "}", value)
        return text

    options = dict(spec.options)
    for key in ("url", "query"):
        if isinstance(options.get(key), str):
            options[key] = fill(options[key])
    return SourceSpec(spec.id, spec.name, spec.kind, fill(spec.location), spec.policy, options)


def open_run(database: Database, job: str, *, now: datetime | None = None) -> int:
    """A committed, running job run (its page shows progress while the job works)."""
    with database.session() as session:
        run = JobRun(job=job, status=RunStatus.RUNNING, started_at=now or utc_now(), progress=0.0)
        session.add(run)
        session.flush()
        return run.id


def close_run(
    database: Database,
    run_id: int,
    *,
    error: str | None = None,
    rows: int | None = None,
    progress: float | None = None,
) -> None:
    """Mark a job run finished: succeeded, or failed with ``error`` after ``progress``."""
    with database.session() as session:
        run = session.get_one(JobRun, run_id)
        run.status = RunStatus.FAILED if error else RunStatus.SUCCEEDED
        run.error = error
        run.finished_at = utc_now()
        run.eta = None
        run.progress = 1.0 if not error else progress
        if rows is not None:
            run.rows_read = run.rows_accepted = rows


def backfill(
    database: Database,
    first: date,
    last: date,
    *,
    sources: Sequence[str] | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    run_id: int | None = None,
) -> BackfillReport:
    """Pull the sources for periods ``first``..``last`` and rescore that range.

    Each (enabled, pulled) source is asked for the range through its placeholders;
    then every indicator with observations in the range is scored from ``first``, as
    history (nobody is notified). The backfill is a job run of its own (``run_id``, or a
    new one), whose progress and estimated end the console shows; ``progress`` gets
    the fraction of the work done too (the command line's bar).
    """
    if last < first:
        raise IngestError(f"backfill range is empty: {first} is after {last}")
    run_id = run_id if run_id is not None else open_run(database, "backfill")
    with database.session() as session:
        started = session.get_one(JobRun, run_id).started_at
    report_progress = Tracker(database, run_id, started, progress)
    try:
        report = _backfill(database, first, last, sources, report_progress, now)
    except Exception as exc:
        error = str(exc)[:2000] or type(exc).__name__
        close_run(database, run_id, error=error, progress=report_progress.fraction)
        raise
    failed = "; ".join(f"{name}: {error}" for name, error in report.failed.items())
    rows = sum(report.pulled.values())
    close_run(database, run_id, error=failed or None, rows=rows, progress=report_progress.fraction)
    if progress is not None:
        progress(1.0)
    return report


def _backfill(
    database: Database,
    first: date,
    last: date,
    sources: Sequence[str] | None,
    progress: Progress,
    now: datetime | None,
) -> BackfillReport:
    report = BackfillReport(first, last)
    with database.session() as session:
        query = select(Source).where(Source.kind != "push").order_by(Source.name)
        if sources:
            query = query.where(Source.name.in_(list(sources)))
        else:
            query = query.where(Source.enabled.is_(True), Source.kind != "demo")
        specs = [SourceSpec.of(source) for source in session.scalars(query)]
    missing = sorted(set(sources or []) - {spec.name for spec in specs})
    if missing:
        raise IngestError(f"no pulled source called {', '.join(missing)}")
    # Pulling takes about half of a backfill, rescoring the rest.
    pulling = 0.5 if specs else 0.0
    for done, spec in enumerate(specs):
        try:
            pulled = pull(database, _for_range(spec, first, last), now=now)
        except IngestError as exc:
            report.failed[spec.name] = str(exc)
        else:
            report.pulled[spec.name] = sum(item.accepted for item in pulled)
        progress(pulling * (done + 1) / len(specs))
    with database.session() as session:
        touched = session.scalars(
            select(Observation.indicator_id)
            .where(Observation.period >= first, Observation.period <= last)
            .distinct()
        )
        changed = dict.fromkeys(touched, first)
    if changed:
        report.score = score_indicators(
            database,
            changed=changed,
            notify=False,
            now=now,
            progress=lambda fraction: progress(pulling + (1 - pulling) * fraction),
        )
    return report


def deliver_now(settings: Settings, database: Database) -> DeliveryReport:
    """Drain what is due at once (the command line's ``clusterwatch deliver``)."""
    return deliver_all(settings, database)


def deliver_all(settings: Settings, database: Database) -> DeliveryReport:
    """Send the due alert deliveries, then the due source-alert notices; count both."""
    report = deliver_due(database, settings)
    sources = deliver_source_notices(database, settings)
    return replace(
        report,
        sent=report.sent + sources.get(NoticeStatus.SENT, 0),
        retried=report.retried + sources.get(NoticeStatus.PENDING, 0),
        dead=report.dead + sources.get(NoticeStatus.DEAD, 0),
    )
