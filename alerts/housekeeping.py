"""The periodic alert chores a scheduler runs: mark stale alerts, raise stale-data and
source alerts, queue reminders.

Each chore commits on its own, so a failure in one leaves the other's work stored.
The delivery job (``alerts.dispatch.deliver_due``) sends what they queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from alerts.policy import load_policy
from alerts.reminders import queue_reminders
from alerts.source_alerts import raise_source_alerts
from alerts.stale_data import raise_stale_data_alerts
from alerts.staleness import mark_stale
from monitor.db import Database
from monitor.records import utc_now

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HousekeepingReport:
    """How many alerts turned stale, how many stale-data and source alerts changed
    (opened, escalated or resolved) and how many reminders were queued."""

    stale: int = 0
    stale_data: int = 0
    source_alerts: int = 0
    reminders: int = 0


def run_housekeeping(database: Database, *, now: datetime | None = None) -> HousekeepingReport:
    """Mark overdue series' alerts stale, raise stale-data alerts for overdue series and
    source alerts for sources that missed their runs, then queue the due reminders."""
    now = now or utc_now()
    with database.session() as session:
        policy = load_policy(session)
        stale = len(mark_stale(session, now=now, policy=policy))
    with database.session() as session:
        stale_data = raise_stale_data_alerts(session, now=now, policy=policy).changed
    with database.session() as session:
        source_alerts = raise_source_alerts(session, now=now).changed
    with database.session() as session:
        reminders = len(queue_reminders(session, now=now, policy=policy))
    report = HousekeepingReport(stale, stale_data, source_alerts, reminders)
    if any((stale, stale_data, source_alerts, reminders)):
        logger.info("alert housekeeping: %s", report)
    return report
