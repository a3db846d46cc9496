"""Snapshots of what a message tells: one ``Notice`` per alert, a ``Digest`` per message.

They are read from the database in a short transaction and are plain frozen values
afterwards, so rendering and sending never touch the database. A digest is one
group's message: the notices of one scoring cycle about one (level, dimension,
region or cluster) for one channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from alerts.playbooks import playbook_for
from alerts.scopes import parse_group_key
from alerts.states import Event
from monitor.queries import thresholds_for
from monitor.records import (
    Alert,
    AlertEvent,
    Channel,
    Delivery,
    Entity,
    Observation,
    Playbook,
    Score,
)
from monitor.vocabulary import SEVERITY_ORDER, SOURCE_LATE_MODEL, STALE_DATA_MODEL, AlertStatus

RECENT_PERIODS = 6


@dataclass(frozen=True)
class KeyNumbers:
    """The figures the alert's chart shows, in a sentence's worth.

    ``recent`` are the last scores the model compared (period, value), oldest first;
    ``cutoffs`` the blue .. red cut-offs and ``clear`` the clearing level.
    """

    recent: tuple[tuple[date, float], ...]
    cutoffs: tuple[float, float, float, float] | None
    clear: float | None
    observed: float | None  # the reported value of the event's period
    score_unit: str  # "%" for changes, the indicator's unit for levels, "" for z-scores
    observed_unit: str


@dataclass(frozen=True)
class Notice:
    """One alert event as a message tells it."""

    alert_id: int | None
    fingerprint: str
    event: str
    event_at: datetime
    event_period: date | None
    status: str
    severity: str  # the colour the event is about
    worst_severity: str
    level: str
    dimension: str
    model: str
    entity_code: str
    entity_names: tuple[str, str]  # zh, en
    entity_level: str
    indicator_code: str
    indicator_names: tuple[str, str]
    frequency: str
    unit: str
    first_period: date
    last_period: date
    resolved_period: date | None
    value: float | None
    threshold: float | None
    opened_at: datetime
    resolved_at: datetime | None
    assignee: str | None = None
    response_note: str | None = None
    playbook: tuple[str, str] = ("", "")
    key_numbers: KeyNumbers | None = None
    labels: dict[str, str] = field(default_factory=dict)  # region / cluster codes
    notification_ids: tuple[int, ...] = ()

    def entity_name(self, locale: str) -> str:
        return self.entity_names[1] if locale.startswith("en") else self.entity_names[0]

    def indicator_name(self, locale: str) -> str:
        return self.indicator_names[1] if locale.startswith("en") else self.indicator_names[0]

    def playbook_text(self, locale: str) -> str:
        zh, en = self.playbook
        return (en or zh) if locale.startswith("en") else (zh or en)

    @property
    def firing(self) -> bool:
        """Whether the alert still warns (Alertmanager's ``firing`` as opposed to resolved)."""
        return self.status != AlertStatus.RESOLVED

    @property
    def periods_lasted(self) -> int | None:
        """How many periods a resolved alert warned: its first to its last, both included."""
        if self.resolved_period is None:
            return None
        step = {"M": 1, "Q": 3, "A": 12}.get(self.frequency, 1)
        first, last = self.first_period, self.last_period
        months = (last.year - first.year) * 12 + last.month - first.month
        return max(months // step, 0) + 1


@dataclass(frozen=True)
class Digest:
    """One message: the notices of one group for one channel."""

    channel_name: str
    channel_kind: str
    locale: str
    group_key: str
    scope_code: str
    scope_names: tuple[str, str]
    notices: tuple[Notice, ...]
    base_url: str
    test: bool = False

    @property
    def level(self) -> str:
        return parse_group_key(self.group_key)[0]

    @property
    def dimension(self) -> str:
        return parse_group_key(self.group_key)[1]

    def scope_name(self, locale: str) -> str:
        return self.scope_names[1] if locale.startswith("en") else self.scope_names[0]

    @property
    def firing(self) -> bool:
        return any(notice.firing for notice in self.notices)

    @property
    def worst_severity(self) -> str:
        ranks = [SEVERITY_ORDER.index(n.severity) for n in self.notices if n.severity]
        return SEVERITY_ORDER[max(ranks)].value if ranks else SEVERITY_ORDER[0].value

    def alert_url(self, notice: Notice) -> str:
        base = self.base_url.rstrip("/")
        if notice.model == SOURCE_LATE_MODEL:
            return f"{base}/sources/"
        return f"{base}/alerts/{notice.alert_id}" if notice.alert_id else f"{base}/alerts/"

    @property
    def list_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/alerts/?level={self.level}&dimension={self.dimension}"


def key_numbers(session: Session, alert: Alert, period: date | None) -> KeyNumbers:
    """The chart's figures for ``alert`` up to ``period`` (its latest period by default)."""
    upto = period or alert.last_period
    rows = session.execute(
        select(Score.period, Score.score)
        .where(
            Score.indicator_id == alert.indicator_id,
            Score.entity_id == alert.entity_id,
            Score.model == alert.model,
            Score.period <= upto,
            Score.score.is_not(None),
        )
        .order_by(Score.period.desc())
        .limit(RECENT_PERIODS)
    ).all()
    threshold = thresholds_for(session, alert.indicator, alert.model)
    observed = session.scalar(
        select(Observation.value).where(
            Observation.indicator_id == alert.indicator_id,
            Observation.entity_id == alert.entity_id,
            Observation.period == upto,
        )
    )
    indicator = alert.indicator
    if alert.model == "robust_z":
        score_unit = ""
    elif indicator.transform in {"yoy", "pop"}:
        score_unit = "%"
    else:
        score_unit = indicator.unit
    return KeyNumbers(
        recent=tuple((p, float(s)) for p, s in reversed(rows)),
        cutoffs=threshold.cutoffs() if threshold is not None else None,
        clear=threshold.clear if threshold is not None else None,
        observed=observed,
        score_unit=score_unit,
        observed_unit=indicator.unit,
    )


def _labels(session: Session, entity: Entity) -> dict[str, str]:
    labels: dict[str, str] = {}
    for name, entity_id in (("region", entity.region_id), ("cluster", entity.cluster_id)):
        if entity_id is not None:
            other = session.get(Entity, entity_id)
            if other is not None:
                labels[name] = other.code
    return labels


def notice_of(
    alert: Alert,
    event: AlertEvent,
    *,
    session: Session | None = None,
    notification_ids: Sequence[int] = (),
    figures: bool = True,
    playbooks: dict[tuple[str, str], Playbook | None] | None = None,
) -> Notice:
    """The notice of ``event`` on ``alert``; with a session it carries playbook and figures.

    ``figures=False`` leaves out the chart's key numbers (a group message lists alerts
    without them); ``playbooks`` caches the playbook lookups of one message.
    """
    session = session or object_session(alert)
    entity, indicator = alert.entity, alert.indicator
    playbook = None
    if session is not None:
        scope = (alert.dimension, alert.level)
        if playbooks is None or scope not in playbooks:
            playbook = playbook_for(session, alert)
            if playbooks is not None:
                playbooks[scope] = playbook
        else:
            playbook = playbooks[scope]
    return Notice(
        alert_id=alert.id,
        fingerprint=alert.fingerprint,
        event=event.kind,
        event_at=event.at or alert.updated_at,
        event_period=event.period,
        status=alert.status,
        severity=event.to_severity or event.from_severity or alert.severity,
        worst_severity=alert.worst_severity,
        level=alert.level,
        dimension=alert.dimension,
        model=alert.model,
        entity_code=entity.code,
        entity_names=(entity.name_zh, entity.name_en),
        entity_level=entity.level,
        indicator_code=indicator.code,
        indicator_names=(indicator.name_zh, indicator.name_en),
        frequency=indicator.frequency,
        unit=indicator.unit or "",
        first_period=alert.period,
        last_period=alert.last_period,
        resolved_period=alert.resolved_period,
        value=event.value if event.value is not None else alert.value,
        threshold=alert.threshold,
        opened_at=alert.opened_at,
        resolved_at=alert.resolved_at,
        assignee=alert.assignee,
        response_note=alert.response_note,
        playbook=(playbook.text_zh, playbook.text_en) if playbook is not None else ("", ""),
        key_numbers=(
            key_numbers(session, alert, event.period)
            if session is not None and figures and alert.model != STALE_DATA_MODEL
            else None
        ),
        labels=_labels(session, entity) if session is not None else {},
        notification_ids=tuple(notification_ids),
    )


def _scope(
    session: Session | None, group_key: str, notices: Sequence[Notice]
) -> tuple[str, tuple[str, str]]:
    _level, _dimension, _kind, scope_id = parse_group_key(group_key)
    scope = session.get(Entity, scope_id) if session is not None and scope_id else None
    if scope is not None:
        return scope.code, (scope.name_zh, scope.name_en)
    first = notices[0] if notices else None
    return (first.entity_code, first.entity_names) if first else ("", ("", ""))


def digest_of(
    session: Session | None,
    notices: Sequence[Notice],
    *,
    channel: Channel,
    group_key: str,
    base_url: str,
    test: bool = False,
) -> Digest:
    """The message of ``notices`` for ``channel``."""
    code, names = _scope(session, group_key, notices)
    return Digest(
        channel_name=channel.name,
        channel_kind=channel.kind,
        locale=channel.locale or "zh_CN",
        group_key=group_key,
        scope_code=code,
        scope_names=names,
        notices=tuple(notices),
        base_url=base_url,
        test=test,
    )


def delivery_digest(session: Session, delivery: Delivery, *, base_url: str) -> Digest:
    """The message a delivery sends: one notice per alert, its latest event, worst first."""
    latest: dict[int, tuple[AlertEvent, list[int]]] = {}
    for notification in delivery.notifications:
        event = notification.event
        known = latest.get(notification.alert_id)
        ids = (known[1] if known else []) + [notification.id]
        if known is None or event.id > known[0].id:
            latest[notification.alert_id] = (event, ids)
        else:
            latest[notification.alert_id] = (known[0], ids)
    single = len(latest) == 1
    playbooks: dict[tuple[str, str], Playbook | None] = {}
    notices = [
        notice_of(
            event.alert,
            event,
            session=session,
            notification_ids=ids,
            figures=single,
            playbooks=playbooks,
        )
        for event, ids in latest.values()
    ]
    notices.sort(key=lambda n: (-SEVERITY_ORDER.index(n.severity), n.entity_code, n.alert_id))
    return digest_of(
        session, notices, channel=delivery.channel, group_key=delivery.group_key, base_url=base_url
    )


def sample_digest(channel: Channel, *, base_url: str, now: datetime | None = None) -> Digest:
    """A made-up one-notice message for a channel test, marked as a test throughout."""
    moment = now or datetime.now(UTC)
    today = moment.date().replace(day=1)
    notice = Notice(
        alert_id=None,
        fingerprint="clusterwatch-test",
        event=Event.OPENED,
        event_at=moment,
        event_period=today,
        status=AlertStatus.FIRING,
        severity="blue",
        worst_severity="blue",
        level="government",
        dimension="economic",
        model="threshold",
        entity_code="test",
        entity_names=("通道测试", "Channel test"),
        entity_level="government",
        indicator_code="test",
        indicator_names=("测试指标", "Test indicator"),
        frequency="M",
        unit="%",
        first_period=today,
        last_period=today,
        resolved_period=None,
        value=-1.0,
        threshold=0.0,
        opened_at=moment,
        resolved_at=None,
    )
    return digest_of(
        None,
        [notice],
        channel=channel,
        group_key="government|economic|entity:0",
        base_url=base_url,
        test=True,
    )
