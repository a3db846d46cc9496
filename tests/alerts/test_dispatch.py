from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import select, update

from alerts.channels import sync_channels_from_settings
from alerts.dispatch import LEASE, claim, deliver_due, due_delivery_ids, retry_delay
from alerts.errors import TransportError
from alerts.outbox import enqueue
from monitor.records import Channel, Delivery, Notification


def _queue(database, settings, seed_alert, *, alerts=1) -> list[int]:
    notifications = []
    with database.session() as session:
        channels = sync_channels_from_settings(session, settings)
        for number in range(alerts):
            alert, event = seed_alert(session, entity_code=f"city-{number}")
            notifications += enqueue(session, alert, event, channels)
        session.flush()
        return [notification.id for notification in notifications]


def _statuses(database) -> Counter:
    with database.session() as session:
        return Counter(session.scalars(select(Notification.status)))


class FailingTransport:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def send(self, digest, idempotency_key) -> None:
        self.calls += 1
        raise self.error


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    def send(self, digest, idempotency_key) -> None:
        self.sent.append((idempotency_key, len(digest.notices)))


def _one_delivery(database, settings, seed_alert, now) -> int:
    _queue(database, settings, seed_alert)
    deliver_due(database, settings, now=now, transport_factory=lambda c, s: _Never())
    with database.session() as session:
        return session.scalars(select(Delivery.id)).one()


class _Never:
    def send(self, digest, idempotency_key) -> None:
        raise TransportError("down for the test")


def test_reaching_max_attempts_is_dead(database, make_settings, seed_alert, now):
    settings = make_settings(webhook_urls=("http://h.example/x",), delivery_max_attempts=3)
    (notification_id,) = _queue(database, settings, seed_alert)
    transport = FailingTransport(TransportError("webhook answered 503"))

    reports = [
        deliver_due(
            database,
            settings,
            now=now + timedelta(hours=hour),
            transport_factory=lambda c, s: transport,
        )
        for hour in range(5)
    ]

    assert [(r.retried, r.dead) for r in reports] == [(1, 0), (1, 0), (0, 1), (0, 0), (0, 0)]
    assert transport.calls == 3
    with database.session() as session:
        notification = session.get_one(Notification, notification_id)
        delivery = session.scalars(select(Delivery)).one()
    assert (notification.status, notification.attempts) == ("dead", 3)
    assert (delivery.status, delivery.attempts) == ("dead", 3)
    assert notification.last_error == delivery.last_error == "webhook answered 503"


def test_retry_delay_doubles_from_thirty_seconds_up_to_an_hour():
    middle = 0.5  # no jitter

    assert [retry_delay(n, rand=lambda: middle).total_seconds() for n in (1, 2, 3, 4)] == [
        30,
        60,
        120,
        240,
    ]
    assert retry_delay(8, rand=lambda: middle) == timedelta(hours=1)
    assert retry_delay(500, rand=lambda: middle) == timedelta(hours=1)


def test_retry_delay_jitter_stays_within_twenty_percent():
    assert retry_delay(1, rand=lambda: 0.0) == timedelta(seconds=24)
    assert retry_delay(1, rand=lambda: 1.0) == timedelta(seconds=36)


def test_one_failing_channel_does_not_stop_the_others(database, make_settings, seed_alert, now):
    settings = make_settings(webhook_urls=("http://h.example/bad", "http://h.example/good"))
    _queue(database, settings, seed_alert, alerts=2)
    recorder = Recorder()

    def factory(channel: Channel, settings):
        if channel.target.endswith("/bad"):
            return FailingTransport(RuntimeError("bug in a transport"))
        return recorder

    report = deliver_due(database, settings, now=now, transport_factory=factory)

    assert (report.sent, report.retried, report.dead) == (2, 2, 0)
    assert len(recorder.sent) == 2
    assert _statuses(database) == {"sent": 2, "pending": 2}


def test_an_unexpected_error_is_stored_without_its_text(database, make_settings, seed_alert, now):
    settings = make_settings(webhook_urls=("http://h.example/x",))
    (notification_id,) = _queue(database, settings, seed_alert)
    transport = FailingTransport(ValueError("http://h.example/x?token=leak"))

    deliver_due(database, settings, now=now, transport_factory=lambda c, s: transport)

    with database.session() as session:
        assert session.get_one(Notification, notification_id).last_error == "unexpected ValueError"


def test_a_delivery_claimed_by_a_live_worker_is_not_taken(database, make_settings, seed_alert, now):
    settings = make_settings(webhook_urls=("http://h.example/x",))
    delivery_id = _one_delivery(database, settings, seed_alert, now)
    retry_at = now + timedelta(hours=1)

    assert claim(database, delivery_id, now=retry_at)
    assert not claim(database, delivery_id, now=retry_at + LEASE / 2)


def test_a_crashed_workers_claim_is_taken_over_after_its_lease(
    database, make_settings, seed_alert, now
):
    settings = make_settings(webhook_urls=("http://h.example/x",))
    delivery_id = _one_delivery(database, settings, seed_alert, now)
    retry_at = now + timedelta(hours=1)
    assert claim(database, delivery_id, now=retry_at)  # then the worker dies
    recorder = Recorder()

    during = deliver_due(
        database, settings, now=retry_at + LEASE / 2, transport_factory=lambda c, s: recorder
    )
    after = deliver_due(
        database,
        settings,
        now=retry_at + LEASE + timedelta(seconds=1),
        transport_factory=lambda c, s: recorder,
    )

    assert during.sent == 0
    assert after.sent == 1
    with database.session() as session:
        delivery = session.get_one(Delivery, delivery_id)
        notification = session.scalars(select(Notification)).one()
    assert (delivery.status, delivery.attempts) == ("sent", 3)
    assert (notification.status, notification.attempts) == ("sent", 3)


def test_a_retry_is_not_sent_before_its_time(database, make_settings, seed_alert, now):
    settings = make_settings(webhook_urls=("http://h.example/x",))
    delivery_id = _one_delivery(database, settings, seed_alert, now)
    with database.session() as session:
        retry_at = session.get_one(Delivery, delivery_id).next_attempt_at

    assert not claim(database, delivery_id, now=retry_at - timedelta(seconds=1))
    assert due_delivery_ids(database, now=retry_at, limit=10) == [delivery_id]


def test_a_sent_delivery_is_never_claimed_again(database, make_settings, seed_alert, now):
    settings = make_settings(webhook_urls=("http://h.example/x",))
    delivery_id = _one_delivery(database, settings, seed_alert, now)
    with database.session() as session:
        session.execute(
            update(Delivery).where(Delivery.id == delivery_id).values(status="sent", attempts=9)
        )

    assert not claim(database, delivery_id, now=now + timedelta(days=1))


def test_two_concurrent_workers_send_each_message_exactly_once(
    any_database, make_settings, seed_alert, webhook_server, now
):
    database = any_database
    settings = make_settings(
        database_url=database.url,
        webhook_urls=(webhook_server.url("/a"), webhook_server.url("/b")),
    )
    ids = _queue(database, settings, seed_alert, alerts=30)
    start = threading.Barrier(2)
    reports = []

    def worker() -> None:
        start.wait()
        reports.append(deliver_due(database, settings, now=now))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    keys = Counter(r.headers["Idempotency-Key"] for r in webhook_server.requests)
    assert len(ids) == 60
    assert len(reports) == 2
    assert sum(report.sent for report in reports) == 60
    assert len(keys) == 60
    assert set(keys.values()) == {1}
    assert _statuses(database) == {"sent": 60}
