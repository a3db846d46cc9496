"""A series whose next value is overdue raises a stale-data alert that climbs and resolves."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from alerts.housekeeping import run_housekeeping
from alerts.messages import build_message
from alerts.policy import AlertPolicy
from alerts.stale_data import (
    raise_stale_data_alerts,
    stale_data_colour,
    stale_data_fingerprint,
)
from alerts.staleness import mark_stale
from monitor.records import Alert, AlertEvent, Channel, Notification, Observation
from monitor.staleness import late_cutoff
from monitor.vocabulary import STALE_DATA_MODEL

JUNE_2 = datetime(2024, 6, 2, tzinfo=UTC)  # April and May ended without a March successor


def _observe(session, entity, indicator, *months: int, year: int = 2024) -> None:
    session.add_all(
        Observation(
            indicator_id=indicator.id,
            entity_id=entity.id,
            period=date(year, month, 1),
            value=100.0 + month,
        )
        for month in months
    )


def _stale_alerts(database) -> list[Alert]:
    with database.session() as session:
        alerts = list(
            session.scalars(select(Alert).where(Alert.model == STALE_DATA_MODEL).order_by(Alert.id))
        )
        for alert in alerts:
            _ = [event.kind for event in alert.events]
        return alerts


def _channel(session) -> Channel:
    channel = Channel(name="office", kind="webhook", target="http://hooks.example/a")
    session.add(channel)
    session.flush()
    return channel


@pytest.mark.parametrize(
    ("missed", "allowed", "colour"),
    [
        (1, 2, None),
        (2, 2, "blue"),
        (3, 2, "blue"),
        (4, 2, "yellow"),
        (6, 2, "orange"),
        (40, 2, "orange"),
    ],
)
def test_the_colour_climbs_one_step_per_allowance_missed(missed, allowed, colour):
    found = stale_data_colour(missed, allowed)
    assert (found.value if found else None) == colour


@pytest.mark.parametrize(
    ("frequency", "today", "allowed", "cutoff"),
    [
        ("M", date(2024, 6, 2), 2, date(2024, 4, 1)),
        ("M", date(2024, 1, 15), 2, date(2023, 11, 1)),
        ("Q", date(2024, 7, 10), 1, date(2024, 4, 1)),
        ("A", date(2024, 3, 1), 2, date(2022, 1, 1)),
    ],
)
def test_a_series_is_late_when_its_latest_period_is_before_the_cutoff(
    frequency, today, allowed, cutoff
):
    assert late_cutoff(frequency, today, allowed) == cutoff


def test_an_overdue_series_opens_a_blue_stale_data_alert_and_notifies(database, world):
    with database.session() as session:
        _channel(session)
        _observe(session, world.weifang, world.indicators["iva"], 1, 2, 3)
        _observe(session, world.qingdao, world.indicators["iva"], 1, 2, 3, 4, 5)

    with database.session() as session:
        early = raise_stale_data_alerts(session, now=datetime(2024, 5, 20, tzinfo=UTC))
    with database.session() as session:
        counts = raise_stale_data_alerts(session, now=JUNE_2)

    (alert,) = _stale_alerts(database)
    (opened,) = alert.events
    assert early.changed == 0
    assert (counts.opened, counts.escalated, counts.resolved) == (1, 0, 0)
    assert alert.fingerprint == stale_data_fingerprint(world.weifang.id, world.indicators["iva"].id)
    assert (alert.status, alert.severity, alert.level, alert.dimension) == (
        "firing",
        "blue",
        "government",
        "economic",
    )
    assert (alert.period, alert.value, alert.threshold) == (date(2024, 3, 1), 2.0, 2.0)
    assert (opened.kind, opened.cause) == ("opened", "no_data")
    assert opened.note == "no value since 2024-03; 2 periods missed"
    with database.session() as session:
        statuses = session.scalars(select(Notification.status)).all()
    assert statuses == ["pending"]


def test_a_second_pass_changes_nothing_until_the_gap_grows(database, world):
    with database.session() as session:
        _observe(session, world.weifang, world.indicators["iva"], 1, 2, 3)
    with database.session() as session:
        raise_stale_data_alerts(session, now=JUNE_2)
    with database.session() as session:
        again = raise_stale_data_alerts(session, now=datetime(2024, 6, 28, tzinfo=UTC))
    with database.session() as session:
        later = raise_stale_data_alerts(session, now=datetime(2024, 8, 5, tzinfo=UTC))

    (alert,) = _stale_alerts(database)
    assert again.changed == 0
    assert later.escalated == 1
    assert [e.kind for e in alert.events] == ["opened", "escalated"]
    assert (alert.severity, alert.worst_severity, alert.value) == ("yellow", "yellow", 4.0)


def test_a_value_arriving_resolves_the_stale_data_alert(database, world):
    with database.session() as session:
        _channel(session)
        _observe(session, world.weifang, world.indicators["iva"], 1, 2, 3)
    with database.session() as session:
        raise_stale_data_alerts(session, now=JUNE_2)
    with database.session() as session:
        _observe(session, world.weifang, world.indicators["iva"], 4, 5)
    with database.session() as session:
        counts = raise_stale_data_alerts(session, now=datetime(2024, 6, 20, tzinfo=UTC))

    (alert,) = _stale_alerts(database)
    resolved = alert.events[-1]
    assert counts.resolved == 1
    assert (alert.status, alert.resolved_period) == ("resolved", date(2024, 5, 1))
    assert (resolved.kind, resolved.cause, resolved.note) == (
        "resolved",
        "data_resumed",
        "a value for 2024-05 arrived",
    )
    with database.session() as session:
        kinds = session.execute(
            select(AlertEvent.kind).join(Notification, Notification.event_id == AlertEvent.id)
        ).scalars()
        assert sorted(kinds) == ["opened", "resolved"]


def test_a_stale_data_alert_is_not_itself_marked_stale(database, world):
    with database.session() as session:
        _observe(session, world.weifang, world.indicators["iva"], 1, 2, 3)
    with database.session() as session:
        raise_stale_data_alerts(session, now=JUNE_2)
    with database.session() as session:
        frozen = mark_stale(session, now=datetime(2024, 9, 1, tzinfo=UTC))

    (alert,) = _stale_alerts(database)
    assert frozen == []
    assert alert.status == "firing"


def test_quarterly_series_use_their_own_allowance(database, world):
    policy = AlertPolicy(stale_after_quarterly=1)
    indicator = world.indicators["output"]
    with database.session() as session:
        session.merge(indicator).frequency = "Q"
        _observe(session, world.cluster, indicator, 1, 4)  # 2024Q1 and Q2
    with database.session() as session:
        on_time = raise_stale_data_alerts(
            session, now=datetime(2024, 9, 30, tzinfo=UTC), policy=policy
        )
    with database.session() as session:
        late = raise_stale_data_alerts(
            session, now=datetime(2024, 10, 2, tzinfo=UTC), policy=policy
        )

    (alert,) = _stale_alerts(database)
    assert on_time.changed == 0 and late.opened == 1
    assert alert.events[0].note == "no value since 2024Q2; 1 periods missed"


def test_housekeeping_raises_stale_data_alerts(database, world):
    with database.session() as session:
        _observe(session, world.weifang, world.indicators["iva"], 1, 2, 3)

    report = run_housekeeping(database, now=JUNE_2)

    assert report.stale_data == 1
    assert len(_stale_alerts(database)) == 1


@pytest.mark.parametrize(
    ("locale", "subject", "value"),
    [
        ("zh_CN", "[蓝色预警 · 数据未报送] 潍坊市 · 工业增加值同比 — 经济", "2期未报送"),
        (
            "en",
            "[BLUE · data overdue] Weifang · Industrial value added YoY — economic",
            "2 periods missed",
        ),
    ],
)
def test_the_message_says_how_many_periods_are_missing(database, world, locale, subject, value):
    with database.session() as session:
        _channel(session)
        _observe(session, world.weifang, world.indicators["iva"], 1, 2, 3)
    with database.session() as session:
        raise_stale_data_alerts(session, now=JUNE_2)
        notification = session.scalars(select(Notification)).one()
        message = build_message(notification, base_url="http://console.example", locale=locale)

    assert message.subject == subject
    assert value in message.text
