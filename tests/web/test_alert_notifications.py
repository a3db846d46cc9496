"""The alert page tells what became of each notification and sums up the response."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from alerts.workflow import acknowledge, resolve
from monitor.db import Database
from monitor.records import Alert, AlertEvent, Channel, Notification
from tests.web.dataset import World

REASON = "silence 7 by 李工: 春节停产检修"


def _notify(database: Database, alert_id: int) -> None:
    """The alert's opening: sent to the city office, silenced for the cluster staff."""
    with database.session() as session:
        office = Channel(name="市工信局值班", kind="email", target="gov@example.cn")
        cluster = Channel(name="集群联络员", kind="webhook", target="https://hooks.example.org/c")
        session.add_all([office, cluster])
        session.flush()
        event = session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id)).first()
        session.add_all(
            [
                Notification(
                    event_id=event.id,
                    alert_id=alert_id,
                    channel_id=office.id,
                    idempotency_key="sent-1",
                    status="sent",
                    attempts=2,
                    sent_at=event.at + timedelta(minutes=1),
                ),
                Notification(
                    event_id=event.id,
                    alert_id=alert_id,
                    channel_id=cluster.id,
                    idempotency_key="silenced-1",
                    status="silenced",
                    attempts=0,
                    muted_reason=REASON,
                ),
            ]
        )


def test_the_alert_page_lists_each_notification_with_why_it_was_muted(
    as_viewer: FlaskClient, database: Database, world: World
) -> None:
    alert_id = world.alerts["firms"]
    _notify(database, alert_id)

    page = as_viewer.get(f"/alerts/{alert_id}").get_data(as_text=True)
    other = as_viewer.get(f"/alerts/{world.alerts['policy']}").get_data(as_text=True)

    assert 'id="notifications"' in page
    assert "市工信局值班" in page and "集群联络员" in page
    assert 'class="notice-sent"' in page and 'class="notice-silenced"' in page
    assert REASON in page
    assert "集群联络员" not in other and 'class="notice-' not in other


def test_the_alert_page_sums_up_the_response_times(
    as_viewer: FlaskClient, database: Database, world: World
) -> None:
    alert_id = world.alerts["firms"]
    with database.session() as session:
        alert = session.get_one(Alert, alert_id)
        alert.status = "firing"
        acknowledge(session, alert, actor="王科长", now=alert.opened_at + timedelta(hours=2))
        resolve(session, alert, actor="王科长", now=alert.opened_at + timedelta(hours=30))
    as_viewer.post("/language", data={"locale": "en", "next": "/"})

    page = as_viewer.get(f"/alerts/{alert_id}").get_data(as_text=True)

    assert "<dt>Time to acknowledge</dt><dd>2 h</dd>" in page
    assert "<dt>Time to resolve</dt><dd>30 h</dd>" in page
