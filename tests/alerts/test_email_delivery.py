from __future__ import annotations

import shutil
import ssl
import subprocess
from collections import Counter
from datetime import timedelta

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from alerts.channels import sync_channels_from_settings
from alerts.dispatch import deliver_due
from alerts.outbox import enqueue
from monitor.config import SmtpSettings
from monitor.records import Channel, Notification


def _queue_for_email(database, settings, seed_alert, *, locales=None):
    """Sync channels from settings, open an alert and queue its notices; return their ids."""
    with database.session() as session:
        channels = sync_channels_from_settings(session, settings)
        for channel, locale in zip(channels, locales or [], strict=False):
            channel.locale = locale
        alert, event = seed_alert(session)
        notifications = enqueue(session, alert, event, channels)
        session.flush()
        return alert.id, [n.id for n in notifications]


def _notification(database, notification_id) -> Notification:
    with database.session() as session:
        return session.get_one(Notification, notification_id)


def _smtp(port, **fields) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, timeout=5, sender="cw@example.cn", **fields)


def test_alert_email_is_received_once_as_multipart_text_and_html(
    database, make_settings, seed_alert, start_smtp, now
):
    server = start_smtp()
    settings = make_settings(smtp=_smtp(server.port), email_to=("zh@example.cn", "en@example.cn"))
    alert_id, ids = _queue_for_email(database, settings, seed_alert, locales=["zh_CN", "en"])

    first = deliver_due(database, settings, now=now)
    again = deliver_due(database, settings, now=now + timedelta(hours=2))

    assert (first.sent, first.retried, first.dead) == (2, 0, 0)
    assert (again.sent, again.retried, again.dead) == (0, 0, 0)
    assert len(server.mailbox.messages) == 2
    by_to = {mail["To"]: mail for mail in server.mailbox.messages}
    zh, en = by_to["zh@example.cn"], by_to["en@example.cn"]
    assert zh["Subject"] == "[红色预警] 潍坊市 · 工业增加值同比 — 经济"
    assert en["Subject"] == "[RED] Weifang · Industrial value added YoY — economic"
    assert zh["From"] == "cw@example.cn"
    assert zh["Date"]
    for mail in (zh, en):
        assert mail.get_content_type() == "multipart/alternative"
        text, html = mail.iter_parts()
        assert text.get_content_type() == "text/plain"
        assert html.get_content_type() == "text/html"
        assert text.get_content_charset() == html.get_content_charset() == "utf-8"
        assert f"http://console.example/alerts/{alert_id}" in text.get_content()
    assert "主体：潍坊市（政府）" in zh.get_body(("plain",)).get_content()
    assert "<th" in zh.get_body(("html",)).get_content()
    assert "Entity: Weifang (government)" in en.get_body(("plain",)).get_content()
    assert server.mailbox.envelopes[0][0] == "cw@example.cn"
    for notification_id in ids:
        notification = _notification(database, notification_id)
        assert notification.status == "sent"
        assert notification.sent_at == now
        assert notification.attempts == 1


def test_message_id_is_derived_from_the_idempotency_key(
    database, make_settings, seed_alert, start_smtp, now
):
    server = start_smtp()
    settings = make_settings(smtp=_smtp(server.port), email_to=("ops@example.cn",))
    _alert_id, (notification_id,) = _queue_for_email(database, settings, seed_alert)

    deliver_due(database, settings, now=now)

    key = _notification(database, notification_id).idempotency_key
    assert server.mailbox.messages[0]["Message-ID"] == f"<{key}@clusterwatch>"


def test_smtp_down_is_retried_then_delivered_once_when_it_is_up(
    database, make_settings, seed_alert, start_smtp, unused_port, now
):
    port = unused_port
    settings = make_settings(smtp=_smtp(port), email_to=("ops@example.cn",))
    _alert_id, (notification_id,) = _queue_for_email(database, settings, seed_alert)

    down = deliver_due(database, settings, now=now)
    waiting = _notification(database, notification_id)
    server = start_smtp(port=port)
    too_early = deliver_due(database, settings, now=now + timedelta(seconds=10))
    later = deliver_due(database, settings, now=now + timedelta(minutes=1))
    after = deliver_due(database, settings, now=now + timedelta(hours=1))

    assert down.retried == 1
    assert waiting.status == "pending"
    assert "connection refused" in waiting.last_error
    assert now + timedelta(seconds=24) <= waiting.next_attempt_at <= now + timedelta(seconds=36)
    assert too_early.sent == 0
    assert later.sent == 1
    assert after.sent == 0
    assert len(server.mailbox.messages) == 1
    assert _notification(database, notification_id).attempts == 2


def test_refused_recipient_is_dead_at_once(database, make_settings, seed_alert, start_smtp, now):
    server = start_smtp()
    server.mailbox.refuse.add("gone@example.cn")
    settings = make_settings(smtp=_smtp(server.port), email_to=("gone@example.cn",))
    _alert_id, (notification_id,) = _queue_for_email(database, settings, seed_alert)

    report = deliver_due(database, settings, now=now)

    notification = _notification(database, notification_id)
    assert report.dead == 1
    assert notification.status == "dead"
    assert "550" in notification.last_error
    assert server.mailbox.messages == []


def test_unconfigured_smtp_is_a_permanent_failure(database, make_settings, seed_alert, now):
    settings = make_settings(email_to=("ops@example.cn",))
    _alert_id, (notification_id,) = _queue_for_email(database, settings, seed_alert)

    report = deliver_due(database, settings, now=now)

    notification = _notification(database, notification_id)
    assert report.dead == 1
    assert notification.last_error == "SMTP is not configured"


class Authenticator:
    """An aiosmtpd authenticator accepting one user, remembering who logged in."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user.encode(), password.encode()
        self.logins: list[bytes] = []

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == self.user
        ok = ok and auth_data.password == self.password
        if ok:
            self.logins.append(auth_data.login)
        return AuthResult(success=ok, handled=False)  # unhandled: aiosmtpd answers 535


def test_it_logs_in_when_a_user_is_set(database, make_settings, seed_alert, start_smtp, now):
    authenticator = Authenticator("cw", "pa55-w0rd")
    server = start_smtp(authenticator=authenticator, auth_require_tls=False)
    smtp = _smtp(server.port, user="cw", password="pa55-w0rd")
    settings = make_settings(smtp=smtp, email_to=("ops@example.cn",))
    _queue_for_email(database, settings, seed_alert)

    report = deliver_due(database, settings, now=now)

    assert report.sent == 1
    assert authenticator.logins == [b"cw"]
    assert len(server.mailbox.messages) == 1


def test_rejected_login_is_dead_and_never_shows_the_password(
    database, make_settings, seed_alert, start_smtp, now
):
    server = start_smtp(authenticator=Authenticator("cw", "right"), auth_require_tls=False)
    smtp = _smtp(server.port, user="cw", password="wrong-Secret-42")
    settings = make_settings(smtp=smtp, email_to=("ops@example.cn",))
    _alert_id, (notification_id,) = _queue_for_email(database, settings, seed_alert)

    report = deliver_due(database, settings, now=now)

    notification = _notification(database, notification_id)
    assert report.dead == 1
    assert "535" in notification.last_error
    assert "wrong-Secret-42" not in notification.last_error


@pytest.fixture
def tls_certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1, made with the openssl tool."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return cert, key


def _tls_server(start_smtp, cert, key, **options):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return start_smtp(tls_context=context, require_starttls=True, **options)


def test_it_uses_starttls_when_configured(
    database, make_settings, seed_alert, start_smtp, tls_certificate, monkeypatch, now
):
    cert, key = tls_certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test certificate
    authenticator = Authenticator("cw", "pw")
    server = _tls_server(start_smtp, cert, key, authenticator=authenticator)
    smtp = _smtp(server.port, starttls=True, user="cw", password="pw")
    settings = make_settings(smtp=smtp, email_to=("ops@example.cn",))
    _queue_for_email(database, settings, seed_alert)

    report = deliver_due(database, settings, now=now)

    assert report.sent == 1
    assert authenticator.logins == [b"cw"]  # aiosmtpd offers AUTH only after STARTTLS here
    assert len(server.mailbox.messages) == 1


def test_untrusted_certificate_is_a_permanent_failure(
    database, make_settings, seed_alert, start_smtp, tls_certificate, now
):
    cert, key = tls_certificate
    server = _tls_server(start_smtp, cert, key)
    settings = make_settings(smtp=_smtp(server.port, starttls=True), email_to=("ops@example.cn",))
    _alert_id, (notification_id,) = _queue_for_email(database, settings, seed_alert)

    report = deliver_due(database, settings, now=now)

    assert report.dead == 1
    assert "certificate" in _notification(database, notification_id).last_error
    assert server.mailbox.messages == []


def test_disabled_channel_is_not_sent(database, make_settings, seed_alert, start_smtp, now):
    server = start_smtp()
    settings = make_settings(smtp=_smtp(server.port), email_to=("ops@example.cn",))
    _alert_id, (notification_id,) = _queue_for_email(database, settings, seed_alert)
    with database.session() as session:
        session.scalars(select(Channel)).one().enabled = False

    report = deliver_due(database, settings, now=now)

    assert report.dead == 1
    assert "disabled" in _notification(database, notification_id).last_error
    assert server.mailbox.messages == []


def test_smtp_down_then_back_every_notification_arrives_exactly_once(
    database, make_settings, seed_alert, start_smtp, unused_port, now
):
    settings = make_settings(
        smtp=_smtp(unused_port), email_to=("gov@example.cn", "duty@example.cn")
    )
    with database.session() as session:
        channels = sync_channels_from_settings(session, settings)
        for city in ("weifang", "qingdao", "yantai"):
            alert, event = seed_alert(session, entity_code=city, entity_name_zh=city)
            enqueue(session, alert, event, channels)

    down = [deliver_due(database, settings, now=now + timedelta(minutes=m)) for m in (0, 1, 3)]
    server = start_smtp(port=unused_port)
    back = [deliver_due(database, settings, now=now + timedelta(hours=h)) for h in (1, 2, 3)]

    assert sum(report.sent for report in down) == 0
    assert sum(report.retried for report in down) >= 6
    assert [report.sent for report in back] == [6, 0, 0]
    received = Counter((mail["To"], mail["Subject"]) for mail in server.mailbox.messages)
    assert len(received) == 6
    assert set(received.values()) == {1}
    with database.session() as session:
        assert set(session.scalars(select(Notification.status))) == {"sent"}
