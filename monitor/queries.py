"""The read side: alerts, stages, series and thresholds as the console and the CLI show them.

Every query pages or narrows in SQL; nothing here loads a whole table to filter it in
Python. Dictionaries use plain JSON types: periods as ``YYYY-MM-DD`` of the period's
first day, times as ISO-8601 UTC.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar, overload

from sqlalchemy import ColumnElement, Row, and_, func, literal, or_, select, tuple_
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
    STALE_DATA_MODEL,
    AlertStatus,
    Dimension,
    Level,
    ModelKind,
    Severity,
)

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
MAX_ENTITY_QUERY = 200
IN_LIST = 5000  # ids per "IN (...)" list, under every driver's parameter limit
OPEN = "open"
STAGE_MODEL = "stage"
MODELS = (*(kind.value for kind in ModelKind), STAGE_MODEL, STALE_DATA_MODEL)
SORTS = ("-opened", "opened", "-period", "period", "-severity", "severity")
COUNT_CAP = 10_000  # lists count matching alerts up to here, then say "10,000+"
TREND_PERIODS = 12  # months the dashboard's trend covers

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

    ``status`` is an ``AlertStatus`` value or ``"open"`` (any but resolved);
    ``entity`` matches an entity code exactly or a part of its Chinese or English name.
    ``after`` / ``before`` are keyset cursors (see ``AlertCursor``): the page starts just
    after, or ends just before, the alert they name in the chosen sort.
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
    after: str | None = None
    before: str | None = None
    per_page: int = DEFAULT_PER_PAGE

    @classmethod
    def from_mapping(cls, args: Mapping[str, str]) -> AlertFilters:
        """Read filters from query-string style text, raising ``InvalidFilter`` on bad input."""
        entity = (args.get("entity") or "").strip()
        if len(entity) > MAX_ENTITY_QUERY:
            raise InvalidFilter(f"entity must be at most {MAX_ENTITY_QUERY} characters")
        if (args.get("page") or "1").strip() != "1":
            raise InvalidFilter("pages are reached with the after/before cursors, not by number")
        sort = _choice("sort", args.get("sort"), SORTS) or SORTS[0]
        after, before = _cursor_text("after", args), _cursor_text("before", args)
        if after and before:
            raise InvalidFilter("give after or before, not both")
        for cursor in (after, before):
            if cursor:
                AlertCursor.parse(cursor, sort)  # refuse a malformed cursor up front
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
            sort=sort,
            after=after,
            before=before,
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
            "after": current.after,
            "before": current.before,
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
        conditions.append(_open_condition())
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


def _cursor_text(name: str, args: Mapping[str, str]) -> str | None:
    value = (args.get(name) or "").strip()
    if len(value) > MAX_ENTITY_QUERY:
        raise InvalidFilter(f"{name} must be at most {MAX_ENTITY_QUERY} characters")
    return value or None


@dataclass(frozen=True)
class AlertCursor:
    """A position in a sorted alert list: the sort key of one alert and its id.

    As text it reads ``KEY_ID``: ``2024-03-01T08:00:00.000001Z_123`` when sorted by opening
    time, ``2024-03-01_123`` by period, ``red_123`` by colour; it is meaningful only with
    the sort it was made for, so links carry both.
    """

    key: datetime | date | str
    id: int

    @classmethod
    def of(cls, alert: Alert | Row[Any], sort: str) -> AlertCursor:
        """The cursor of ``alert`` (an object or a row with its columns) in ``sort``."""
        column = sort.lstrip("-")
        key = {"opened": alert.opened_at, "period": alert.period}.get(column, alert.severity)
        return cls(key=key, id=alert.id)

    @classmethod
    def parse(cls, text: str, sort: str) -> AlertCursor:
        """Read a cursor made for ``sort``, raising ``InvalidFilter`` when it is malformed."""
        key_text, _, id_text = text.rpartition("_")
        column = sort.lstrip("-")
        try:
            alert_id = int(id_text)
            key: datetime | date | str
            if column == "opened":
                key = datetime.fromisoformat(key_text)
                if key.tzinfo is None:
                    raise ValueError("naive time")
            elif column == "period":
                key = date.fromisoformat(key_text)
            else:
                key = Severity(key_text).value
        except ValueError:
            raise InvalidFilter(f"not a cursor of the sort {sort!r}: {text!r}") from None
        return cls(key=key, id=alert_id)

    def text(self) -> str:
        if isinstance(self.key, datetime):
            key = self.key.astimezone(UTC).isoformat(timespec="microseconds")
            return f"{key.replace('+00:00', 'Z')}_{self.id}"
        if isinstance(self.key, date):
            return f"{self.key.isoformat()}_{self.id}"
        return f"{self.key}_{self.id}"


@dataclass(frozen=True)
class AlertPage(Generic[T]):
    """One keyset page of alerts; ``total`` is exact unless ``total_capped``.

    ``items`` are ``Alert`` objects, or what the caller's loader made of their ids.
    ``next_cursor`` / ``prev_cursor`` (``None`` at either end) continue the list with
    ``after=`` / ``before=``; the first page has no cursor at all.
    """

    items: list[T]
    total: int
    total_capped: bool
    per_page: int
    next_cursor: str | None
    prev_cursor: str | None

    @property
    def has_prev(self) -> bool:
        return self.prev_cursor is not None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def _open_condition() -> ColumnElement[bool]:
    """Open means not resolved; written as the partial indexes' own predicate so that
    PostgreSQL and SQLite both see those indexes apply."""
    return Alert.status != AlertStatus.RESOLVED.value


def _ids_after(
    session: Session,
    conditions: list[ColumnElement[bool]],
    sort: str,
    cursor: AlertCursor | None,
    *,
    forward: bool,
    limit: int,
) -> list[int]:
    """The ids of up to ``limit`` alerts just past ``cursor`` in the order of ``sort``
    (reversed when going backward), nearest first.

    Opening time and period are walked on their ``(column, id)`` indexes with a row
    comparison; the colour order is the ``(severity, id)`` index walked once per colour,
    at most four short queries. Only ids are read, so a walk over the open alerts' index
    checks the usual filters in the index without touching the table."""
    descending = sort.startswith("-") == forward
    column_name = sort.lstrip("-")
    if column_name in ("opened", "period"):
        column: Any = Alert.opened_at if column_name == "opened" else Alert.period
        where = list(conditions)
        if cursor is not None:
            here = tuple_(column, Alert.id)
            there = tuple_(literal(cursor.key, column.type), literal(cursor.id))
            where.append(here < there if descending else here > there)
        order = (column.desc(), Alert.id.desc()) if descending else (column.asc(), Alert.id.asc())
        return list(session.scalars(select(Alert.id).where(*where).order_by(*order).limit(limit)))
    colours = sorted(Severity, key=lambda severity: severity.rank, reverse=descending)
    if cursor is not None:
        colours = colours[colours.index(Severity(cursor.key)) :]
    found: list[int] = []
    for colour in colours:
        where = [*conditions, Alert.severity == colour.value]
        if cursor is not None and colour.value == cursor.key:
            where.append(Alert.id < cursor.id if descending else Alert.id > cursor.id)
        statement = (
            select(Alert.id)
            .where(*where)
            .order_by(Alert.id.desc() if descending else Alert.id.asc())
            .limit(limit - len(found))
        )
        found.extend(session.scalars(statement))
        if len(found) >= limit:
            break
    return found


def alerts_by_id(session: Session, ids: list[int]) -> list[Alert]:
    """The alerts of ``ids`` in that order, with their entity and indicator."""
    if not ids:
        return []
    statement = (
        select(Alert)
        .where(Alert.id.in_(ids))
        .options(joinedload(Alert.entity), joinedload(Alert.indicator))
    )
    by_id = {alert.id: alert for alert in session.scalars(statement)}
    return [by_id[alert_id] for alert_id in ids if alert_id in by_id]


def alert_rows_by_id(session: Session, ids: list[int], locale: str = "zh_CN") -> list[Row[Any]]:
    """The alerts of ``ids`` in that order as plain rows for a list page: the alert's
    columns with ``entity_code``, ``entity_name``, ``entity_synthetic``,
    ``indicator_name`` and ``frequency`` (names in ``locale``). No objects are built, at
    half the cost of ``alerts_by_id``."""
    if not ids:
        return []
    english = locale.startswith("en")
    alerts, entities, indicators = Alert.__table__, Entity.__table__, Indicator.__table__
    statement = (
        select(
            alerts,
            entities.c.code.label("entity_code"),
            (entities.c.name_en if english else entities.c.name_zh).label("entity_name"),
            entities.c.synthetic.label("entity_synthetic"),
            (indicators.c.name_en if english else indicators.c.name_zh).label("indicator_name"),
            indicators.c.frequency,
        )
        .join(entities, entities.c.id == alerts.c.entity_id)
        .join(indicators, indicators.c.id == alerts.c.indicator_id)
        .where(alerts.c.id.in_(ids))
    )
    by_id = {row.id: row for row in session.connection().execute(statement)}
    return [by_id[alert_id] for alert_id in ids if alert_id in by_id]


def count_alerts(session: Session, filters: AlertFilters, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many alerts match, counted no further than ``cap``: ``(count, capped)``."""
    limited = select(Alert.id).where(*_alert_conditions(filters)).limit(cap + 1).subquery()
    found = session.scalar(select(func.count()).select_from(limited)) or 0
    return min(found, cap), found > cap


AlertCount = Callable[[Session, AlertFilters], tuple[int, bool]]
AlertLoader = Callable[[Session, list[int]], list[T]]


@overload
def list_alerts(
    session: Session, filters: AlertFilters, *, count: AlertCount | None = None
) -> AlertPage[Alert]: ...


@overload
def list_alerts(
    session: Session,
    filters: AlertFilters,
    *,
    count: AlertCount | None = None,
    load: AlertLoader[T],
) -> AlertPage[T]: ...


def list_alerts(
    session: Session,
    filters: AlertFilters,
    *,
    count: AlertCount | None = None,
    load: AlertLoader[Any] = alerts_by_id,
) -> AlertPage[Any]:
    """One keyset page of the alerts matching ``filters`` in their sort (newest first).

    Reads ``per_page + 1`` ids from the cursor on, loads the page with ``load``
    (``Alert`` objects unless given) and counts matches up to ``COUNT_CAP`` with
    ``count`` (``count_alerts`` unless given); never an OFFSET, never a count of every
    alert.
    """
    conditions = _alert_conditions(filters)
    backward = filters.before is not None
    mark = filters.before if backward else filters.after
    cursor = AlertCursor.parse(mark, filters.sort) if mark else None
    ids = _ids_after(
        session,
        conditions,
        filters.sort,
        cursor,
        forward=not backward,
        limit=filters.per_page + 1,
    )
    more = len(ids) > filters.per_page
    ids = ids[: filters.per_page]
    if backward:
        ids.reverse()
    items = load(session, ids)
    first = AlertCursor.of(items[0], filters.sort).text() if items else None
    last = AlertCursor.of(items[-1], filters.sort).text() if items else None
    has_prev = more if backward else cursor is not None
    has_next = cursor is not None if backward else more
    total, capped = (count or count_alerts)(session, filters)
    return AlertPage(
        items=items,
        total=total,
        total_capped=capped,
        per_page=filters.per_page,
        next_cursor=last if has_next else None,
        prev_cursor=first if has_prev else None,
    )


def newest_open_alerts(session: Session, limit: int) -> list[Alert]:
    """The ``limit`` most recently opened open alerts (the open-alerts index, newest end)."""
    statement = (
        select(Alert)
        .where(_open_condition())
        .options(joinedload(Alert.entity), joinedload(Alert.indicator))
        .order_by(Alert.opened_at.desc(), Alert.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))


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
    """The thresholds ``model`` applies to ``indicator``: its own row, else level x dimension
    (one statement: the indicator's own row sorts first)."""
    group = and_(
        Threshold.indicator_id.is_(None),
        Threshold.level == indicator.level,
        Threshold.dimension == indicator.dimension,
    )
    return session.scalar(
        select(Threshold)
        .where(Threshold.model == model, or_(Threshold.indicator_id == indicator.id, group))
        .order_by(Threshold.indicator_id.is_(None))
        .limit(1)
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
    """Open alerts counted as ``counts[level][dimension][severity]``, zeros included.

    Read from the open alerts' colour index alone (an index-only scan of open alerts)."""
    counts = {
        level.value: {
            dimension.value: {severity.value: 0 for severity in Severity} for dimension in Dimension
        }
        for level in Level
    }
    statement = (
        select(Alert.severity, Alert.level, Alert.dimension, func.count())
        .where(_open_condition())
        .group_by(Alert.severity, Alert.level, Alert.dimension)
    )
    for severity, level, dimension, count in session.execute(statement):
        cell = counts.setdefault(level, {}).setdefault(dimension, {})
        cell[severity] = cell.get(severity, 0) + count
    return counts


def worst_open_severity(cell: Mapping[str, int]) -> str | None:
    """The most severe colour with at least one open alert in a heat-map cell."""
    found = [severity for severity in Severity if cell.get(severity.value)]
    return max(found, key=lambda severity: severity.rank).value if found else None


def _months_before(month: date, count: int) -> date:
    number = month.year * 12 + month.month - 1 - count
    return date(number // 12, number % 12 + 1, 1)


def alert_trend(session: Session, periods: int = TREND_PERIODS) -> dict[date, dict[str, int]]:
    """Alerts raised per month of their period, by worst colour, over the ``periods``
    months up to the latest period with an alert (months without any included).

    The latest period is one step down the period index, the counts a range scan of the
    last months on it: the cost follows the alerts of those months, not the whole table."""
    latest = session.scalar(select(func.max(Alert.period)))
    if latest is None:
        return {}
    last = latest.replace(day=1)
    months = [_months_before(last, back) for back in range(periods - 1, -1, -1)]
    trend = {month: {severity.value: 0 for severity in Severity} for month in months}
    statement = (
        select(Alert.period, Alert.worst_severity, func.count())
        .where(Alert.period >= months[0])
        .group_by(Alert.period, Alert.worst_severity)
    )
    for period, severity, count in session.execute(statement):
        row = trend.get(period.replace(day=1))
        if row is not None:
            row[severity] = row.get(severity, 0) + count
    return trend


def stage_counts(session: Session) -> dict[str, dict[str, int]]:
    """How many government and industry entities sit in each stage now, per level.

    One grouped statement: each entity's latest stage row is one step down the stages'
    primary key, and no entity objects are built."""
    latest_stage = (
        select(StageRecord.stage)
        .where(StageRecord.entity_id == Entity.id)
        .order_by(StageRecord.period.desc())
        .limit(1)
        .correlate(Entity)
        .scalar_subquery()
    )
    now = (
        select(Entity.level, latest_stage.label("stage"))
        .where(Entity.level.in_([Level.GOVERNMENT.value, Level.INDUSTRY.value]))
        .subquery()
    )
    statement = (
        select(now.c.level, now.c.stage, func.count())
        .where(now.c.stage.is_not(None))
        .group_by(now.c.level, now.c.stage)
    )
    counts: dict[str, dict[str, int]] = {}
    for level, stage, count in session.execute(statement):
        counts.setdefault(level, {})[stage] = count
    return counts


def source_freshness(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Each source's last run, last good run and whether it is late for its schedule.

    Late as the source alerts judge it (``monitor.staleness.missed_fire``): an enabled
    scheduled source whose latest due fire, a grace period ago, brought no successful run.
    """
    from monitor.staleness import last_successes, missed_fire

    last_any = (
        select(JobRun.source_id, func.max(JobRun.id).label("run_id"))
        .where(JobRun.source_id.is_not(None))
        .group_by(JobRun.source_id)
        .subquery()
    )
    statement = (
        select(Source, JobRun)
        .outerjoin(last_any, last_any.c.source_id == Source.id)
        .outerjoin(JobRun, JobRun.id == last_any.c.run_id)
        .order_by(Source.name)
    )
    successes = last_successes(session)
    rows = []
    for source, latest in session.execute(statement):
        good = successes.get(source.id)
        late = bool(source.enabled and source.cron and missed_fire(source.cron, good, now))
        rows.append({"source": source, "last_good": good, "last_run": latest, "late": late})
    return rows


def entities_by_id(session: Session, ids: Iterable[int]) -> dict[int, Entity]:
    """The entities of ``ids``, read in bounded ``IN`` lists."""
    unique = sorted(set(ids))
    found: dict[int, Entity] = {}
    for start in range(0, len(unique), IN_LIST):
        chunk = unique[start : start + IN_LIST]
        found.update((e.id, e) for e in session.scalars(select(Entity).where(Entity.id.in_(chunk))))
    return found


def region_and_cluster_choices(
    session: Session, locale: str = "zh_CN"
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The alert filters' two boxes in one statement: ``(code, name)`` pairs of the
    regions (government entities) and of the clusters, each in code order."""
    name = Entity.name_en if locale.startswith("en") else Entity.name_zh
    is_cluster = and_(Entity.level == Level.INDUSTRY, Entity.kind == "cluster")
    statement = (
        select(Entity.code, name, Entity.level)
        .where(or_(Entity.level == Level.GOVERNMENT, is_cluster))
        .order_by(Entity.code)
    )
    regions: list[tuple[str, str]] = []
    clusters: list[tuple[str, str]] = []
    for code, text, level in session.execute(statement):
        (regions if level == Level.GOVERNMENT else clusters).append((code, text))
    return regions, clusters


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
    status = _open_condition() if open_only else Alert.status == AlertStatus.RESOLVED.value
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
