"""The database schema: typed SQLAlchemy 2 mappings of every table.

Periods are stored as the first day of the period (``date``); a monthly value for
March 2024 has period 2024-03-01, a quarterly value for 2024Q2 has 2024-04-01 and an
annual value for 2024 has 2024-01-01. Times are stored in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utc_now() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Entity(Base):
    """One monitored thing at one level: a region, a cluster or a firm."""

    __tablename__ = "entities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # province, city, cluster, category, firm
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"), index=True)
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"), index=True)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)

    parent: Mapped[Entity | None] = relationship(remote_side=[id], foreign_keys=[parent_id])
    region: Mapped[Entity | None] = relationship(remote_side=[id], foreign_keys=[region_id])
    cluster: Mapped[Entity | None] = relationship(remote_side=[id], foreign_keys=[cluster_id])

    def name(self, locale: str) -> str:
        return self.name_en if locale.startswith("en") else self.name_zh


class Indicator(Base):
    """A named time-series definition."""

    __tablename__ = "indicators"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    dimension: Mapped[str] = mapped_column(String(16), index=True)
    level: Mapped[str] = mapped_column(String(16), index=True)
    unit: Mapped[str] = mapped_column(String(32), default="")
    frequency: Mapped[str] = mapped_column(String(1))  # M, Q, A
    direction: Mapped[str] = mapped_column(String(8))  # up, down, both
    transform: Mapped[str] = mapped_column(String(8), default="level")  # level, yoy, pop
    core: Mapped[bool] = mapped_column(Boolean, default=False)  # drives stage classification
    description: Mapped[str] = mapped_column(Text, default="")

    def name(self, locale: str) -> str:
        return self.name_en if locale.startswith("en") else self.name_zh


class Source(Base):
    """Where observations come from, with its schedule."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # csv, demo
    location: Mapped[str] = mapped_column(Text, default="")
    cron: Mapped[str | None] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class JobRun(Base):
    """One run of a job: an ingest, a scoring cycle, a delivery pass."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(32), index=True)  # ingest, score, deliver, demo
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"), index=True)
    file_name: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rows_inserted: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)

    source: Mapped[Source | None] = relationship()


class RejectedRow(Base):
    """An input row that was not stored, with the reason why."""

    __tablename__ = "rejected_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_run_id: Mapped[int] = mapped_column(ForeignKey("job_runs.id"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    raw: Mapped[dict[str, str]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)


class Observation(Base):
    """One value of one indicator for one entity for one period."""

    __tablename__ = "observations"
    __table_args__ = (
        UniqueConstraint("indicator_id", "entity_id", "period", name="uq_observation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), index=True)
    period: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    job_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class Threshold(Base):
    """Four-colour cut-offs of one model for a level x dimension, or one indicator.

    For direction ``up`` a value at or above ``red`` is red; for ``down`` at or below;
    for ``both`` the absolute value is compared. ``clear`` is the clearing level a
    firing alert must get back past to recover (hysteresis; ``None`` = the blue
    cut-off) and ``min_periods`` the consecutive breaches needed before it fires.
    """

    __tablename__ = "thresholds"
    __table_args__ = (
        Index(
            "uq_threshold_scope",
            "model",
            "level",
            "dimension",
            text("coalesce(indicator_id, 0)"),
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))
    dimension: Mapped[str] = mapped_column(String(16))
    indicator_id: Mapped[int | None] = mapped_column(ForeignKey("indicators.id"))
    direction: Mapped[str | None] = mapped_column(String(8))  # None: the indicator's
    blue: Mapped[float] = mapped_column(Float)
    yellow: Mapped[float] = mapped_column(Float)
    orange: Mapped[float] = mapped_column(Float)
    red: Mapped[float] = mapped_column(Float)
    clear: Mapped[float | None] = mapped_column(Float)
    min_periods: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_by: Mapped[str | None] = mapped_column(String(100))

    indicator: Mapped[Indicator | None] = relationship()

    def cutoffs(self) -> tuple[float, float, float, float]:
        return (self.blue, self.yellow, self.orange, self.red)


class Score(Base):
    """A model's output for one series and period: the value it compared, its colour."""

    __tablename__ = "scores"

    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), primary_key=True)
    model: Mapped[str] = mapped_column(String(32), primary_key=True)
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    score: Mapped[float | None] = mapped_column(Float)
    severity: Mapped[str | None] = mapped_column(String(8))


class StageRecord(Base):
    """The resilience stage of an entity in one period."""

    __tablename__ = "stages"

    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), primary_key=True)
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    stage: Mapped[str] = mapped_column(String(16))
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))


class Alert(Base):
    """A warning on one series by one model; at most one open per fingerprint."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alert_open_fingerprint",
            "fingerprint",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
        Index("ix_alert_status_opened", "status", "opened_at"),
        Index("ix_alert_level_dimension", "level", "dimension", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(128), index=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), index=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"), index=True)
    model: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))
    dimension: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(8))
    worst_severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="firing")
    period: Mapped[date] = mapped_column(Date)  # the period that opened it
    last_period: Mapped[date] = mapped_column(Date)  # the latest period it fired
    value: Mapped[float | None] = mapped_column(Float)  # the score that crossed
    threshold: Mapped[float | None] = mapped_column(Float)  # the cut-off it crossed
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_period: Mapped[date | None] = mapped_column(Date)
    resolved_by: Mapped[str | None] = mapped_column(String(100))  # None: the series recovered
    response_note: Mapped[str | None] = mapped_column(Text)
    resolution_note: Mapped[str | None] = mapped_column(Text)

    entity: Mapped[Entity] = relationship()
    indicator: Mapped[Indicator] = relationship()
    events: Mapped[list[AlertEvent]] = relationship(
        back_populates="alert", order_by="AlertEvent.id"
    )


class AlertEvent(Base):
    """One transition of an alert: opened, escalated, acknowledged, resolved, ..."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    period: Mapped[date | None] = mapped_column(Date)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    from_severity: Mapped[str | None] = mapped_column(String(8))
    to_severity: Mapped[str | None] = mapped_column(String(8))
    value: Mapped[float | None] = mapped_column(Float)
    actor: Mapped[str | None] = mapped_column(String(100))  # None: the pipeline
    note: Mapped[str | None] = mapped_column(Text)

    alert: Mapped[Alert] = relationship(back_populates="events")


class Channel(Base):
    """A destination for notifications: an email address or a webhook URL."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("kind", "target", name="uq_channel_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # email, webhook
    target: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    min_severity: Mapped[str] = mapped_column(String(8), default="blue")
    levels: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: all
    dimensions: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: all
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class Notification(Base):
    """The outbox: one message about one alert event for one channel."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_id", "channel_id", name="uq_notification_event_channel"),
        Index("ix_notification_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("alert_events.id"))
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    event: Mapped[AlertEvent] = relationship()
    alert: Mapped[Alert] = relationship()
    channel: Mapped[Channel] = relationship()


class User(Base):
    """A console user."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="viewer")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)


class Setting(Base):
    """Small persistent facts of an installation (e.g. that the demo was loaded)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
