"""A scheduled source that misses its run raises a source alert, sent with retries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from alerts.housekeeping import run_housekeeping
from alerts.source_alerts import overdue_colour, raise_source_alerts
from alerts.source_dispatch import deliver_source_notices
from monitor.config import SmtpSettings
from monitor.records import Channel, JobRun, Source, SourceAlert, SourceNotice
from monitor.vocabulary import RunStatus

# The source runs at 06:00 Beijing time (22:00 UTC the day before); with the two-hour
# grace, the fire of 2 June is late from 2 June 00:00 UTC on.
DUE = datetime(2024, 6, 1, 22, 0, tzinfo=UTC)
LATE = datetime(2024, 6, 2, 1, 0, tzinfo=UTC)


def _source(session, *, succeeded_at: datetime | None = None) -> Source:
    source = Source(name="统计局月报", kind="csv", location="feed.csv", cron="0 6 * * *")
    session.add(source)
    session.flush()
    if succeeded_at is not None:
        _succeed(session, source, succeeded_at)
    return source


def _succeed(session, source: Source, at: datetime) -> None:
    session.add(
        JobRun(job="ingest", source_id=source.id, status=RunStatus.SUCCEEDED, started_at=at)
    )


def _channel(session, **fields) -> Channel:
    values = {"name": "office", "kind": "webhook", "target": "http://hooks.example/a"}
    channel = Channel(**(values | fields))
    session.add(channel)
    session.flush()
    return channel


def _alerts(database) -> list[SourceAlert]:
    with database.session() as session:
        return list(session.scalars(select(SourceAlert).order_by(SourceAlert.id)))


def _notices(database) -> list[tuple[str, str, str]]:
    with database.session() as session:
        rows = session.execute(
            select(SourceNotice.event, SourceNotice.severity, Channel.name)
            .join(Channel)
            .order_by(SourceNotice.id)
        )
        return [tuple(row) for row in rows]


@pytest.mark.parametrize(
    ("overdue", "colour"),
    [
        (timedelta(hours=3), "blue"),
        (timedelta(days=1), "yellow"),
        (timedelta(days=6), "yellow"),
        (timedelta(days=7), "orange"),
        (timedelta(days=90), "orange"),
    ],
)
def test_a_source_turns_redder_the_longer_it_is_overdue(overdue, colour):
    assert overdue_colour(DUE, DUE + overdue).value == colour


def test_a_missed_run_opens_a_source_alert_for_office_wide_channels(database):
    with database.session() as session:
        _source(session, succeeded_at=DUE - timedelta(days=1))
        _channel(session, name="office")
        _channel(session, name="firms desk", target="http://hooks.example/b", levels=["enterprise"])
        _channel(session, name="red only", target="http://hooks.example/c", min_severity="red")

    with database.session() as session:
        before_grace = raise_source_alerts(session, now=DUE + timedelta(hours=1))
    with database.session() as session:
        counts = raise_source_alerts(session, now=LATE)

    (alert,) = _alerts(database)
    assert before_grace.changed == 0
    assert counts.opened == 1
    assert (alert.status, alert.severity, alert.due_at) == ("firing", "blue", DUE)
    assert alert.last_success == DUE - timedelta(days=1)
    assert _notices(database) == [("opened", "blue", "office")]


def test_an_overdue_source_escalates_once_and_resolves_when_a_run_succeeds(database):
    with database.session() as session:
        _source(session)
        _channel(session)
    for moment in (LATE, LATE + timedelta(hours=2), DUE + timedelta(days=1, hours=1)):
        with database.session() as session:
            raise_source_alerts(session, now=moment)
    with database.session() as session:
        _succeed(session, session.scalars(select(Source)).one(), DUE + timedelta(days=1, hours=2))
    with database.session() as session:
        resolved = raise_source_alerts(session, now=DUE + timedelta(days=1, hours=3))

    (alert,) = _alerts(database)
    assert resolved.resolved == 1
    assert (alert.status, alert.worst_severity) == ("resolved", "yellow")
    assert [(event, colour) for event, colour, _ in _notices(database)] == [
        ("opened", "blue"),
        ("escalated", "yellow"),
        ("resolved", "yellow"),
    ]


def test_housekeeping_raises_source_alerts(database):
    with database.session() as session:
        _source(session)

    report = run_housekeeping(database, now=LATE)

    assert report.source_alerts == 1


def test_the_webhook_gets_the_source_alert_and_a_failure_is_retried_not_dropped(
    database, make_settings, webhook_server
):
    with database.session() as session:
        _source(session)
        _channel(session, target=webhook_server.url("/ops"))
        raise_source_alerts(session, now=LATE)
    settings = make_settings()
    webhook_server.status = 503

    failed = deliver_source_notices(database, settings, now=LATE)
    early = deliver_source_notices(database, settings, now=LATE + timedelta(seconds=5))
    webhook_server.status = 200
    sent = deliver_source_notices(database, settings, now=LATE + timedelta(minutes=2))

    assert failed == {"pending": 1} and early == {} and sent == {"sent": 1}
    first, second = webhook_server.requests
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    payload = json.loads(second.body)
    (item,) = payload["alerts"]
    assert item["labels"]["source"] == "统计局月报"
    assert item["labels"]["due_at"] == DUE.isoformat()
    assert item["generatorURL"] == "http://console.example/sources/"
    with database.session() as session:
        notice = session.scalars(select(SourceNotice)).one()
        assert (notice.status, notice.attempts) == ("sent", 2)


def test_a_notice_that_never_gets_through_ends_dead_with_its_error(
    database, make_settings, webhook_server
):
    with database.session() as session:
        _source(session)
        _channel(session, target=webhook_server.url("/ops"))
        raise_source_alerts(session, now=LATE)
    settings = make_settings(delivery_max_attempts=2)
    webhook_server.status = 500

    deliver_source_notices(database, settings, now=LATE)
    last = deliver_source_notices(database, settings, now=LATE + timedelta(hours=2))

    assert last == {"dead": 1}
    with database.session() as session:
        notice = session.scalars(select(SourceNotice)).one()
        assert notice.status == "dead" and "500" in notice.last_error


def test_the_email_names_the_source_its_due_time_and_last_success(
    database, make_settings, start_smtp
):
    server = start_smtp()
    with database.session() as session:
        _source(session, succeeded_at=datetime(2024, 5, 31, 22, 5, tzinfo=UTC))
        _channel(session, kind="email", target="ops@example.cn")
        _channel(session, name="en", kind="email", target="en@example.cn", locale="en")
        raise_source_alerts(session, now=LATE)
    smtp = SmtpSettings(host="127.0.0.1", port=server.port, timeout=5, sender="cw@example.cn")

    assert deliver_source_notices(database, make_settings(smtp=smtp), now=LATE) == {"sent": 2}

    by_to = {mail["To"]: mail for mail in server.mailbox.messages}
    zh, en = by_to["ops@example.cn"], by_to["en@example.cn"]
    assert zh["Subject"] == "[蓝色预警 · 数据源逾期] 统计局月报"
    assert en["Subject"] == "[BLUE · source overdue] 统计局月报"
    zh_text = zh.get_body(("plain",)).get_content()
    assert "应运行时间：2024-06-02 06:00（北京时间）" in zh_text
    assert "上次成功：2024-06-01 06:05（北京时间）" in zh_text
    assert "http://console.example/sources/" in zh_text
    assert "Overdue: 3 hours" in en.get_body(("plain",)).get_content()
