"""A test send reaches every kind of channel once, right away, and is never retried."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from alerts import testsend
from alerts.channels import create_channel
from monitor.config import SmtpSettings
from monitor.records import Delivery, Notification

OK_ANSWERS = {
    "webhook": b"",
    "dingtalk": b'{"errcode":0,"errmsg":"ok"}',
    "wecom": b'{"errcode":0,"errmsg":"ok"}',
    "feishu": b'{"code":0,"msg":"success","data":{}}',
}


@pytest.mark.parametrize("kind", sorted(OK_ANSWERS))
def test_a_test_message_reaches_each_http_channel_kind(
    database, make_settings, webhook_server, kind
):
    webhook_server.answer = OK_ANSWERS[kind]
    with database.session() as session:
        channel = create_channel(
            session, kind=kind, name=f"{kind} duty", target=webhook_server.url(), secret="s"
        )
        check = testsend.test_send(channel, make_settings())

    (request,) = webhook_server.requests
    text = request.body.decode("utf-8")
    assert check == testsend.SendCheck(ok=True)
    assert "通道测试" in text or "ClusterWatchTest" in text
    if kind == "webhook":
        assert json.loads(text)["alerts"][0]["labels"]["alertname"] == "ClusterWatchTest"
        assert request.headers["X-ClusterWatch-Signature"].startswith("sha256=")
    else:
        assert "[测试]" in text


def test_a_test_email_arrives(database, make_settings, start_smtp):
    server = start_smtp()
    smtp = SmtpSettings(host="127.0.0.1", port=server.port, timeout=5, sender="cw@example.cn")
    with database.session() as session:
        channel = create_channel(
            session, kind="email", name="ops", target="ops@example.cn", locale="en"
        )
        check = testsend.test_send(channel, make_settings(smtp=smtp))

    (mail,) = server.mailbox.messages
    assert check.ok
    assert mail["Subject"].startswith("[TEST] [BLUE] Channel test")
    assert "no action is needed" in mail.get_body(("plain",)).get_content()


def test_a_failed_test_send_reports_the_error_once_and_queues_nothing(
    database, make_settings, webhook_server
):
    webhook_server.status = 503
    with database.session() as session:
        channel = create_channel(
            session, kind="webhook", name="hook", target=webhook_server.url("/x?token=t0k")
        )
        channel.enabled = False  # a disabled channel can still be tested
        check = testsend.test_send(channel, make_settings())
        queued = session.scalar(select(func.count()).select_from(Notification))
        deliveries = session.scalar(select(func.count()).select_from(Delivery))

    assert check.ok is False and check.permanent is False
    assert check.error == f"webhook http://127.0.0.1:{webhook_server.port}/x answered 503"
    assert len(webhook_server.requests) == 1
    assert (queued, deliveries) == (0, 0)


def test_an_unconfigured_mail_server_is_a_permanent_test_failure(database, make_settings):
    with database.session() as session:
        channel = create_channel(session, kind="email", name="ops", target="ops@example.cn")
        check = testsend.test_send(channel, make_settings())

    assert check == testsend.SendCheck(ok=False, error="SMTP is not configured", permanent=True)
