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
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    Unicode,
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
    # How the pipeline computes a derived indicator from inputs (see monitor.derived)
    derivation: Mapped[dict[str, object] | None] = mapped_column(JSON)

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
    # "quarantine" bad rows and store the rest, or "fail" the whole run on any bad row
    policy: Mapped[str] = mapped_column(
        String(16), default="quarantine", server_default="quarantine"
    )
    # Connector settings: code map, response mapping, query, header env-var names (no secrets)
    options: Mapped[dict[str, object] | None] = mapped_column(JSON)


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
    progress: Mapped[float | None] = mapped_column(Float)  # 0..1 while running
    eta: Mapped[datetime | None] = mapped_column(UtcDateTime)

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
        # A new month appends to its indicator's range of the key (migration 0019).
        UniqueConstraint("indicator_id", "period", "entity_id", name="uq_observation"),
    )

    # No foreign keys: ingestion takes every id from the catalogue and its own job run,
    # never from a row, and checks per row halved a first load (migration 0018).
    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column()
    entity_id: Mapped[int] = mapped_column(index=True)
    period: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    job_run_id: Mapped[int | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    flag: Mapped[str | None] = mapped_column(String(16))  # provisional, estimated


class Threshold(Base):
    """Four-colour cut-offs of one model for a level x dimension, or one indicator.

    For direction ``up`` a value at or above ``red`` is red; for ``down`` at or below;
    for ``both`` the absolute value is compared. ``clear`` is the clearing level a
    firing alert must get back past to recover (hysteresis; ``None`` = the blue
    cut-off) and ``min_periods`` the consecutive breaches needed before it fires.
    ``params`` holds the model's own parameters (e.g. ``{"alpha": 0.3}`` for ``ewma``).
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
    # Rule steps after the transform (models.rules form) and "n of the last m" confirmation.
    steps: Mapped[list[object] | None] = mapped_column(JSON)
    confirm: Mapped[dict[str, int] | None] = mapped_column(JSON)
    # The detector's parameters beyond the indicator's transform and frequency.
    params: Mapped[dict[str, object] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_by: Mapped[str | None] = mapped_column(String(100))

    indicator: Mapped[Indicator | None] = relationship()

    def cutoffs(self) -> tuple[float, float, float, float]:
        return (self.blue, self.yellow, self.orange, self.red)


class Score(Base):
    """A model's output for one series and period: the value it compared, its colour."""

    __tablename__ = "scores"
    # Keyed in period order, so a new month appends; an entity's own reads go through
    # the index on the entity (migration 0020).
    __table_args__ = (
        PrimaryKeyConstraint("indicator_id", "model", "period", "entity_id", name="scores_pkey"),
    )

    # No foreign keys: derived rows written by the million by the pipeline alone (0017).
    indicator_id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(primary_key=True, index=True)
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
        # The console's keyset pages walk one of these per sort (see monitor/queries.py).
        Index("ix_alert_opened_id", "opened_at", "id"),
        Index("ix_alert_period_id", "period", "id"),
        Index("ix_alert_severity_id", "severity", "id"),
        Index("ix_alert_model_opened_id", "model", "opened_at", "id"),  # a rare model's alerts
        # The dashboard's trend: a range of recent periods, counted from the index alone.
        Index("ix_alert_period_worst", "period", "worst_severity"),
        # Open alerts only: the newest open alerts, and the heat map's colour counts and
        # the open lists' filters (colour, level, dimension, entity, status) from the index alone.
        Index(
            "ix_alert_open_opened_id",
            "opened_at",
            "id",
            "severity",
            "level",
            "dimension",
            "entity_id",
            "status",
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
        Index(
            "ix_alert_open_colour",
            "severity",
            "level",
            "dimension",
            "entity_id",
            "status",
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
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
    assignee: Mapped[str | None] = mapped_column(String(100))  # who handles the response
    flapping: Mapped[bool] = mapped_column(Boolean, default=False)  # notices held meanwhile
    stale_since: Mapped[datetime | None] = mapped_column(UtcDateTime)  # its series stopped

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
    cause: Mapped[str | None] = mapped_column(String(32))  # why: breach, recovered, no_data, ...

    alert: Mapped[Alert] = relationship(back_populates="events")


class Channel(Base):
    """A destination for notifications: an email address, a webhook or a chat-robot URL."""

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
    secret: Mapped[str | None] = mapped_column(Text)  # signs webhook / DingTalk / Feishu posts
    regions: Mapped[list[int]] = mapped_column(JSON, default=list)  # region entity ids; empty: all


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
    group_key: Mapped[str | None] = mapped_column(String(200))  # level|dimension|scope
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"), index=True)
    muted_reason: Mapped[str | None] = mapped_column(Text)  # why inhibited, silenced, held
    resent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resent_by: Mapped[str | None] = mapped_column(String(100))

    event: Mapped[AlertEvent] = relationship()
    alert: Mapped[Alert] = relationship()
    channel: Mapped[Channel] = relationship()
    delivery: Mapped[Delivery | None] = relationship(back_populates="notifications")


class Delivery(Base):
    """One message to one channel: the notifications of one group, sent and retried together."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_delivery_due", "status", "next_attempt_at"),
        Index("ix_delivery_group", "channel_id", "group_key", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    group_key: Mapped[str] = mapped_column(String(200))
    idempotency_key: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    channel: Mapped[Channel] = relationship()
    notifications: Mapped[list[Notification]] = relationship(
        back_populates="delivery", order_by="Notification.id"
    )


class Route(Base):
    """Which channel gets which alerts; checked in ``position`` order, first match wins.

    Empty matcher lists match everything; ``continue_matching`` goes on to later routes.
    With no enabled route at all, every channel whose own filter accepts an alert gets it.
    """

    __tablename__ = "routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    levels: Mapped[list[str]] = mapped_column(JSON, default=list)
    dimensions: Mapped[list[str]] = mapped_column(JSON, default=list)
    region_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    cluster_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    min_severity: Mapped[str] = mapped_column(String(8), default="blue")
    continue_matching: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_by: Mapped[str | None] = mapped_column(String(100))

    channel: Mapped[Channel] = relationship()


class Silence(Base):
    """Mute notices of matching alerts for a while, or in a recurring window.

    Empty matcher lists match everything, but a silence needs at least one matcher. A
    recurring silence (``yearly``, ``monthly``, ``weekly``) repeats the window
    ``starts_at .. ends_at`` in Asia/Shanghai time until ``repeat_until``.
    """

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(primary_key=True)
    levels: Mapped[list[str]] = mapped_column(JSON, default=list)
    dimensions: Mapped[list[str]] = mapped_column(JSON, default=list)
    region_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    cluster_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    entity_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    indicator_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recurrence: Mapped[str | None] = mapped_column(String(8))  # yearly, monthly, weekly
    repeat_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    author: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    expired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expired_by: Mapped[str | None] = mapped_column(String(100))


class InhibitRule(Base):
    """An open alert at ``source_level`` mutes notices of alerts at ``target_level``.

    With ``equal_dimension`` only alerts of the same dimension are muted, with
    ``same_region`` only those whose entity lies in the source alert's region.
    """

    __tablename__ = "inhibit_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source_level: Mapped[str] = mapped_column(String(16))
    target_level: Mapped[str] = mapped_column(String(16))
    equal_dimension: Mapped[bool] = mapped_column(Boolean, default=True)
    same_region: Mapped[bool] = mapped_column(Boolean, default=True)
    source_min_severity: Mapped[str] = mapped_column(String(8), default="blue")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    created_by: Mapped[str | None] = mapped_column(String(100))


class Playbook(Base):
    """The response staff should take to a warning of one dimension at one level."""

    __tablename__ = "playbooks"
    __table_args__ = (UniqueConstraint("dimension", "level", name="uq_playbook_scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))
    text_zh: Mapped[str] = mapped_column(Text, default="")
    text_en: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_by: Mapped[str | None] = mapped_column(String(100))

    def text(self, locale: str) -> str:
        """The text in ``locale``, falling back to the other language when it is empty."""
        first, second = (
            (self.text_en, self.text_zh)
            if locale.startswith("en")
            else (self.text_zh, self.text_en)
        )
        return first or second


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


class CompositeVersion(Base):
    """One frozen set of composite-index weights of a level, learned on a base window."""

    __tablename__ = "composite_versions"

    id: Mapped[int] = mapped_column(primary_key=True)  # the weights version
    level: Mapped[str] = mapped_column(String(16), index=True)
    base_start: Mapped[date] = mapped_column(Date)
    base_end: Mapped[date] = mapped_column(Date)
    overall_method: Mapped[str] = mapped_column(String(16))  # entropy, equal
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    created_by: Mapped[str | None] = mapped_column(String(100))

    weights: Mapped[list[CompositeWeight]] = relationship(
        back_populates="version", order_by="CompositeWeight.id"
    )


class CompositeWeight(Base):
    """The weight and base-window scale of one indicator in a dimension index, or of
    one dimension (``component``) in the overall index (``dimension`` = 'overall')."""

    __tablename__ = "composite_weights"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("composite_versions.id"), index=True)
    dimension: Mapped[str] = mapped_column(String(16))
    indicator_id: Mapped[int | None] = mapped_column(ForeignKey("indicators.id"))
    component: Mapped[str | None] = mapped_column(String(16))
    weight: Mapped[float] = mapped_column(Float)
    direction: Mapped[str | None] = mapped_column(String(8))
    low: Mapped[float | None] = mapped_column(Float)
    high: Mapped[float | None] = mapped_column(Float)

    version: Mapped[CompositeVersion] = relationship(back_populates="weights")


class CompositeValue(Base):
    """A composite risk index (0-100) of an entity for a dimension or 'overall', one period."""

    __tablename__ = "composite_values"

    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    period: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    severity: Mapped[str | None] = mapped_column(String(8))
    version_id: Mapped[int] = mapped_column(ForeignKey("composite_versions.id"), index=True)


class Shock(Base):
    """One shock episode of an entity and its resilience measures (see models.resilience).

    Recomputed causally from the entity's performance series on every scoring run:
    a shock still under way (``outcome`` 'ongoing') has the measures of the periods
    seen so far. ``depth`` is a fraction of the peak; resistance and recoverability
    are Martin's (2012) against the reference series, ``None`` without one.
    """

    __tablename__ = "shocks"
    __table_args__ = (UniqueConstraint("entity_id", "start", name="uq_shock_entity_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), index=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per entity
    cause: Mapped[str] = mapped_column(String(16))  # drop, warning, relapse
    outcome: Mapped[str] = mapped_column(String(16))  # ongoing, recovered, relapsed
    start: Mapped[date] = mapped_column(Date)
    peak: Mapped[date] = mapped_column(Date)
    trough: Mapped[date] = mapped_column(Date)
    recovery_start: Mapped[date | None] = mapped_column(Date)
    recovered: Mapped[date | None] = mapped_column(Date)
    ended: Mapped[date | None] = mapped_column(Date)  # back in preparation, or relapsed
    latest: Mapped[date] = mapped_column(Date)  # the last period the measures saw
    baseline: Mapped[float] = mapped_column(Float)
    peak_value: Mapped[float] = mapped_column(Float)
    trough_value: Mapped[float] = mapped_column(Float)
    depth: Mapped[float | None] = mapped_column(Float)
    absorption_periods: Mapped[int] = mapped_column(Integer)
    recovery_periods: Mapped[int | None] = mapped_column(Integer)
    duration_periods: Mapped[int | None] = mapped_column(Integer)
    reference_entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"))
    reference_indicator_id: Mapped[int | None] = mapped_column(ForeignKey("indicators.id"))
    resistance: Mapped[float | None] = mapped_column(Float)
    recoverability: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)

    entity: Mapped[Entity] = relationship(foreign_keys=[entity_id])
    indicator: Mapped[Indicator] = relationship(foreign_keys=[indicator_id])
    reference_entity: Mapped[Entity | None] = relationship(foreign_keys=[reference_entity_id])
    reference_indicator: Mapped[Indicator | None] = relationship(
        foreign_keys=[reference_indicator_id]
    )


class Episode(Base):
    """A shock episode dated by staff, the reference a threshold backtest is scored against.

    It is dated for one entity; an episode of a region or cluster covers every entity
    in it. ``dimension`` ``None`` means every dimension; ``end`` ``None`` an episode
    whose end is not known (yet).
    """

    __tablename__ = "episodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"), index=True)
    dimension: Mapped[str | None] = mapped_column(String(16))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    label: Mapped[str] = mapped_column(String(200))
    author: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)

    entity: Mapped[Entity] = relationship()


class AuditEntry(Base):
    """One change made in the console: who, when, what it was before and after, and why."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))  # threshold.update, threshold.restore, ...
    target_kind: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_audit_target", "target_kind", "target_id"),)


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship()


class ObservationVintage(Base):
    """An earlier value of an observation, kept when a source revised it."""

    __tablename__ = "observation_vintages"
    __table_args__ = (
        Index("ix_vintage_key", "indicator_id", "entity_id", "period", "retrieved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id"))
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"))
    period: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    flag: Mapped[str | None] = mapped_column(String(16))
    retrieved_at: Mapped[datetime] = mapped_column(UtcDateTime)
    job_run_id: Mapped[int | None] = mapped_column(ForeignKey("job_runs.id"))
    superseded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class JobFire(Base):
    """A scheduled fire of a job, claimed by the one scheduler process that runs it."""

    __tablename__ = "job_fires"
    __table_args__ = (UniqueConstraint("job_id", "fire_time", name="uq_job_fire"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(191))
    fire_time: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    claimed_by: Mapped[str] = mapped_column(String(100), default="")


# The scheduler's job store, created by the migrations rather than by APScheduler on start,
# so that scheduler processes starting together never race to create it. The columns are
# the ones APScheduler 3's SQLAlchemyJobStore defines and reads.
scheduler_jobs = Table(
    "apscheduler_jobs",
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


class SourceAlert(Base):
    """A scheduled source that missed its run; open until a run of it succeeds."""

    __tablename__ = "source_alerts"
    __table_args__ = (
        Index(
            "uq_source_alert_open",
            "source_id",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    severity: Mapped[str] = mapped_column(String(8))
    worst_severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="firing")
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the fire that brought no data
    last_success: Mapped[datetime | None] = mapped_column(UtcDateTime)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    source: Mapped[Source] = relationship()


class SourceNotice(Base):
    """The outbox of source alerts: one change of one source alert for one channel."""

    __tablename__ = "source_notices"
    __table_args__ = (Index("ix_source_notice_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_alert_id: Mapped[int] = mapped_column(ForeignKey("source_alerts.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    event: Mapped[str] = mapped_column(String(16))  # opened, escalated, resolved
    severity: Mapped[str] = mapped_column(String(8))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utc_now)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    source_alert: Mapped[SourceAlert] = relationship()
    channel: Mapped[Channel] = relationship()
