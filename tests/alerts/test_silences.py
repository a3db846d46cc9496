"""Silences: matchers, one-off and recurring windows (Asia/Shanghai), and muting notices."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from alerts.dispatch import deliver_due
from alerts.errors import AlertError
from alerts.outbox import enqueue
from alerts.scopes import scope_of
from alerts.silences import (
    active_silences,
    create_silence,
    expire_silence,
    list_silences,
    next_window,
    silence_matches,
    silence_state,
    window_at,
)
from alerts.spring_festival import nearest_festival_year, spring_festival
from monitor.records import Alert, Channel, Notification, Silence

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def _silence(**fields) -> Silence:
    values = {
        "levels": [],
        "dimensions": [],
        "region_ids": [],
        "cluster_ids": [],
        "entity_ids": [],
        "indicator_ids": [],
        "recurrence": None,
        "repeat_until": None,
        "expired_at": None,
        "author": "analyst",
        "reason": "test",
    }
    values.update(fields)
    return Silence(**values)


def test_a_yearly_window_recurs_on_the_same_dates_in_beijing_time():
    festival = _silence(
        levels=["enterprise"],
        starts_at=local(2024, 2, 8),
        ends_at=local(2024, 2, 18),
        recurrence="yearly",
    )

    assert window_at(festival, local(2025, 2, 10, 0, 30)) == (
        datetime(2025, 2, 7, 16, 0, tzinfo=UTC),
        datetime(2025, 2, 17, 16, 0, tzinfo=UTC),
    )
    assert window_at(festival, local(2025, 2, 18, 0, 0)) is None
    assert window_at(festival, local(2024, 2, 7, 23, 59)) is None
    assert window_at(festival, local(2030, 2, 9)) is not None


def test_spring_festival_weeks_move_with_the_festival_from_year_to_year():
    # 2024: New Year's Eve (9 February) to the eighth day; the festival fell on 10 February
    festival = _silence(
        levels=["enterprise"],
        starts_at=local(2024, 2, 9),
        ends_at=local(2024, 2, 18),
        recurrence="festival",
    )

    # 2025's festival fell on 29 January, 2026's on 17 February, 2027's on 6 February
    assert window_at(festival, local(2025, 1, 28, 0, 30)) == (
        local(2025, 1, 28).astimezone(UTC),
        local(2025, 2, 6).astimezone(UTC),
    )
    assert window_at(festival, local(2025, 1, 27, 23, 59)) is None
    assert window_at(festival, local(2025, 2, 10)) is None  # fixed dates would mute here
    assert window_at(festival, local(2026, 2, 16, 9)) is not None
    assert window_at(festival, local(2026, 2, 25)) is None
    assert next_window(festival, local(2026, 3, 1)) == (
        local(2027, 2, 5).astimezone(UTC),
        local(2027, 2, 14).astimezone(UTC),
    )


def test_a_festival_window_before_new_year_keeps_its_distance_to_the_festival():
    # 39 days before the 2024 festival; in the next year that is 21 December 2024
    audit = _silence(
        levels=["government"],
        starts_at=local(2024, 1, 2),
        ends_at=local(2024, 1, 5),
        recurrence="festival",
    )

    assert window_at(audit, local(2024, 12, 22)) == (
        local(2024, 12, 21).astimezone(UTC),
        local(2024, 12, 24).astimezone(UTC),
    )
    assert window_at(audit, local(2025, 1, 3)) is None


def test_the_spring_festival_is_known_from_2000_to_2050():
    assert [spring_festival(year) for year in (2000, 2020, 2024, 2050)] == [
        date(2000, 2, 5),
        date(2020, 1, 25),
        date(2024, 2, 10),
        date(2050, 1, 23),
    ]
    assert all(date(y, 1, 21) <= spring_festival(y) <= date(y, 2, 20) for y in range(2000, 2051))
    assert [nearest_festival_year(date(2024, m, d)) for m, d in ((1, 2), (7, 1), (12, 20))] == [
        2024,
        2024,
        2025,
    ]
    with pytest.raises(AlertError, match="2000 to 2050 only, not 2051"):
        spring_festival(2051)


def test_a_yearly_window_may_span_new_year():
    shutdown = _silence(
        entity_ids=[7],
        starts_at=local(2023, 12, 28),
        ends_at=local(2024, 1, 6),
        recurrence="yearly",
    )

    assert window_at(shutdown, local(2026, 1, 3)) is not None
    assert window_at(shutdown, local(2025, 12, 29)) is not None
    assert window_at(shutdown, local(2026, 1, 7)) is None


def test_weekly_and_monthly_windows_repeat_until_their_end():
    weekend = _silence(
        levels=["enterprise"],
        starts_at=local(2024, 6, 1),  # a Saturday
        ends_at=local(2024, 6, 3),
        recurrence="weekly",
        repeat_until=local(2024, 7, 1),
    )
    month_start = _silence(
        levels=["government"],
        starts_at=local(2024, 1, 1, 0),
        ends_at=local(2024, 1, 1, 8),
        recurrence="monthly",
    )

    assert window_at(weekend, local(2024, 6, 16, 12)) is not None  # a Sunday
    assert window_at(weekend, local(2024, 6, 17, 12)) is None  # a Monday
    assert window_at(weekend, local(2024, 7, 6, 12)) is None  # after repeat_until
    assert window_at(month_start, local(2024, 9, 1, 7, 59)) is not None
    assert window_at(month_start, local(2024, 9, 1, 8, 0)) is None


def test_a_silence_is_pending_active_then_expired():
    once = _silence(levels=["industry"], starts_at=local(2024, 7, 1), ends_at=local(2024, 7, 2))
    yearly = _silence(
        levels=["industry"],
        starts_at=local(2024, 7, 1),
        ends_at=local(2024, 7, 2),
        recurrence="yearly",
    )

    assert silence_state(once, local(2024, 6, 30)) == "pending"
    assert silence_state(once, local(2024, 7, 1, 12)) == "active"
    assert silence_state(once, local(2024, 7, 3)) == "expired"
    assert silence_state(yearly, local(2024, 7, 3)) == "pending"
    assert next_window(yearly, local(2024, 7, 3)) == (
        local(2025, 7, 1).astimezone(UTC),
        local(2025, 7, 2).astimezone(UTC),
    )


def test_matchers_must_all_hold(database, world, raise_alert):
    with database.session() as session:
        firm, _ = raise_alert(session, world.firms[0], world.indicators["revenue"])
        scope = scope_of(session, firm)

    def match(**fields) -> bool:
        return silence_matches(_silence(**fields), scope)

    assert match(levels=["enterprise"])
    assert match(region_ids=[world.province.id])  # the firm is in Shandong
    assert match(cluster_ids=[world.cluster.id], dimensions=["economic"])
    assert match(entity_ids=[world.firms[0].id], indicator_ids=[world.indicators["revenue"].id])
    assert not match(levels=["enterprise"], dimensions=["trade"])
    assert not match(region_ids=[world.qingdao.id])
    assert not match(indicator_ids=[world.indicators["energy"].id])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"reason": "  "}, "needs a reason"),
        ({"author": ""}, "needs an author"),
        ({"levels": []}, "at least one matcher"),
        ({"ends_at": local(2024, 6, 30)}, "end after it starts"),
        ({"starts_at": local(2024, 1, 1), "ends_at": local(2024, 1, 2)}, "already be over"),
        ({"recurrence": "weekly", "ends_at": local(2024, 7, 20)}, "longer than its period"),
        ({"recurrence": "daily"}, "unknown recurrence"),
        (
            {
                "recurrence": "festival",
                "starts_at": local(1999, 2, 10),
                "ends_at": local(1999, 3, 1),
            },
            "known for 2000 to 2050 only",
        ),
        ({"recurrence": "festival", "ends_at": local(2025, 6, 20)}, "longer than its period"),
        ({"starts_at": datetime(2024, 7, 1)}, "time zone"),
    ],
)
def test_create_silence_refuses_a_bad_silence(database, now, fields, message):
    values = {
        "author": "analyst",
        "reason": "plant shutdown",
        "starts_at": local(2024, 7, 1),
        "ends_at": local(2024, 7, 10),
        "levels": ["enterprise"],
    }
    values.update(fields)
    with database.session() as session, pytest.raises(AlertError, match=message):
        create_silence(session, now=now, **values)


def test_a_matching_silence_mutes_notices_and_names_itself(
    database, world, raise_alert, make_settings, now
):
    sent = []

    class Recorder:
        def send(self, digest, idempotency_key) -> None:
            sent.extend(n.entity_code for n in digest.notices)

    with database.session() as session:
        channel = Channel(kind="webhook", target="http://h.example/x", name="hook")
        session.add(channel)
        session.flush()
        silence = create_silence(
            session,
            author="李工",
            reason="春节停产检修",
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=7),
            entity_ids=[world.firms[0].id],
            now=now,
        )
        muted, _ = raise_alert(
            session, world.firms[0], world.indicators["energy"], channels=[channel]
        )
        raise_alert(session, world.firms[1], world.indicators["energy"], channels=[channel])

    report = deliver_due(
        database,
        make_settings(),
        now=now + timedelta(minutes=1),
        transport_factory=lambda c, s: Recorder(),
    )

    with database.session() as session:
        status, reason = session.execute(
            select(Notification.status, Notification.muted_reason).where(
                Notification.alert_id == muted.id
            )
        ).one()
        assert session.get_one(Alert, muted.id).status == "firing"
        assert [s.id for s in active_silences(session, now)] == [silence.id]
    assert (report.sent, report.muted) == (1, 1)
    assert sent == ["F001"]
    assert (status, reason) == ("silenced", f"silence {silence.id} by 李工: 春节停产检修")


def test_an_expired_silence_mutes_no_more(database, world, raise_alert, make_settings, now):
    with database.session() as session:
        channel = Channel(kind="webhook", target="http://h.example/x", name="hook")
        session.add(channel)
        silence = create_silence(
            session,
            author="analyst",
            reason="maintenance",
            starts_at=now,
            ends_at=now + timedelta(days=1),
            levels=["enterprise"],
            now=now,
        )
        expire_silence(session, silence, actor="analyst", now=now + timedelta(minutes=1))
        later = now + timedelta(minutes=2)
        alert, event = raise_alert(session, world.firms[0], world.indicators["energy"], at=later)
        enqueue(session, alert, event, [channel])

    class Recorder:
        def send(self, digest, idempotency_key) -> None:
            pass

    report = deliver_due(
        database,
        make_settings(),
        now=later + timedelta(minutes=1),
        transport_factory=lambda c, s: Recorder(),
    )

    with database.session() as session:
        listed = list_silences(session, later, include_expired=True)
        assert list_silences(session, later) == []
    assert report.sent == 1
    assert [(s.id, state) for s, state in listed] == [(silence.id, "expired")]


def test_a_yearly_shutdown_mutes_in_next_years_window_and_not_after_it(
    database, world, raise_alert, make_settings, now
):
    sent = []

    class Recorder:
        def send(self, digest, idempotency_key) -> None:
            sent.extend(n.entity_code for n in digest.notices)

    with database.session() as session:
        channel = Channel(kind="webhook", target="http://h.example/x", name="hook")
        session.add(channel)
        session.flush()
        shutdown = create_silence(  # set up a year ago for the plant's annual shutdown
            session,
            author="李工",
            reason="年度停产检修",
            starts_at=local(2023, 6, 30),
            ends_at=local(2023, 7, 10),
            entity_ids=[world.firms[0].id],
            recurrence="yearly",
            now=local(2023, 6, 1),
        )
        during, _ = raise_alert(
            session, world.firms[0], world.indicators["energy"], channels=[channel]
        )
    in_window = deliver_due(  # 1 July 2024: inside the 2024 window
        database,
        make_settings(),
        now=now + timedelta(minutes=1),
        transport_factory=lambda c, s: Recorder(),
    )
    after = now + timedelta(days=14)
    with database.session() as session:
        raise_alert(
            session, world.firms[0], world.indicators["revenue"], at=after, channels=[channel]
        )
    past_window = deliver_due(
        database,
        make_settings(),
        now=after + timedelta(minutes=1),
        transport_factory=lambda c, s: Recorder(),
    )

    with database.session() as session:
        muted = session.execute(
            select(Notification.status, Notification.muted_reason).where(
                Notification.alert_id == during.id
            )
        ).one()
    assert (in_window.sent, in_window.muted) == (0, 1)
    assert tuple(muted) == ("silenced", f"silence {shutdown.id} by 李工: 年度停产检修")
    assert (past_window.sent, past_window.muted) == (1, 0)
    assert sent == ["F000"]
