"""The read side: alerts, stages, series and thresholds as the console and the CLI show them.

Every query pages or narrows in SQL; nothing here loads a whole table to filter it in
Python. Dictionaries use plain JSON types: periods as ``YYYY-MM-DD`` of the period's
first day, times as ISO-8601 UTC.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, and_, case, extract, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from monitor.errors import ClusterWatchError, NotFound
from monitor.records import (
    Alert,
    AlertEvent,
    Entity,
    Indicator,
    JobRun,
    Observation,
    RejectedRow,
    Score,
    Source,
    StageRecord,
    Threshold,
)
from monitor.vocabulary import (
    OPEN_STATUSES,
    AlertStatus,
    Dimension,
    Level,
    ModelKind,
    RunStatus,
    Severity,
)

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
MAX_ENTITY_QUERY = 200
OPEN = "open"
STAGE_MODEL = "stage"
MODELS = (*(kind.value for kind in ModelKind), STAGE_MODEL)
SORTS = ("-opened", "opened", "-period", "period", "-severity", "severity")
LATE_GRACE = timedelta(hours=1)

T = TypeVar("T")


class InvalidFilter(ClusterWatchError):
    """A filter value outside its vocabulary, or a malformed page number."""


def _choice(name: str, raw: str | None, allowed: Iterable[str]) -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    choices = list(allowed)
    if value not in choices:
        raise InvalidFilter(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def _positive(name: str, raw: str | None, default: int, maximum: int) -> int:
    value = (raw or "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise InvalidFilter(f"{name} must be a whole number; got {value!r}") from None
    if not 1 <= number <= maximum:
        raise InvalidFilter(f"{name} must be between 1 and {maximum}; got {number}")
    return number


def _code(name: str, raw: str | None) -> str | None:
    value = (raw or "").strip()
    if len(value) > MAX_ENTITY_QUERY:
        raise InvalidFilter(f"{name} must be at most {MAX_ENTITY_QUERY} characters")
    return value or None


def _month(name: str, raw: str | None) -> date | None:
    """A period bound as ``YYYY-MM`` (or ``YYYY-MM-DD``), as the first day of that month."""
    value = (raw or "").strip()
    if not value:
        return None
    try:
        if len(value) == len("2024-01"):
            return date.fromisoformat(value + "-01")
        return date.fromisoformat(value).replace(day=1)
    except ValueError:
        raise InvalidFilter(f"{name} must look like 2024-03; got {value!r}") from None


@dataclass(frozen=True)
class AlertFilters:
    """What an alert list is narrowed to; ``None`` means any.

    ``status`` is an ``AlertStatus`` value or ``"open"`` (firing or acknowledged);
    ``entity`` matches an entity code exactly or a part of its Chinese or English name.
    """

    level: str | None = None
    dimension: str | None = None
    severity: str | None = None
    status: str | None = None
    entity: str | None = None
    model: str | None = None
    region: str | None = None
    cluster: str | None = None
    period_from: date | None = None
    period_to: date | None = None
    sort: str = SORTS[0]
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @classmethod
    def from_mapping(cls, args: Mapping[str, str]) -> AlertFilters:
        """Read filters from query-string style text, raising ``InvalidFilter`` on bad input."""
        entity = (args.get("entity") or "").strip()
        if len(entity) > MAX_ENTITY_QUERY:
            raise InvalidFilter(f"entity must be at most {MAX_ENTITY_QUERY} characters")
        return cls(
            level=_choice("level", args.get("level"), Level),
            dimension=_choice("dimension", args.get("dimension"), Dimension),
            severity=_choice("severity", args.get("severity"), Severity),
            status=_choice("status", args.get("status"), [OPEN, *AlertStatus]),
            entity=entity or None,
            model=_choice("model", args.get("model"), MODELS),
            region=_code("region", args.get("region")),
            cluster=_code("cluster", args.get("cluster")),
            period_from=_month("period_from", args.get("period_from")),
            period_to=_month("period_to", args.get("period_to")),
            sort=_choice("sort", args.get("sort"), SORTS) or SORTS[0],
            page=_positive("page", args.get("page"), 1, 10**9),
            per_page=_positive("per_page", args.get("per_page"), DEFAULT_PER_PAGE, MAX_PER_PAGE),
        )

    def as_args(self, **changes: Any) -> dict[str, str]:
        """The filters as query-string arguments (defaults left out), with ``changes`` applied."""
        current = replace(self, **changes)
        args = {
            "level": current.level,
            "dimension": current.dimension,
            "severity": current.severity,
            "status": current.status,
            "entity": current.entity,
            "model": current.model,
            "region": current.region,
            "cluster": current.cluster,
            "period_from": current.period_from.strftime("%Y-%m") if current.period_from else None,
            "period_to": current.period_to.strftime("%Y-%m") if current.period_to else None,
            "sort": current.sort if current.sort != SORTS[0] else None,
            "page": str(current.page) if current.page != 1 else None,
            "per_page": str(current.per_page) if current.per_page != DEFAULT_PER_PAGE else None,
        }
        return {key: value for key, value in args.items() if value}


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a longer result."""

    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _alert_conditions(filters: AlertFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.level:
        conditions.append(Alert.level == filters.level)
    if filters.dimension:
        conditions.append(Alert.dimension == filters.dimension)
    if filters.severity:
        conditions.append(Alert.severity == filters.severity)
    if filters.model:
        conditions.append(Alert.model == filters.model)
    if filters.status == OPEN:
        conditions.append(Alert.status.in_([status.value for status in OPEN_STATUSES]))
    elif filters.status:
        conditions.append(Alert.status == filters.status)
    if filters.entity:
        pattern = _like(filters.entity)
        matching = select(Entity.id).where(
            or_(
                Entity.code == filters.entity,
                Entity.name_zh.ilike(pattern, escape="\\"),
                Entity.name_en.ilike(pattern, escape="\\"),
            )
        )
        conditions.append(Alert.entity_id.in_(matching))
    for code, column in ((filters.region, Entity.region_id), (filters.cluster, Entity.cluster_id)):
        if code:
            anchor = select(Entity.id).where(Entity.code == code).scalar_subquery()
            members = select(Entity.id).where(
                or_(Entity.id == anchor, column == anchor, Entity.parent_id == anchor)
            )
            conditions.append(Alert.entity_id.in_(members))
    if filters.period_from:
        conditions.append(Alert.period >= filters.period_from)
    if filters.period_to:
        conditions.append(Alert.period <= filters.period_to)
    return conditions


def _severity_rank() -> ColumnElement[int]:
    return case({severity.value: severity.rank for severity in Severity}, value=Alert.severity)


def _alert_order(sort: str) -> list[Any]:
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    column: Any = {"opened": Alert.opened_at, "period": Alert.period}.get(key) or _severity_rank()
    first = column.desc() if descending else column.asc()
    tie = Alert.id.desc() if descending else Alert.id.asc()
    return [first, tie]


def list_alerts(session: Session, filters: AlertFilters) -> Page[Alert]:
    """One page of the alerts matching ``filters``, newest first."""
    conditions = _alert_conditions(filters)
    total = session.scalar(select(func.count()).select_from(Alert).where(*conditions)) or 0
    statement = (
        select(Alert)
        .where(*conditions)
        .options(joinedload(Alert.entity), joinedload(Alert.indicator))
        .order_by(*_alert_order(filters.sort))
        .limit(filters.per_page)
        .offset((filters.page - 1) * filters.per_page)
    )
    items = list(session.scalars(statement))
    return Page(items=items, total=total, page=filters.page, per_page=filters.per_page)


def get_alert(session: Session, alert_id: int) -> Alert | None:
    """One alert with its entity, indicator and events loaded, or ``None``."""
    statement = (
        select(Alert)
        .where(Alert.id == alert_id)
        .options(joinedload(Alert.entity), joinedload(Alert.indicator), selectinload(Alert.events))
    )
    return session.scalar(statement)


def iso_time(moment: datetime | None) -> str | None:
    """An aware time as ISO-8601 UTC text (``2024-07-01T08:00:00Z``)."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def iso_period(period: date | None) -> str | None:
    return None if period is None else period.isoformat()


def entity_as_dict(entity: Entity, locale: str = "zh_CN") -> dict[str, Any]:
    return {
        "code": entity.code,
        "name": entity.name(locale),
        "name_zh": entity.name_zh,
        "name_en": entity.name_en,
        "level": entity.level,
        "kind": entity.kind,
        "synthetic": entity.synthetic,
    }


def indicator_as_dict(indicator: Indicator, locale: str = "zh_CN") -> dict[str, Any]:
    return {
        "code": indicator.code,
        "name": indicator.name(locale),
        "name_zh": indicator.name_zh,
        "name_en": indicator.name_en,
        "dimension": indicator.dimension,
        "level": indicator.level,
        "frequency": indicator.frequency,
        "unit": indicator.unit,
        "direction": indicator.direction,
        "transform": indicator.transform,
    }


def event_as_dict(event: AlertEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "kind": event.kind,
        "at": iso_time(event.at),
        "period": iso_period(event.period),
        "from_status": event.from_status,
        "to_status": event.to_status,
        "from_severity": event.from_severity,
        "to_severity": event.to_severity,
        "value": event.value,
        "actor": event.actor,
        "note": event.note,
    }


def alert_as_dict(alert: Alert, locale: str = "zh_CN", *, events: bool = False) -> dict[str, Any]:
    """An alert in the documented JSON shape; ``events=True`` adds its event list."""
    result: dict[str, Any] = {
        "id": alert.id,
        "entity": entity_as_dict(alert.entity, locale),
        "indicator": indicator_as_dict(alert.indicator, locale),
        "model": alert.model,
        "level": alert.level,
        "dimension": alert.dimension,
        "severity": alert.severity,
        "worst_severity": alert.worst_severity,
        "status": alert.status,
        "period": iso_period(alert.period),
        "last_period": iso_period(alert.last_period),
        "value": alert.value,
        "threshold": alert.threshold,
        "synthetic": alert.synthetic,
        "opened_at": iso_time(alert.opened_at),
        "updated_at": iso_time(alert.updated_at),
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_at": iso_time(alert.acknowledged_at),
        "resolved_by": alert.resolved_by,
        "resolved_at": iso_time(alert.resolved_at),
        "resolved_period": iso_period(alert.resolved_period),
        "response_note": alert.response_note,
        "resolution_note": alert.resolution_note,
    }
    if events:
        result["events"] = [event_as_dict(event) for event in alert.events]
    return result


def current_stages(
    session: Session,
    levels: Sequence[str] = (Level.GOVERNMENT, Level.INDUSTRY),
    *,
    stage: str | None = None,
    locale: str = "zh_CN",
) -> list[dict[str, Any]]:
    """Each entity's latest stage and ``since``, the first period of its current run.

    A run is a sequence of consecutive stage rows with the same stage, so an entity
    in absorption since 2020-01-01 has been in absorption in every stage row since.
    Computed in one SQL statement with a window function.
    """
    level_values = [str(level) for level in levels]
    previous = func.lag(StageRecord.stage).over(
        partition_by=StageRecord.entity_id, order_by=StageRecord.period
    )
    marked = (
        select(StageRecord.entity_id, StageRecord.period, StageRecord.stage, previous.label("prev"))
        .join(Entity, Entity.id == StageRecord.entity_id)
        .where(Entity.level.in_(level_values))
        .subquery()
    )
    starts = (
        select(marked.c.entity_id, func.max(marked.c.period).label("since"))
        .where(or_(marked.c.prev.is_(None), marked.c.prev != marked.c.stage))
        .group_by(marked.c.entity_id)
        .subquery()
    )
    latest = (
        select(marked.c.entity_id, func.max(marked.c.period).label("period"))
        .group_by(marked.c.entity_id)
        .subquery()
    )
    statement = (
        select(Entity, StageRecord, Indicator.code, Indicator.frequency, starts.c.since)
        .join(latest, latest.c.entity_id == Entity.id)
        .join(
            StageRecord,
            and_(StageRecord.entity_id == Entity.id, StageRecord.period == latest.c.period),
        )
        .join(starts, starts.c.entity_id == Entity.id)
        .join(Indicator, Indicator.id == StageRecord.indicator_id)
        .order_by(Entity.level, Entity.code)
    )
    if stage:
        statement = statement.where(StageRecord.stage == stage)
    return [
        {
            "entity": entity_as_dict(entity, locale),
            "stage": record.stage,
            "since": iso_period(since),
            "period": iso_period(record.period),
            "indicator": {"code": indicator_code, "frequency": frequency},
        }
        for entity, record, indicator_code, frequency, since in session.execute(statement)
    ]


def stage_history(session: Session, entity_id: int) -> list[dict[str, Any]]:
    """Every stage row of one entity, oldest first."""
    statement = (
        select(StageRecord.period, StageRecord.stage, Indicator.code, Indicator.frequency)
        .join(Indicator, Indicator.id == StageRecord.indicator_id)
        .where(StageRecord.entity_id == entity_id)
        .order_by(StageRecord.period)
    )
    return [
        {
            "period": iso_period(period),
            "stage": stage,
            "indicator": {"code": code, "frequency": frequency},
        }
        for period, stage, code, frequency in session.execute(statement)
    ]


def _by_code(session: Session, record: type[Entity] | type[Indicator], code: str) -> int:
    found = session.scalar(select(record.id).where(record.code == code))
    if found is None:
        raise NotFound(f"no {record.__name__.lower()} with code {code!r}")
    return found


def series(session: Session, indicator_code: str, entity_code: str) -> list[dict[str, Any]]:
    """The observed values of one indicator for one entity, oldest first.

    Raises ``NotFound`` for an unknown indicator or entity code.
    """
    indicator_id = _by_code(session, Indicator, indicator_code)
    entity_id = _by_code(session, Entity, entity_code)
    statement = (
        select(Observation.period, Observation.value, Observation.synthetic)
        .where(Observation.indicator_id == indicator_id, Observation.entity_id == entity_id)
        .order_by(Observation.period)
    )
    return [
        {"period": iso_period(period), "value": value, "synthetic": synthetic}
        for period, value, synthetic in session.execute(statement)
    ]


def has_synthetic_observations(session: Session, indicator_id: int, entity_id: int) -> bool:
    """Whether any observed value of one series is synthetic demo data."""
    statement = select(
        select(Observation.id)
        .where(
            Observation.indicator_id == indicator_id,
            Observation.entity_id == entity_id,
            Observation.synthetic.is_(True),
        )
        .exists()
    )
    return bool(session.scalar(statement))


def series_scores(
    session: Session, indicator_id: int, entity_id: int, model: str
) -> list[dict[str, Any]]:
    """A model's stored scores of one series, oldest first."""
    statement = (
        select(Score.period, Score.score, Score.severity)
        .where(
            Score.indicator_id == indicator_id,
            Score.entity_id == entity_id,
            Score.model == model,
        )
        .order_by(Score.period)
    )
    return [
        {"period": iso_period(period), "score": score, "severity": severity}
        for period, score, severity in session.execute(statement)
    ]


def thresholds_for(session: Session, indicator: Indicator, model: str) -> Threshold | None:
    """The thresholds ``model`` applies to ``indicator``: its own row, else level x dimension."""
    override = session.scalar(
        select(Threshold).where(Threshold.model == model, Threshold.indicator_id == indicator.id)
    )
    if override is not None:
        return override
    return session.scalar(
        select(Threshold).where(
            Threshold.model == model,
            Threshold.level == indicator.level,
            Threshold.dimension == indicator.dimension,
            Threshold.indicator_id.is_(None),
        )
    )


def list_thresholds(
    session: Session,
    *,
    level: str | None = None,
    dimension: str | None = None,
    model: str | None = None,
) -> list[Threshold]:
    """Threshold rows by model, level and dimension; each group row before its overrides."""
    statement = (
        select(Threshold)
        .outerjoin(Indicator, Indicator.id == Threshold.indicator_id)
        .options(joinedload(Threshold.indicator))
        .order_by(
            Threshold.model,
            Threshold.level,
            Threshold.dimension,
            Threshold.indicator_id.is_not(None),
            Indicator.code,
        )
    )
    if level:
        statement = statement.where(Threshold.level == level)
    if dimension:
        statement = statement.where(Threshold.dimension == dimension)
    if model:
        statement = statement.where(Threshold.model == model)
    return list(session.scalars(statement))


def open_alert_counts(session: Session) -> dict[str, dict[str, dict[str, int]]]:
    """Open alerts counted as ``counts[level][dimension][severity]``, zeros included."""
    counts = {
        level.value: {
            dimension.value: {severity.value: 0 for severity in Severity} for dimension in Dimension
        }
        for level in Level
    }
    statement = (
        select(Alert.level, Alert.dimension, Alert.severity, func.count())
        .where(Alert.status.in_([status.value for status in OPEN_STATUSES]))
        .group_by(Alert.level, Alert.dimension, Alert.severity)
    )
    for level, dimension, severity, count in session.execute(statement):
        cell = counts.setdefault(level, {}).setdefault(dimension, {})
        cell[severity] = cell.get(severity, 0) + count
    return counts


def worst_open_severity(cell: Mapping[str, int]) -> str | None:
    """The most severe colour with at least one open alert in a heat-map cell."""
    found = [severity for severity in Severity if cell.get(severity.value)]
    return max(found, key=lambda severity: severity.rank).value if found else None


def alert_trend(session: Session, years: int = 6) -> dict[int, dict[str, int]]:
    """Alerts opened per year of their period (the last ``years`` years with any), by colour."""
    year = extract("year", Alert.period)
    statement = (
        select(year, Alert.worst_severity, func.count())
        .group_by(year, Alert.worst_severity)
        .order_by(year)
    )
    trend: dict[int, dict[str, int]] = {}
    for found_year, severity, count in session.execute(statement):
        row = trend.setdefault(int(found_year), {value.value: 0 for value in Severity})
        row[severity] = row.get(severity, 0) + count
    return {key: trend[key] for key in sorted(trend)[-years:]}


def stage_counts(session: Session) -> dict[str, dict[str, int]]:
    """How many government and industry entities sit in each stage now, per level."""
    counts: dict[str, dict[str, int]] = {}
    for row in current_stages(session):
        level = counts.setdefault(row["entity"]["level"], {})
        level[row["stage"]] = level.get(row["stage"], 0) + 1
    return counts


def source_freshness(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Each source's last run, last good run and whether it is late for its schedule.

    A source is late when its cron schedule should have run again since its last good
    run (with a grace of one hour), or when it never ran successfully.
    """
    from apscheduler.triggers.cron import CronTrigger

    last_good = (
        select(JobRun.source_id, func.max(JobRun.finished_at).label("good"))
        .where(JobRun.status == RunStatus.SUCCEEDED, JobRun.source_id.is_not(None))
        .group_by(JobRun.source_id)
        .subquery()
    )
    last_any = (
        select(JobRun.source_id, func.max(JobRun.id).label("run_id"))
        .where(JobRun.source_id.is_not(None))
        .group_by(JobRun.source_id)
        .subquery()
    )
    statement = (
        select(Source, last_good.c.good, JobRun)
        .outerjoin(last_good, last_good.c.source_id == Source.id)
        .outerjoin(last_any, last_any.c.source_id == Source.id)
        .outerjoin(JobRun, JobRun.id == last_any.c.run_id)
        .order_by(Source.name)
    )
    rows = []
    for source, good, latest in session.execute(statement):
        good_at = good if good is None or good.tzinfo else good.replace(tzinfo=UTC)
        late = source.enabled and good_at is None
        if source.enabled and good_at is not None and source.cron:
            try:
                trigger = CronTrigger.from_crontab(source.cron, timezone="Asia/Shanghai")
            except ValueError:
                trigger = None
            due = trigger.get_next_fire_time(None, good_at) if trigger else None
            late = due is not None and due + LATE_GRACE < now
        rows.append(
            {
                "source": source,
                "last_good": good_at,
                "last_run": latest,
                "late": bool(late),
            }
        )
    return rows


def entity_choices(
    session: Session, *, level: str | None = None, kind: str | None = None, locale: str = "zh_CN"
) -> list[tuple[str, str]]:
    """``(code, name)`` pairs of the entities of one level or kind, for filter boxes."""
    statement = select(Entity).order_by(Entity.code)
    if level:
        statement = statement.where(Entity.level == level)
    if kind:
        statement = statement.where(Entity.kind == kind)
    return [(entity.code, entity.name(locale)) for entity in session.scalars(statement)]


def entity_indicators(session: Session, entity_id: int) -> list[dict[str, Any]]:
    """Every indicator observed for one entity: its values oldest first and latest colour.

    The colour is the latest scored period's worst colour over the models; two queries.
    """
    observed = session.execute(
        select(Indicator, Observation.period, Observation.value)
        .join(Observation, Observation.indicator_id == Indicator.id)
        .where(Observation.entity_id == entity_id)
        .order_by(Indicator.dimension, Indicator.code, Observation.period)
    ).all()
    latest = (
        select(Score.indicator_id, func.max(Score.period).label("period"))
        .where(Score.entity_id == entity_id)
        .group_by(Score.indicator_id)
        .subquery()
    )
    colours: dict[int, str | None] = {}
    scored = session.execute(
        select(Score.indicator_id, Score.severity)
        .join(
            latest,
            and_(latest.c.indicator_id == Score.indicator_id, latest.c.period == Score.period),
        )
        .where(Score.entity_id == entity_id)
    )
    for indicator_id, severity in scored:
        known = colours.get(indicator_id)
        if severity and (known is None or Severity(severity).rank > Severity(known).rank):
            colours[indicator_id] = severity
        colours.setdefault(indicator_id, None)
    rows: dict[int, dict[str, Any]] = {}
    for indicator, period, value in observed:
        row = rows.setdefault(
            indicator.id,
            {"indicator": indicator, "points": [], "severity": colours.get(indicator.id)},
        )
        row["points"].append((iso_period(period), value))
    return list(rows.values())


def entity_alerts(
    session: Session, entity_id: int, *, open_only: bool, limit: int = 20
) -> list[Alert]:
    """An entity's open (or closed) alerts, newest first, at most ``limit``."""
    open_values = [status.value for status in OPEN_STATUSES]
    status = Alert.status.in_(open_values) if open_only else Alert.status.not_in(open_values)
    statement = (
        select(Alert)
        .where(Alert.entity_id == entity_id, status)
        .options(joinedload(Alert.indicator))
        .order_by(Alert.opened_at.desc(), Alert.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))


def recent_runs(session: Session, source_id: int, limit: int = 20) -> list[JobRun]:
    """A source's latest job runs, newest first."""
    statement = (
        select(JobRun)
        .where(JobRun.source_id == source_id)
        .order_by(JobRun.started_at.desc(), JobRun.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))


def rejected_rows(session: Session, run_id: int, page: int = 1, per_page: int = 100) -> Page[Any]:
    """One page of a run's rejected rows, in file order."""
    condition = RejectedRow.job_run_id == run_id
    total = session.scalar(select(func.count()).select_from(RejectedRow).where(condition)) or 0
    statement = (
        select(RejectedRow)
        .where(condition)
        .order_by(RejectedRow.row_number, RejectedRow.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page(items=list(session.scalars(statement)), total=total, page=page, per_page=per_page)
