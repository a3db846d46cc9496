"""Repeat: an unacknowledged firing alert is sent again after the interval; housekeeping."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from alerts.dispatch import deliver_due
from alerts.housekeeping import run_housekeeping
from alerts.policy import AlertPolicy, save_policy
from alerts.reminders import queue_reminders
from alerts.workflow import acknowledge
from monitor.config import SmtpSettings
from monitor.records import Alert, AlertEvent, Channel, Observation

DAY = timedelta(days=1)


def _told(database, world, raise_alert, make_settings, now, **alert) -> int:
    """An alert whose opening was sent to a webhook channel; returns its id."""
    with database.session() as session:
        channel = Channel(kind="webhook", target="http://h.example/x", name="hook")
        session.add(channel)
        session.flush()
        firing, _ = raise_alert(
            session, world.weifang, world.indicators["iva"], channels=[channel], **alert
        )

    class Quiet:
        def send(self, digest, idempotency_key) -> None:
            pass

    deliver_due(
        database,
        make_settings(),
        now=now + timedelta(minutes=1),
        transport_factory=lambda c, s: Quiet(),
    )
    return firing.id


def _kinds(database, alert_id) -> list[str]:
    with database.session() as session:
        return [e.kind for e in session.get_one(Alert, alert_id).events]


def test_an_unacknowledged_alert_is_repeated_after_the_interval_only(
    database, world, raise_alert, make_settings, now
):
    alert_id = _told(database, world, raise_alert, make_settings, now)
    policy = AlertPolicy(repeat_interval_seconds=2 * 24 * 3600)

    with database.session() as session:
        early = queue_reminders(session, now=now + DAY, policy=policy)
    with database.session() as session:
        due = queue_reminders(session, now=now + 2 * DAY, policy=policy)
    with database.session() as session:
        again = queue_reminders(session, now=now + 3 * DAY, policy=policy)

    assert (len(early), len(due), len(again)) == (0, 1, 0)
    assert _kinds(database, alert_id) == ["opened", "repeated"]
    assert due[0].cause == "unacknowledged"


def test_a_reminder_arrives_by_mail_with_its_own_subject(
    database, world, raise_alert, make_settings, start_smtp, now
):
    server = start_smtp()
    settings = make_settings(
        smtp=SmtpSettings(host="127.0.0.1", port=server.port, timeout=5, sender="cw@example.cn")
    )
    with database.session() as session:
        channel = Channel(kind="email", target="duty@example.cn", name="duty")
        session.add(channel)
        session.flush()
        raise_alert(session, world.qingdao, world.indicators["iva"], channels=[channel])
    deliver_due(database, settings, now=now + timedelta(minutes=1))
    with database.session() as session:
        save_policy(session, AlertPolicy(repeat_interval_seconds=3600))

    chores = run_housekeeping(database, now=now + timedelta(hours=2))
    deliver_due(database, settings, now=now + timedelta(hours=2, minutes=10))

    assert (chores.stale, chores.reminders) == (0, 1)
    subjects = [mail["Subject"] for mail in server.mailbox.messages]
    assert subjects == [
        "[橙色预警] 青岛市 · 工业增加值同比 — 经济",
        "[橙色预警 · 提醒] 青岛市 · 工业增加值同比 — 经济",
    ]
    body = server.mailbox.messages[1].get_body(("plain",)).get_content()
    assert "青岛市的工业增加值同比橙色预警仍未确认处理。" in body


def test_acknowledged_flapping_or_never_sent_alerts_are_not_repeated(
    database, world, raise_alert, make_settings, now
):
    acknowledged = _told(database, world, raise_alert, make_settings, now)
    with database.session() as session:
        acknowledge(session, session.get_one(Alert, acknowledged), actor="analyst", now=now)
        flapping, _ = raise_alert(session, world.qingdao, world.indicators["iva"])
        flapping.flapping = True
        raise_alert(session, world.province, world.indicators["iva"])  # a backfill's, unsent

    with database.session() as session:
        reminders = queue_reminders(session, now=now + 30 * DAY)

    assert reminders == []


def test_housekeeping_turns_overdue_series_stale_and_raises_their_stale_data_alert(
    database, world, raise_alert, now
):
    with database.session() as session:
        alert, _ = raise_alert(
            session, world.weifang, world.indicators["iva"], period=date(2024, 3, 1)
        )
        session.add(
            Observation(
                indicator_id=alert.indicator_id,
                entity_id=alert.entity_id,
                period=date(2024, 3, 1),
                value=1.0,
            )
        )

    chores = run_housekeeping(database, now=now)  # July: April .. June missed

    assert (chores.stale, chores.stale_data) == (1, 1)
    with database.session() as session:
        events = session.execute(
            select(Alert.model, AlertEvent.kind).join(Alert).order_by(AlertEvent.id)
        ).all()
    assert [tuple(event) for event in events[-2:]] == [
        ("threshold", "stale"),
        ("stale_data", "opened"),
    ]
