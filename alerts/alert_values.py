"""Write a period's new values of many stored alerts at once.

Every period an open alert still fires, its ``last_period``, ``value`` and
``updated_at`` change and nothing else. A province has tens of thousands of them: one
``UPDATE`` per alert cost 7.6 s of a 100,000-firm cycle. PostgreSQL gets one statement
joining the alerts with arrays of the new values; SQLite, where a statement costs no
round trip, the driver's ``executemany``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Date, Float, Integer

from monitor.records import Alert

ALERTS = Alert.__table__


def write_alert_values(
    session: Session, values: Mapping[int, tuple[date, float]], now: datetime
) -> None:
    """Set each alert's ``last_period`` and ``value`` (alert id -> both) and ``updated_at``."""
    if not values:
        return
    if session.get_bind().dialect.name == "postgresql":
        periods, numbers = zip(*values.values(), strict=True)
        given = select(
            func.unnest(bindparam("ids", list(values), ARRAY(Integer))).label("id"),
            func.unnest(bindparam("periods", list(periods), ARRAY(Date))).label("period"),
            func.unnest(bindparam("numbers", list(numbers), ARRAY(Float))).label("number"),
        ).subquery("given")
        session.execute(
            update(ALERTS)
            .where(ALERTS.c.id == given.c.id)
            .values(last_period=given.c.period, value=given.c.number, updated_at=now)
        )
        return
    statement = (
        update(ALERTS)
        .where(ALERTS.c.id == bindparam("alert_id"))
        .values(last_period=bindparam("new_period"), value=bindparam("number"), updated_at=now)
    )
    session.execute(
        statement,
        [
            {"alert_id": alert_id, "new_period": period, "number": number}
            for alert_id, (period, number) in values.items()
        ],
    )
