from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select

from alerts.outbox import NOTIFYING_EVENTS, enqueue, idempotency_key
from alerts.routing import add_route
from alerts.workflow import acknowledge, resolve
from monitor.records import Alert, AlertEvent, Channel, Notification


def _channels(session, **fields) -> list[Channel]:
    channels = [
        Channel(kind="email", target="all@example.cn", name="all"),
        Channel(kind="webhook", target="http://h.example/red", name="red", min_severity="red"),
        Channel(kind="email", target="gov@example.cn", name="gov", levels=["government"]),
        Channel(kind="email", target="tech@example.cn", name="tech", dimensions=["technology"]),
        Channel(kind="email", target="off@example.cn", name="off", enabled=False),
    ]
    session.add_all(channels)
    session.flush()
    return channels


def test_enqueue_writes_one_pending_row_per_accepting_channel(database, seed_alert):
    with database.session() as session:
        channels = _channels(session)
        alert, event = seed_alert(session, severity="orange", level="government")
        created = enqueue(session, alert, event, channels)

        assert sorted(n.channel.name for n in created) == ["all", "gov"]
        for notification in created:
            assert notification.status == "pending"
            assert notification.attempts == 0
            assert notification.next_attempt_at == event.at
            assert notification.idempotency_key == idempotency_key(
                event.id, notification.channel.id
            )


def test_enqueue_does_not_commit(database, seed_alert):
    session = database.sessions()
    try:
        channels = _channels(session)
        alert, event = seed_alert(session)
        enqueue(session, alert, event, channels)
        session.rollback()
        assert session.scalar(select(func.count()).select_from(Notification)) == 0
    finally:
        session.close()


def test_enqueue_creates_nothing_twice_for_the_same_event_and_channel(database, seed_alert):
    with database.session() as session:
        channels = _channels(session)
        alert, event = seed_alert(session)
        first = enqueue(session, alert, event, channels)
    with database.session() as session:
        alert, event = session.get(type(alert), alert.id), session.get(AlertEvent, event.id)
        second = enqueue(session, alert, event, session.scalars(select(Channel)).all())
        total = session.scalar(select(func.count()).select_from(Notification))

    assert len(first) == 3  # all, red, gov
    assert second == []
    assert total == 3


def test_enqueue_flushes_an_unsaved_event_to_key_the_rows(database, seed_alert, now):
    with database.session() as session:
        channels = _channels(session)
        alert, _opened = seed_alert(session)
        escalated = AlertEvent(
            alert=alert, kind="escalated", at=now, period=date(2024, 6, 1), to_severity="red"
        )
        session.add(escalated)
        created = enqueue(session, alert, escalated, channels)

        assert escalated.id is not None
        assert {n.event_id for n in created} == {escalated.id}


def test_only_news_notifies_not_staff_actions_or_notes(database, seed_alert, now):
    assert NOTIFYING_EVENTS == {
        "opened",
        "confirmed",
        "escalated",
        "resolved",
        "stale",
        "settled",
        "repeated",
    }
    with database.session() as session:
        channels = _channels(session)
        alert, _opened = seed_alert(session)
        acknowledged = acknowledge(session, alert, actor="analyst", now=now)
        note = AlertEvent(alert=alert, kind="note", at=now, note="called the city office")
        session.add(note)
        resolved = resolve(session, alert, actor="analyst", now=now)

        assert enqueue(session, alert, acknowledged, channels) == []
        assert enqueue(session, alert, note, channels) == []
        assert len(enqueue(session, alert, resolved, channels)) == 3


def test_a_pending_alert_notifies_nobody_until_confirmed(database, seed_alert, now):
    with database.session() as session:
        channels = _channels(session)
        alert, _opened = seed_alert(session)
        pending = AlertEvent(alert=alert, kind="opened", at=now, to_status="pending")
        dropped = AlertEvent(
            alert=alert, kind="resolved", at=now, from_status="pending", to_status="resolved"
        )
        confirmed = AlertEvent(
            alert=alert, kind="confirmed", at=now, from_status="pending", to_status="firing"
        )
        session.add_all([pending, dropped, confirmed])

        assert enqueue(session, alert, pending, channels) == []
        assert enqueue(session, alert, dropped, channels) == []
        assert len(enqueue(session, alert, confirmed, channels)) == 3


def test_notices_carry_their_group_key(database, seed_alert):
    with database.session() as session:
        channels = _channels(session)
        alert, event = seed_alert(session, level="government")
        created = enqueue(session, alert, event, channels)

    assert {n.group_key for n in created} == {f"government|economic|entity:{alert.entity_id}"}


def test_a_flapping_alerts_notices_are_written_held(database, seed_alert, now):
    with database.session() as session:
        channels = _channels(session)
        alert, event = seed_alert(session)
        alert.flapping = True
        held = enqueue(session, alert, event, channels)
        settled = AlertEvent(alert=alert, kind="settled", at=now, to_status="firing")
        session.add(settled)
        told = enqueue(session, alert, settled, channels)

    assert {(n.status, n.muted_reason) for n in held} == {
        ("held", "flapping: held until the alert settles")
    }
    assert {n.status for n in told} == {"pending"}


def test_routes_pick_the_channels_first_match_first(database, seed_alert):
    with database.session() as session:
        channels = _channels(session)
        by_name = {channel.name: channel for channel in channels}
        add_route(session, name="government staff", channel=by_name["gov"], levels=["government"])
        add_route(session, name="everything else", channel=by_name["all"], position=9)
        government, opened = seed_alert(session, level="government")
        firm, firm_opened = seed_alert(session, level="enterprise", entity_code="firm-1")

        to_government = enqueue(session, government, opened, channels)
        to_firm = enqueue(session, firm, firm_opened, channels)

    assert [n.channel.name for n in to_government] == ["gov"]
    assert [n.channel.name for n in to_firm] == ["all"]


def test_a_route_that_continues_adds_more_channels(database, seed_alert):
    with database.session() as session:
        channels = _channels(session)
        by_name = {channel.name: channel for channel in channels}
        add_route(
            session,
            name="copy red to the duty webhook",
            channel=by_name["red"],
            min_severity="red",
            continue_matching=True,
        )
        add_route(session, name="all", channel=by_name["all"], position=1)
        alert, event = seed_alert(session, severity="red")

        created = enqueue(session, alert, event, channels)

    assert sorted(n.channel.name for n in created) == ["all", "red"]


def test_idempotency_key_is_stable_hex_and_distinct_per_pair():
    key = idempotency_key(7, 3)

    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert key == idempotency_key(7, 3)
    assert len({key, idempotency_key(3, 7), idempotency_key(7, 4)}) == 3


def test_a_batch_queues_what_one_by_one_queues_with_a_fixed_number_of_queries(database, seed_alert):
    from sqlalchemy import event as sa_event

    from alerts.outbox import enqueue_many

    codes = [f"city{i}" for i in range(12)]
    with database.session() as session:
        channels = _channels(session)
        pairs = [
            seed_alert(
                session, severity=("red", "orange")[i % 2], level="enterprise", entity_code=code
            )
            for i, code in enumerate(codes)
        ]
        session.flush()
        session.expunge_all()  # nothing of the alerts' entities is left in memory
    with database.session() as session:
        channels = session.scalars(select(Channel).order_by(Channel.id)).all()
        pairs = [
            (session.get(type(alert), alert.id), session.get(AlertEvent, event.id))
            for alert, event in pairs
        ]
        statements: list[str] = []

        def record(*args: object) -> None:
            statements.append(str(args[2]))

        engine = session.get_bind()
        sa_event.listen(engine, "before_cursor_execute", record)
        batched = enqueue_many(session, pairs, channels)
        session.flush()
        sa_event.remove(engine, "before_cursor_execute", record)
    one_by_one = [
        (alert.entity_id, name)
        for alert, _ in pairs
        for name in ("all", *(("red",) if alert.severity == "red" else ()))
    ]

    assert sorted((n.alert.entity_id, n.channel.name) for n in batched) == sorted(one_by_one)
    reads = [s for s in statements if s.lstrip().startswith("SELECT")]
    assert len(batched) == len(one_by_one) == 18
    assert len(reads) == 3  # routes, the entities, what is queued already: not per event


def test_queued_rows_equal_the_notifications_enqueue_writes(database, seed_alert):
    from alerts.outbox import enqueue_many, queue_many

    columns = (
        Notification.event_id,
        Notification.channel_id,
        Notification.idempotency_key,
        Notification.status,
        Notification.muted_reason,
        Notification.next_attempt_at,
        Notification.group_key,
    )
    with database.session() as session:
        _channels(session)
        seeded = [seed_alert(session, entity_code=f"c{i}") for i in range(3)]
        seeded[1][0].flapping = True
        session.flush()
        keys = [(alert.id, event.id) for alert, event in seeded]
    stored, counts = [], []
    for write in (enqueue_many, queue_many):
        with database.session() as session:
            channels = list(session.scalars(select(Channel).order_by(Channel.id)))
            pairs = [(session.get(Alert, a), session.get(AlertEvent, e)) for a, e in keys]
            written = write(session, pairs, channels)
            counts.append(written if isinstance(written, int) else len(written))
            session.flush()
            stored.append(session.execute(select(*columns).order_by(*columns[:2])).all())
            session.execute(Notification.__table__.delete())

    assert counts == [len(stored[0])] * 2
    assert stored[0] == stored[1]
    assert {row.status for row in stored[0]} == {"pending", "held"}
