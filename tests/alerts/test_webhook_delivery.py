from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

from sqlalchemy import select

from alerts.channels import sync_channels_from_settings
from alerts.deadletters import dead_letters, resend
from alerts.dispatch import deliver_due
from alerts.outbox import enqueue
from alerts.transports import transport_for
from alerts.transports.webhook import WebhookTransport, safe_url
from alerts.workflow import resolve
from monitor.records import Alert, Channel, Delivery, Notification


def _queue_for_webhook(database, settings, seed_alert) -> tuple[int, int]:
    with database.session() as session:
        channels = sync_channels_from_settings(session, settings)
        alert, event = seed_alert(session)
        (notification,) = enqueue(session, alert, event, channels)
        session.flush()
        return alert.id, notification.id


def _notification(database, notification_id) -> Notification:
    with database.session() as session:
        return session.get_one(Notification, notification_id)


def _short_timeout(channel, settings):
    return WebhookTransport(channel.target, secret=channel.secret, timeout=0.2)


def test_webhook_receives_an_alertmanager_v4_payload_with_an_idempotency_key(
    database, make_settings, seed_alert, webhook_server, now
):
    settings = make_settings(webhook_urls=(webhook_server.url("/hook"),))
    alert_id, notification_id = _queue_for_webhook(database, settings, seed_alert)

    report = deliver_due(database, settings, now=now)

    (request,) = webhook_server.requests
    key = _notification(database, notification_id).idempotency_key
    payload = json.loads(request.body.decode("utf-8"))
    assert report.sent == 1
    assert request.path == "/hook"
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.headers["Idempotency-Key"] == key
    assert "X-ClusterWatch-Signature" not in request.headers  # the channel has no secret
    assert "潍坊市".encode() in request.body  # UTF-8, not \\u escapes
    url = f"http://console.example/alerts/{alert_id}"
    labels = {
        "alertname": "ClusterWatchWarning",
        "severity": "red",
        "level": "government",
        "dimension": "economic",
        "entity": "weifang",
        "indicator": "industrial_va_yoy",
        "model": "threshold",
    }
    assert payload == {
        "version": "4",
        "groupKey": '{}:{dimension="economic", level="government", scope="weifang"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": webhook_server.url("/hook"),  # the channel's name
        "groupLabels": {"level": "government", "dimension": "economic", "scope": "weifang"},
        "commonLabels": labels,
        "commonAnnotations": payload["alerts"][0]["annotations"],
        "externalURL": "http://console.example",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {
                    "summary": "潍坊市 · 工业增加值同比",
                    "summary_en": "Weifang · Industrial value added YoY",
                    "event": "opened",
                    "status": "firing",
                    "period": "2024-05-01",
                    "value": "-3.2",
                    "threshold": "-2.0",
                    "worst_severity": "red",
                    "url": url,
                },
                "startsAt": "2024-07-01T07:55:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": url,
                "fingerprint": "weifang:industrial_va_yoy:threshold:1",
            }
        ],
    }
    assert _notification(database, notification_id).status == "sent"


def test_the_signature_header_is_the_hmac_of_the_body_with_the_channel_secret(
    database, make_settings, seed_alert, webhook_server, now
):
    settings = make_settings(webhook_urls=(webhook_server.url(),))
    _queue_for_webhook(database, settings, seed_alert)
    with database.session() as session:
        session.scalars(select(Channel)).one().secret = "per-channel-s3cret"

    deliver_due(database, settings, now=now)

    (request,) = webhook_server.requests
    expected = hmac.new(b"per-channel-s3cret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-ClusterWatch-Signature"] == f"sha256={expected}"


def test_a_resolved_alert_reports_its_end(database, make_settings, seed_alert, webhook_server, now):
    settings = make_settings(webhook_urls=(webhook_server.url(),))
    alert_id, _notification_id = _queue_for_webhook(database, settings, seed_alert)
    deliver_due(database, settings, now=now)
    with database.session() as session:
        alert = session.get_one(Alert, alert_id)
        event = resolve(session, alert, actor="analyst", now=now + timedelta(days=1))
        enqueue(session, alert, event, session.scalars(select(Channel)).all())

    deliver_due(database, settings, now=now + timedelta(days=1, minutes=1))

    resolved = json.loads(webhook_server.requests[-1].body)
    assert resolved["status"] == "resolved"
    assert resolved["alerts"][0]["status"] == "resolved"
    assert resolved["alerts"][0]["endsAt"] == "2024-07-02T08:00:00Z"


def test_server_error_is_retried_with_backoff_then_sent_exactly_once(
    database, make_settings, seed_alert, webhook_server, now
):
    settings = make_settings(webhook_urls=(webhook_server.url(),))
    _alert_id, notification_id = _queue_for_webhook(database, settings, seed_alert)
    webhook_server.status = 500

    failed = deliver_due(database, settings, now=now)
    waiting = _notification(database, notification_id)
    not_due = deliver_due(database, settings, now=now)
    webhook_server.status = 200
    recovered = deliver_due(database, settings, now=now + timedelta(minutes=1))
    done = deliver_due(database, settings, now=now + timedelta(hours=3))

    assert failed.retried == 1
    assert waiting.status == "pending"
    assert waiting.attempts == 1
    assert "answered 500" in waiting.last_error
    assert now + timedelta(seconds=24) <= waiting.next_attempt_at <= now + timedelta(seconds=36)
    assert not_due.sent == not_due.retried == 0
    assert recovered.sent == 1
    assert done.sent == 0
    assert len(webhook_server.delivered()) == 1
    assert len({r.headers["Idempotency-Key"] for r in webhook_server.requests}) == 1
    sent = _notification(database, notification_id)
    assert (sent.status, sent.attempts) == ("sent", 2)


def test_too_many_requests_is_retried(database, make_settings, seed_alert, webhook_server, now):
    settings = make_settings(webhook_urls=(webhook_server.url(),))
    _alert_id, notification_id = _queue_for_webhook(database, settings, seed_alert)
    webhook_server.status = 429

    report = deliver_due(database, settings, now=now)

    assert report.retried == 1
    assert _notification(database, notification_id).status == "pending"


def test_client_error_is_dead_at_once(database, make_settings, seed_alert, webhook_server, now):
    settings = make_settings(webhook_urls=(webhook_server.url(),))
    _alert_id, notification_id = _queue_for_webhook(database, settings, seed_alert)
    webhook_server.status = 400

    report = deliver_due(database, settings, now=now)
    later = deliver_due(database, settings, now=now + timedelta(hours=3))

    notification = _notification(database, notification_id)
    assert report.dead == 1
    assert later.dead == later.sent == 0
    assert notification.status == "dead"
    assert notification.attempts == 1
    assert "answered 400" in notification.last_error
    assert len(webhook_server.requests) == 1


def test_errors_and_timeouts_back_off_then_dead_letter_then_resend_delivers(
    database, make_settings, seed_alert, webhook_server, now
):
    settings = make_settings(webhook_urls=(webhook_server.url(),), delivery_max_attempts=3)
    _alert_id, notification_id = _queue_for_webhook(database, settings, seed_alert)
    webhook_server.status = 500
    retries = []

    first = deliver_due(database, settings, now=now, transport_factory=_short_timeout)
    retries.append(_notification(database, notification_id).next_attempt_at - now)
    webhook_server.status, webhook_server.delay = 200, 2.0  # now it hangs
    second_at = now + timedelta(minutes=1)
    second = deliver_due(database, settings, now=second_at, transport_factory=_short_timeout)
    retries.append(_notification(database, notification_id).next_attempt_at - second_at)
    webhook_server.status, webhook_server.delay = 500, 0.0
    third = deliver_due(
        database, settings, now=now + timedelta(minutes=10), transport_factory=_short_timeout
    )
    never = deliver_due(database, settings, now=now + timedelta(days=1))

    assert (first.retried, second.retried, third.dead, never.sent) == (1, 1, 1, 0)
    assert timedelta(seconds=24) <= retries[0] <= timedelta(seconds=36)
    assert timedelta(seconds=48) <= retries[1] <= timedelta(seconds=72)
    with database.session() as session:
        (letter,) = dead_letters(session)
    assert letter.notification_id == notification_id
    assert (letter.attempts, letter.last_error) == (
        3,
        f"webhook {safe_url(webhook_server.url())} answered 500",
    )
    assert letter.failed_at == now + timedelta(minutes=10)
    assert letter.entity_code == "weifang"

    webhook_server.status = 200
    with database.session() as session:
        resend(session, notification_id, actor="duty officer", now=now + timedelta(days=2))
    again = deliver_due(database, settings, now=now + timedelta(days=2))

    resent = _notification(database, notification_id)
    assert again.sent == 1
    assert (resent.status, resent.resent_by) == ("sent", "duty officer")
    assert webhook_server.requests[-1].headers["Idempotency-Key"] == resent.idempotency_key
    with database.session() as session:
        assert dead_letters(session) == []
        assert [d.status for d in session.scalars(select(Delivery).order_by(Delivery.id))] == [
            "dead",
            "sent",
        ]


def test_timeout_is_retried(database, make_settings, seed_alert, webhook_server, now):
    settings = make_settings(webhook_urls=(webhook_server.url(),))
    _alert_id, notification_id = _queue_for_webhook(database, settings, seed_alert)
    webhook_server.delay = 2.0

    report = deliver_due(database, settings, now=now, transport_factory=_short_timeout)

    notification = _notification(database, notification_id)
    assert report.retried == 1
    assert notification.status == "pending"
    assert "no answer within 0.2 s" in notification.last_error


def test_connection_refused_is_retried(database, make_settings, seed_alert, unused_port, now):
    settings = make_settings(webhook_urls=(f"http://127.0.0.1:{unused_port}/hook",))
    _alert_id, notification_id = _queue_for_webhook(database, settings, seed_alert)

    report = deliver_due(database, settings, now=now)

    assert report.retried == 1
    assert "connection refused" in _notification(database, notification_id).last_error


def test_errors_never_show_the_url_query_string(
    database, make_settings, seed_alert, webhook_server, now
):
    url = webhook_server.url("/robot/send") + "?access_token=t0ps3cret"
    settings = make_settings(webhook_urls=(url,))
    _alert_id, notification_id = _queue_for_webhook(database, settings, seed_alert)
    webhook_server.status = 503

    deliver_due(database, settings, now=now)

    error = _notification(database, notification_id).last_error
    assert webhook_server.requests[0].path == "/robot/send?access_token=t0ps3cret"
    assert f"webhook http://127.0.0.1:{webhook_server.port}/robot/send answered 503" == error


def test_safe_url_keeps_scheme_host_port_and_path_only():
    url = "https://user:pw@hooks.example.cn:8443/a/b?token=x#frag"

    assert safe_url(url) == "https://hooks.example.cn:8443/a/b"


def test_a_non_http_url_is_refused_without_sending(database, make_settings, seed_alert, now):
    settings = make_settings(webhook_urls=("file:///etc/passwd",))
    _alert_id, notification_id = _queue_for_webhook(database, settings, seed_alert)

    report = deliver_due(database, settings, now=now, transport_factory=transport_for)

    assert report.dead == 1
    assert "only http and https" in _notification(database, notification_id).last_error


def test_a_redirect_is_not_followed_and_is_permanent(
    database, make_settings, seed_alert, webhook_server, now
):
    settings = make_settings(webhook_urls=(webhook_server.url(),))
    _alert_id, notification_id = _queue_for_webhook(database, settings, seed_alert)
    webhook_server.status = 302

    report = deliver_due(database, settings, now=now)

    assert report.dead == 1
    assert "answered 302" in _notification(database, notification_id).last_error
    assert len(webhook_server.requests) == 1
