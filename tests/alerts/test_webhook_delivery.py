from __future__ import annotations

import json
from datetime import timedelta

from alerts.channels import sync_channels_from_settings
from alerts.dispatch import deliver_due
from alerts.outbox import enqueue
from alerts.transports import transport_for
from alerts.transports.webhook import WebhookTransport, safe_url
from monitor.records import Notification


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
    return WebhookTransport(channel.target, timeout=0.2)


def test_webhook_receives_the_json_payload_with_an_idempotency_key(
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
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == key
    assert "潍坊市".encode() in request.body  # UTF-8, not \\u escapes
    assert payload["version"] == "1"
    assert payload["idempotency_key"] == key
    assert payload["event"] == "opened"
    assert payload["alert"]["id"] == alert_id
    assert payload["alert"]["severity"] == "red"
    assert payload["alert"]["period"] == "2024-05-01"
    assert payload["alert"]["url"] == f"http://console.example/alerts/{alert_id}"
    assert payload["alert"]["entity"]["name_zh"] == "潍坊市"
    assert payload["alert"]["indicator"]["code"] == "industrial_va_yoy"
    assert _notification(database, notification_id).status == "sent"


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
