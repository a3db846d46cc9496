"""Channels for admins: create with filters, test-send, enable/disable, delivery log."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from alerts.errors import TransportError
from alerts.transports import FACTORIES
from monitor.db import Database
from monitor.records import AlertEvent, Channel, Delivery, Notification
from tests.web.conftest import csrf_token, log_in
from tests.web.dataset import World


class _Recorder:
    sent: list[str] = []

    def __init__(self, channel: Any, settings: Any) -> None:
        self.channel = channel

    def send(self, digest: Any, key: str) -> None:
        if "fail" in self.channel.target:
            raise TransportError("HTTP 503 from the receiver", permanent=False)
        _Recorder.sent.append(key)


def _create(client: FlaskClient, target: str) -> None:
    client.post(
        "/channels/",
        data={
            "name": "省工信厅值班",
            "kind": "webhook",
            "target": target,
            "min_severity": "orange",
            "levels": ["government", "bogus"],
            "dimensions": ["trade"],
        },
    )


def test_only_admins_manage_channels(as_operator: FlaskClient, world: World) -> None:
    assert as_operator.get("/channels/").status_code == 403
    assert as_operator.post("/channels/", data={"name": "x"}).status_code == 403


def test_admin_creates_a_channel_with_filters(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    _create(as_admin, "https://hooks.example.org/cw")
    with database.session() as session:
        channel = session.scalars(select(Channel)).one()
        assert (channel.min_severity, channel.levels, channel.dimensions) == (
            "orange", ["government"], ["trade"],
        )  # fmt: skip
    page = as_admin.get("/channels/").get_data(as_text=True)
    assert "省工信厅值班" in page and "橙色预警" in page


def test_a_channel_can_write_in_english_and_take_one_regions_alerts_only(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    created = as_admin.post(
        "/channels/",
        data={
            "name": "Qingdao liaison",
            "kind": "email",
            "target": "liaison@example.cn",
            "locale": "en",
            "min_severity": "blue",
            "regions": "QD",
        },
    )
    unknown = as_admin.post(
        "/channels/",
        data={
            "name": "x",
            "kind": "email",
            "target": "x@example.cn",
            "min_severity": "blue",
            "regions": "WF-POWER",
        },
        follow_redirects=True,
    )

    assert created.status_code == 302
    assert "WF-POWER" in unknown.get_data(as_text=True)  # a cluster is not a region
    with database.session() as session:
        channel = session.scalars(select(Channel)).one()
        assert (channel.locale, channel.regions) == ("en", [world.entities["QD"]])
    page = as_admin.get("/channels/").get_data(as_text=True)
    assert "QD" in page and "English" in page


@pytest.mark.parametrize(
    ("target", "message"),
    [("https://ok.example.org/", "测试消息已送达"), ("https://fail.example.org/", "HTTP 503")],
)
def test_test_send_reports_delivery_or_the_error(
    as_admin: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch, target: str, message: str
) -> None:
    monkeypatch.setitem(FACTORIES, "webhook", _Recorder)
    _create(as_admin, target)
    page = as_admin.get("/channels/").get_data(as_text=True)
    channel_id = page.split('action="/channels/')[1].split("/test")[0]
    response = as_admin.post(f"/channels/{channel_id}/test", follow_redirects=True)
    assert message in response.get_data(as_text=True)


def test_disabling_and_the_delivery_log(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    _create(as_admin, "https://hooks.example.org/cw")
    with database.session() as session:
        channel = session.scalars(select(Channel)).one()
        session.add(Delivery(channel_id=channel.id, group_key="g", idempotency_key="k1",
                             status="failed", attempts=3, last_error="HTTP 410 Gone"))  # fmt: skip
        channel_id = channel.id
    as_admin.post(f"/channels/{channel_id}/enabled", data={"value": "0"})
    with database.session() as session:
        assert not session.get(Channel, channel_id).enabled
    log = as_admin.get(f"/channels/{channel_id}/log").get_data(as_text=True)
    assert "HTTP 410 Gone" in log and "failed" in log


def test_the_delivery_log_names_each_status_in_the_users_language(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    _create(as_admin, "https://hooks.example.org/cw")
    with database.session() as session:
        channel_id = session.scalars(select(Channel.id)).one()
        session.add(Delivery(channel_id=channel_id, group_key="g", idempotency_key="k2",
                             status="dead", attempts=8, last_error="HTTP 500"))  # fmt: skip
    as_admin.post("/language", data={"locale": "en", "next": "/"})

    log = as_admin.get(f"/channels/{channel_id}/log").get_data(as_text=True)

    assert "<td>given up</td>" in log


def _dead_letter(database: Database, world: World) -> int:
    """A webhook notification about the Weifang alert that was given up after five tries."""
    with database.session() as session:
        channel = Channel(name="潍坊值班", kind="webhook", target="https://hooks.example.org/wf")
        session.add(channel)
        session.flush()
        event = session.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == world.alerts["firms"])
        ).first()
        notification = Notification(
            event_id=event.id,
            alert_id=world.alerts["firms"],
            channel_id=channel.id,
            idempotency_key="dead-letter-1",
            status="dead",
            attempts=5,
            last_error="HTTP 410 Gone",
        )
        session.add(notification)
        session.flush()
        return notification.id


def test_it_resends_a_dead_letter_from_the_channels_page(
    csrf_app: Flask, database: Database, world: World
) -> None:
    notification_id = _dead_letter(database, world)
    client = csrf_app.test_client()
    log_in(client, "ada")
    page = client.get("/channels/").get_data(as_text=True)
    action = f"/channels/dead/{notification_id}/resend"
    assert action in page and "HTTP 410 Gone" in page
    response = client.post(
        action, data={"csrf_token": csrf_token(page), "next": "/channels/"}, follow_redirects=True
    )
    assert "下一轮投递时重新发送" in response.get_data(as_text=True)
    with database.session() as session:
        notification = session.get(Notification, notification_id)
        assert (notification.status, notification.attempts) == ("pending", 0)
        assert notification.resent_by == "ada"


def test_an_operator_may_resend_but_a_viewer_may_not(
    client: FlaskClient, database: Database, world: World
) -> None:
    notification_id = _dead_letter(database, world)
    log_in(client, "vera")
    assert client.post(f"/channels/dead/{notification_id}/resend").status_code == 403
    client.post("/logout")
    log_in(client, "otto")
    response = client.post(f"/channels/dead/{notification_id}/resend")
    assert response.status_code == 302 and response.location == "/channels/dead"
    with database.session() as session:
        assert session.get(Notification, notification_id).status == "pending"


def test_operators_find_dead_letters_on_their_own_page_and_resend_from_it(
    csrf_app: Flask, database: Database, world: World
) -> None:
    notification_id = _dead_letter(database, world)
    client = csrf_app.test_client()
    log_in(client, "otto")
    assert client.get("/channels/").status_code == 403
    page = client.get("/channels/dead")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    action = f"/channels/dead/{notification_id}/resend"
    assert action in text and "HTTP 410 Gone" in text
    response = client.post(action, data={"csrf_token": csrf_token(text), "next": "/channels/dead"})
    assert response.status_code == 302 and response.location == "/channels/dead"
    with database.session() as session:
        assert session.get(Notification, notification_id).resent_by == "otto"


def test_viewers_see_no_dead_letters_and_operators_change_no_channel(
    client: FlaskClient, database: Database, world: World
) -> None:
    notification_id = _dead_letter(database, world)
    channel_id = database.sessions().get(Notification, notification_id).channel_id
    log_in(client, "vera")
    assert client.get("/channels/dead").status_code == 403
    client.post("/logout")
    log_in(client, "otto")
    assert client.post(f"/channels/{channel_id}/enabled", data={"value": "0"}).status_code == 403
    assert client.post(f"/channels/{channel_id}/test").status_code == 403
    assert client.get(f"/channels/{channel_id}/log").status_code == 403
    _create(client, "https://hooks.example.org/by-an-operator")
    with database.session() as session:
        assert session.get(Channel, channel_id).enabled
        assert session.scalar(select(Channel).where(Channel.target.contains("operator"))) is None


def test_resending_twice_says_only_dead_letters_can_be_resent(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    notification_id = _dead_letter(database, world)
    as_admin.post(f"/channels/dead/{notification_id}/resend")
    again = as_admin.post(f"/channels/dead/{notification_id}/resend", follow_redirects=True)
    assert "只有已放弃的投递才能重新发送" in again.get_data(as_text=True)


def test_resend_without_a_csrf_token_is_refused(
    csrf_app: Flask, database: Database, world: World
) -> None:
    notification_id = _dead_letter(database, world)
    client = csrf_app.test_client()
    log_in(client, "ada")
    assert client.post(f"/channels/dead/{notification_id}/resend").status_code == 400
    with database.session() as session:
        assert session.get(Notification, notification_id).status == "dead"
