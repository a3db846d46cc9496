"""DingTalk, WeCom and Feishu robots against a local server that answers as they do."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from alerts.channels import create_channel
from alerts.dispatch import deliver_due
from alerts.outbox import enqueue
from alerts.transports.dingtalk import DingTalkTransport, dingtalk_signature
from alerts.transports.feishu import FeishuTransport, feishu_signature
from monitor.records import Notification

DINGTALK_SECRET = "SEC0123456789abcdef"
FEISHU_SECRET = "fs-s3cret"
FIXED_CLOCK = 1_719_820_800.5  # 2024-07-01 08:00:00.5 UTC


def _ok(code_key: str = "errcode") -> bytes:
    return json.dumps({code_key: 0, "errmsg": "ok"}).encode()


def _queue(database, seed_alert, **channel) -> int:
    with database.session() as session:
        created = create_channel(session, name="robot", **channel)
        alert, event = seed_alert(session)
        (notification,) = enqueue(session, alert, event, [created])
        session.flush()
        return notification.id


def _notification(database, notification_id) -> Notification:
    with database.session() as session:
        return session.get_one(Notification, notification_id)


def _fixed_clock_factory(transport_class, **extra):
    def factory(channel, settings):
        return transport_class(channel.target, secret=channel.secret, clock=lambda: FIXED_CLOCK)

    return factory


def _dingtalk_server(request) -> tuple[int, bytes]:
    """Answer like DingTalk: check the signature first, then the message type."""
    query = parse_qs(urlsplit(request.path).query)
    timestamp, sign = query["timestamp"][0], query["sign"][0]
    to_sign = f"{timestamp}\n{DINGTALK_SECRET}".encode()
    expected = base64.b64encode(
        hmac.new(DINGTALK_SECRET.encode(), to_sign, hashlib.sha256).digest()
    ).decode()
    if sign != expected:
        return 200, json.dumps({"errcode": 310000, "errmsg": "sign not match"}).encode()
    body = json.loads(request.body)
    if body.get("msgtype") != "markdown" or not body["markdown"].get("title"):
        return 200, json.dumps({"errcode": 40035, "errmsg": "invalid parameter"}).encode()
    return 200, _ok()


def test_dingtalk_gets_signed_markdown(database, make_settings, seed_alert, webhook_server, now):
    webhook_server.respond = _dingtalk_server
    url = webhook_server.url("/robot/send") + "?access_token=dt-token"
    notification_id = _queue(
        database, seed_alert, kind="dingtalk", target=url, secret=DINGTALK_SECRET
    )
    settings = make_settings()

    report = deliver_due(
        database, settings, now=now, transport_factory=_fixed_clock_factory(DingTalkTransport)
    )

    (request,) = webhook_server.requests
    query = parse_qs(urlsplit(request.path).query)
    body = json.loads(request.body)
    assert report.sent == 1
    assert query["access_token"] == ["dt-token"]
    assert query["timestamp"] == ["1719820800500"]
    assert query["sign"] == [dingtalk_signature(1_719_820_800_500, DINGTALK_SECRET)]
    assert body["markdown"]["title"] == "[红色预警] 潍坊市 · 工业增加值同比 — 经济"
    assert body["markdown"]["text"].startswith("### [红色预警] 潍坊市")
    assert "- 主体：潍坊市（政府）" in body["markdown"]["text"]
    assert _notification(database, notification_id).status == "sent"


def test_dingtalk_refusing_the_signature_is_dead_and_hides_the_token(
    database, make_settings, seed_alert, webhook_server, now
):
    webhook_server.respond = _dingtalk_server
    url = webhook_server.url("/robot/send") + "?access_token=dt-token"
    notification_id = _queue(database, seed_alert, kind="dingtalk", target=url, secret="wrong")

    report = deliver_due(database, make_settings(), now=now)

    error = _notification(database, notification_id).last_error
    assert report.dead == 1
    assert error == "DingTalk robot 127.0.0.1 refused the message: 310000 sign not match"
    assert "dt-token" not in error


@pytest.mark.parametrize(
    ("kind", "answer", "outcome"),
    [
        ("dingtalk", {"errcode": 130101, "errmsg": "send too fast"}, "retried"),
        ("dingtalk", {"errcode": 310000, "errmsg": "keywords not in content"}, "dead"),
        ("wecom", {"errcode": 45009, "errmsg": "api freq out of limit"}, "retried"),
        ("wecom", {"errcode": 93000, "errmsg": "invalid webhook url"}, "dead"),
        ("wecom", {"errcode": -1, "errmsg": "system busy"}, "retried"),
        ("feishu", {"code": 11232, "msg": "frequency limited"}, "retried"),
        (
            "feishu",
            {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"},
            "dead",
        ),
        ("feishu", {"code": 9499, "msg": "Bad Request"}, "dead"),
        ("feishu", {"StatusCode": 0, "StatusMessage": "success"}, "sent"),
    ],
)
def test_robot_error_codes_are_transient_or_permanent(
    database, make_settings, seed_alert, webhook_server, now, kind, answer, outcome
):
    webhook_server.answer = json.dumps(answer).encode()
    _queue(database, seed_alert, kind=kind, target=webhook_server.url("/hook/tok"))

    report = deliver_due(database, make_settings(), now=now)

    assert {"sent": report.sent, "retried": report.retried, "dead": report.dead}[outcome] == 1


def test_an_unreadable_robot_answer_is_retried(
    database, make_settings, seed_alert, webhook_server, now
):
    webhook_server.answer = b"<html>gateway</html>"
    notification_id = _queue(database, seed_alert, kind="wecom", target=webhook_server.url())

    report = deliver_due(database, make_settings(), now=now)

    assert report.retried == 1
    assert "unreadable answer" in _notification(database, notification_id).last_error


def test_wecom_gets_markdown_within_4096_bytes(
    database, make_settings, seed_alert, webhook_server, now
):
    webhook_server.answer = _ok()
    url = webhook_server.url("/cgi-bin/webhook/send") + "?key=wecom-key"
    with database.session() as session:
        channel = create_channel(session, name="企业微信", kind="wecom", target=url)
        for number in range(60):
            alert, event = seed_alert(
                session, level="enterprise", entity_code=f"firm-{number}", severity="yellow"
            )
            alert.entity.cluster_id = None
            enqueue(session, alert, event, [channel])
        for notification in session.scalars(select(Notification)):
            notification.group_key = "enterprise|economic|region:0"  # one shock, one group

    report = deliver_due(database, make_settings(), now=now)

    (request,) = webhook_server.requests
    body = json.loads(request.body)
    content = body["markdown"]["content"]
    assert report.sent == 1
    assert body["msgtype"] == "markdown"
    assert len(content.encode("utf-8")) <= 4096
    assert "60条" in content
    assert "请在控制台查看" in content


def _feishu_server(request) -> tuple[int, bytes]:
    """Answer like Feishu: a bad signature is code 19021."""
    body = json.loads(request.body)
    key = f"{body.get('timestamp')}\n{FEISHU_SECRET}".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    if body.get("sign") != expected:
        return 200, json.dumps({"code": 19021, "msg": "sign match fail"}).encode()
    return 200, json.dumps({"code": 0, "msg": "success", "data": {}}).encode()


def test_feishu_gets_signed_text(database, make_settings, seed_alert, webhook_server, now):
    webhook_server.respond = _feishu_server
    url = webhook_server.url("/open-apis/bot/v2/hook/feishu-token")
    notification_id = _queue(
        database, seed_alert, kind="feishu", target=url, secret=FEISHU_SECRET, locale="en"
    )

    report = deliver_due(
        database, make_settings(), now=now, transport_factory=_fixed_clock_factory(FeishuTransport)
    )

    body = json.loads(webhook_server.requests[0].body)
    assert report.sent == 1
    assert body["timestamp"] == "1719820800"
    assert body["sign"] == feishu_signature(1_719_820_800, FEISHU_SECRET)
    assert body["msg_type"] == "text"
    assert body["content"]["text"].startswith("[RED] Weifang · Industrial value added YoY")
    assert "Entity: Weifang (government)" in body["content"]["text"]
    assert _notification(database, notification_id).status == "sent"


def test_feishu_with_a_wrong_secret_is_dead_without_the_token(
    database, make_settings, seed_alert, webhook_server, now
):
    webhook_server.respond = _feishu_server
    url = webhook_server.url("/open-apis/bot/v2/hook/feishu-token")
    notification_id = _queue(database, seed_alert, kind="feishu", target=url, secret="nope")

    report = deliver_due(database, make_settings(), now=now)
    later = deliver_due(database, make_settings(), now=now + timedelta(hours=2))

    error = _notification(database, notification_id).last_error
    assert (report.dead, later.sent) == (1, 0)
    assert "19021" in error
    assert "feishu-token" not in error
