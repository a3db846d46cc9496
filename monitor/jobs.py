"""What the scheduler runs: pull one source and score what changed; deliver the outbox.

Jobs are referenced by text and take plain ids, so the persistent job store holds
nothing but names and numbers. Each job opens the process's database from the
settings; expected failures are stored on the job run and logged, and the scheduler
carries on.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from alerts.dispatch import DeliveryReport, deliver_due
from monitor.config import Settings
from monitor.db import Database, database_for
from monitor.errors import IngestError
from monitor.pipeline import ScoreReport, score_indicators
from monitor.records import Source
from monitor.vocabulary import SourceKind

if TYPE_CHECKING:
    from monitor.ingest import IngestReport

logger = logging.getLogger(__name__)

RUN_SOURCE = "monitor.jobs:run_source"
DELIVER = "monitor.jobs:deliver"


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
    report = deliver_due(database, settings)
    if report.sent or report.retried or report.dead:
        logger.info("delivery: %s", report)


def pull_and_score(
    database: Database, source_id: int, *, now: datetime | None = None
) -> tuple[IngestReport | None, ScoreReport | None]:
    """Pull one source; when it changed observations, score the indicators it touched."""
    from monitor.demo.feed import pull_next_period  # the demo generator is heavy to import
    from monitor.ingest import ingest_file

    with database.session() as session:
        source = session.get_one(Source, source_id)
        kind, location, name = source.kind, source.location, source.name
        enabled = source.enabled
    if not enabled:
        logger.info("source %s is disabled; skipped", source_id)
        return None, None
    try:
        if kind == SourceKind.DEMO:
            ingest = pull_next_period(database, source_name=name, now=now)
        else:
            ingest = ingest_file(database, Path(location), source_name=name, now=now)
    except IngestError as exc:
        logger.warning("source %s: pull failed: %s", source_id, exc)
        return None, None
    if ingest is None or not ingest.changed:
        return ingest, None
    return ingest, score_indicators(database, changed=ingest.changed, now=now)


def deliver_now(settings: Settings, database: Database) -> DeliveryReport:
    """Drain what is due at once (the command line's ``clusterwatch deliver``)."""
    return deliver_due(database, settings)
