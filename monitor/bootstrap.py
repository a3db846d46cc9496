"""First start of the embedded default: schema, demo data, backfill, channels, admin."""

from __future__ import annotations

import logging
import time

from sqlalchemy import select

from alerts.channels import sync_channels_from_settings
from monitor.config import Settings
from monitor.db import Database
from monitor.migrate import upgrade
from monitor.pipeline import score_indicators
from monitor.records import Source
from monitor.users import ADMIN_USERNAME, ensure_admin
from monitor.vocabulary import SourceKind

logger = logging.getLogger(__name__)

DEMO_FEED_CRON = "*/10 * * * *"  # the live demo feed checks for a newly completed month


def load_demo_and_backfill(database: Database, *, backfill: bool = True) -> str:
    """Load the demo data set unless it is there, then score its whole history."""
    from monitor.demo.load import load_demo

    started = time.monotonic()
    report = load_demo(database)
    if not report.loaded:
        return "demo data already loaded; nothing loaded twice"
    _schedule_demo_feed(database)
    lines = [report.message]
    if backfill:
        scored = score_indicators(database)
        lines.append(f"backfilled: {scored.as_dict()}")
    lines.append(f"in {time.monotonic() - started:.1f} s")
    return "\n".join(lines)


def _schedule_demo_feed(database: Database) -> None:
    """Give the demo source its schedule so the live feed publishes new months."""
    from monitor.demo.load import DEMO_SOURCE

    with database.session() as session:
        source = session.scalar(select(Source).where(Source.name == DEMO_SOURCE))
        if source is not None and source.kind == SourceKind.DEMO and not source.cron:
            source.cron = DEMO_FEED_CRON


def prepare_embedded(settings: Settings, database: Database) -> str:
    """Everything the one-process default needs before it serves; returns what to print."""
    upgrade(database)
    lines = [load_demo_and_backfill(database)]
    with database.session() as session:
        sync_channels_from_settings(session, settings)
        password = ensure_admin(session, settings.admin_password)
    if password:
        lines.append(f"first administrator: {ADMIN_USERNAME} / {password}")
    else:
        lines.append(
            f"log in as {ADMIN_USERNAME} (its password was printed at the first start; "
            f"`clusterwatch user password {ADMIN_USERNAME}` sets a new one)"
        )
    lines.append(f"console: {settings.base_url}/")
    return "\n".join(lines)
