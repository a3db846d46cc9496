"""The demo's live feed: each scheduled pull publishes the next completed month.

The demo history ends at ``DEMO_LAST_PERIOD``; afterwards the feed behaves like a
statistics office publishing one month at a time, but only months that are over by
``now`` (nothing from the future). The generator is deterministic per period, so a
published month holds the same numbers a full regeneration would.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select

from monitor.db import Database
from monitor.demo.load import extend_demo
from monitor.ingest import IngestReport
from monitor.periods import next_period
from monitor.records import Indicator, Observation, utc_now

FEED_FREQUENCY = "M"


def latest_monthly_period(database: Database) -> date | None:
    """The newest period of any monthly indicator, or None before the demo is loaded."""
    with database.session() as session:
        return session.scalar(
            select(func.max(Observation.period))
            .join(Indicator, Indicator.id == Observation.indicator_id)
            .where(Indicator.frequency == FEED_FREQUENCY)
        )


def pull_next_period(database: Database, *, now: datetime | None = None) -> IngestReport | None:
    """Publish the month after the newest one if it is over; None when nothing is due."""
    latest = latest_monthly_period(database)
    if latest is None:
        return None
    candidate = next_period(latest, FEED_FREQUENCY)
    today = (now or utc_now()).date()
    if next_period(candidate, FEED_FREQUENCY) > today:
        return None  # that month is not over yet
    return extend_demo(database, candidate, now=now)
