"""Data-side staleness: series whose next value is overdue, sources that missed their run.

A series is late when more periods of its indicator's frequency have ended without a
value than the alert policy allows (``AlertPolicy.stale_after``, shared with
``alerts.staleness``, which moves the open alerts of such series to ``stale``). A
scheduled source is late when its last scheduled fire (in Asia/Shanghai time, as the
scheduler reads crons) is more than a grace period ago and no ingest of it has
succeeded since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.policy import AlertPolicy, load_policy
from alerts.staleness import LOCAL_TIME, periods_missed
from monitor.periods import MONTHS_PER_STEP, format_period
from monitor.queries import entities_by_id
from monitor.records import Indicator, JobRun, Observation, Source, utc_now
from monitor.vocabulary import Frequency, RunStatus

__all__ = [
    "LateSeries",
    "LateSource",
    "OverdueSeries",
    "last_successes",
    "late_cutoff",
    "late_series",
    "late_sources",
    "missed_fire",
    "overdue_series",
]

SOURCE_GRACE = timedelta(hours=2)
LOOK_BACKS = (timedelta(hours=1), timedelta(days=1), timedelta(days=40), timedelta(days=400))


@dataclass(frozen=True)
class LateSeries:
    indicator: str
    entity: str
    frequency: str
    latest: str  # the last period with a value, e.g. 2024-03
    missed: int  # periods ended since without a value

    def describe(self) -> str:
        return (
            f"{self.indicator} / {self.entity}: no value since {self.latest} "
            f"({self.missed} periods missed)"
        )


@dataclass(frozen=True)
class LateSource:
    name: str
    cron: str
    due_at: datetime  # the scheduled fire that has not produced a successful ingest
    last_success: datetime | None

    def describe(self) -> str:
        last = self.last_success.isoformat() if self.last_success else "never"
        return (
            f"source {self.name}: due {self.due_at.isoformat()} ({self.cron}); last success {last}"
        )


@dataclass(frozen=True)
class OverdueSeries:
    """A series (by ids) whose latest value is older than its frequency allows."""

    entity_id: int
    indicator_id: int
    frequency: str
    latest: date  # the last period with a value
    missed: int  # periods ended since without a value
    allowed: int  # periods the policy lets it miss


def late_cutoff(frequency: str, today: date, allowed: int) -> date:
    """The first day of the earliest period whose value keeps a series on time.

    A series is late when its latest period is before this date.
    """
    step = MONTHS_PER_STEP[Frequency(frequency)]
    index = (today.year * 12 + today.month - 1) // step - allowed
    months = index * step
    return date(months // 12, months % 12 + 1, 1)


def overdue_series(session: Session, today: date, policy: AlertPolicy) -> list[OverdueSeries]:
    """Every series whose latest value is older than its frequency allows.

    One grouped query per frequency; the database returns only the late series.
    """
    late: list[OverdueSeries] = []
    for frequency in Frequency:
        allowed = policy.stale_after(frequency)
        latest = func.max(Observation.period)
        rows = session.execute(
            select(Observation.entity_id, Observation.indicator_id, latest)
            .join(Indicator, Indicator.id == Observation.indicator_id)
            .where(Indicator.frequency == frequency.value)
            .group_by(Observation.entity_id, Observation.indicator_id)
            .having(latest < late_cutoff(frequency, today, allowed))
        ).all()
        late.extend(
            OverdueSeries(entity_id, indicator_id, frequency.value, period, missed, allowed)
            for entity_id, indicator_id, period in rows
            if (missed := periods_missed(period, frequency.value, today)) >= allowed
        )
    return late


def late_series(session: Session, *, now: datetime | None = None) -> list[LateSeries]:
    """Every (indicator, entity) series that has missed more periods than allowed."""
    now = now or utc_now()
    overdue = overdue_series(session, now.astimezone(LOCAL_TIME).date(), load_policy(session))
    indicators = {i: code for i, code in session.execute(select(Indicator.id, Indicator.code))}
    entities = entities_by_id(session, (series.entity_id for series in overdue))
    late = [
        LateSeries(
            indicators[series.indicator_id],
            entities[series.entity_id].code,
            series.frequency,
            format_period(series.latest, series.frequency),
            series.missed,
        )
        for series in overdue
    ]
    return sorted(late, key=lambda series: (series.indicator, series.entity))


def last_fire(cron: str, now: datetime) -> datetime | None:
    """The latest fire of ``cron`` at or before ``now`` (within ``LOOK_BACKS``' longest).

    Windows grow from an hour to a year, so a frequent cron is not stepped through
    a year of fires.
    """
    trigger = CronTrigger.from_crontab(cron, timezone=LOCAL_TIME)
    for window in LOOK_BACKS:
        fire = trigger.get_next_fire_time(None, now - window)
        previous = None
        while fire is not None and fire <= now:
            previous = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if previous is not None:
            return previous
    return None


def last_successes(session: Session) -> dict[int, datetime]:
    """Per source id, when its latest successful run ended (started, if still unset)."""
    ended = func.coalesce(JobRun.finished_at, JobRun.started_at)
    rows = session.execute(
        select(JobRun.source_id, func.max(ended))
        .where(JobRun.status == RunStatus.SUCCEEDED, JobRun.source_id.is_not(None))
        .group_by(JobRun.source_id)
    )
    return {
        source_id: moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        for source_id, moment in rows
    }


def missed_fire(cron: str, last_success: datetime | None, now: datetime) -> datetime | None:
    """The latest fire of ``cron`` (more than ``SOURCE_GRACE`` ago) that no successful
    run followed; None when the source is on time or the schedule is not valid."""
    try:
        due = last_fire(cron, now - SOURCE_GRACE)
    except ValueError:
        return None
    if due is None or (last_success is not None and last_success >= due):
        return None
    return due


def late_sources(session: Session, *, now: datetime | None = None) -> list[LateSource]:
    """Enabled scheduled sources whose last due run has not succeeded (after a grace)."""
    now = now or utc_now()
    successes = last_successes(session)
    late = []
    sources = session.scalars(
        select(Source)
        .where(Source.enabled.is_(True), Source.cron.is_not(None))
        .order_by(Source.name)
    )
    for source in sources:
        success = successes.get(source.id)
        due = missed_fire(source.cron or "", success, now)
        if due is not None:
            late.append(LateSource(source.name, source.cron or "", due, success))
    return late
