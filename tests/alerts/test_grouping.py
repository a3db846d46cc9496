"""Grouping: one scoring cycle's notices per (level, dimension, region or cluster), timed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select

from alerts.dispatch import deliver_due
from alerts.outbox import enqueue
from monitor.config import SmtpSettings
from monitor.records import AlertEvent, Channel, Delivery, InhibitRule, Notification
from tests.alerts.conftest import build_world


class Recorder:
    """A transport that keeps each digest it is given."""

    def __init__(self) -> None:
        self.digests = []

    def send(self, digest, idempotency_key) -> None:
        self.digests.append(digest)


def _channel(session, **fields) -> Channel:
    channel = Channel(kind="webhook", target="http://h.example/x", name="hook", **fields)
    session.add(channel)
    session.flush()
    return channel


def test_a_shock_across_300_firms_is_one_message_listing_them(
    database, make_settings, raise_alert, start_smtp, now
):
    server = start_smtp()
    settings = make_settings(
        smtp=SmtpSettings(host="127.0.0.1", port=server.port, timeout=5, sender="cw@example.cn")
    )
    with database.session() as session:
        world = build_world(session, firms=300)
        channel = Channel(kind="email", target="cluster@example.cn", name="cluster staff")
        session.add(channel)
        session.flush()
        for firm in world.firms:
            raise_alert(session, firm, world.indicators["revenue"], channels=[channel])

    report = deliver_due(database, settings, now=now + timedelta(minutes=1))

    (mail,) = server.mailbox.messages
    text = mail.get_body(("plain",)).get_content()
    assert report.sent == 1
    assert mail["Subject"] == "[橙色预警] 300条 · 企业 · 经济 — 潍坊动力装备集群"
    assert "潍坊动力装备集群：300条企业层级经济维度预警。" in text
    assert "企业0 · 营业收入同比" in text and "企业299 · 营业收入同比" in text
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 1
        statuses = set(session.scalars(select(Notification.status)))
    assert statuses == {"sent"}


def test_a_new_group_waits_for_the_rest_of_its_cycle(
    database, world, raise_alert, make_settings, now
):
    with database.session() as session:
        channel = _channel(session)
        raise_alert(session, world.firms[0], world.indicators["revenue"], channels=[channel])
    recorder = Recorder()

    early = deliver_due(
        database,
        make_settings(),
        now=now + timedelta(seconds=10),
        transport_factory=lambda c, s: recorder,
    )
    with database.session() as session:  # a second firm of the same cycle, a little later
        raise_alert(
            session,
            world.firms[1],
            world.indicators["revenue"],
            channels=[channel],
            at=now + timedelta(seconds=20),
        )
    ready = deliver_due(
        database,
        make_settings(),
        now=now + timedelta(seconds=31),
        transport_factory=lambda c, s: recorder,
    )

    assert (early.sent, ready.sent) == (0, 1)
    (digest,) = recorder.digests
    assert sorted(n.entity_code for n in digest.notices) == ["F000", "F001"]
    assert digest.group_key == f"enterprise|economic|cluster:{world.cluster.id}"


def test_a_sent_group_waits_its_interval_before_the_next_message(
    database, world, raise_alert, make_settings, now
):
    with database.session() as session:
        channel = _channel(session)
        raise_alert(session, world.firms[0], world.indicators["revenue"], channels=[channel])
    recorder = Recorder()
    factory = lambda c, s: recorder  # noqa: E731
    deliver_due(
        database, make_settings(), now=now + timedelta(seconds=30), transport_factory=factory
    )
    with database.session() as session:
        raise_alert(
            session,
            world.firms[1],
            world.indicators["revenue"],
            channels=[channel],
            at=now + timedelta(minutes=1),
        )

    within = deliver_due(
        database, make_settings(), now=now + timedelta(minutes=3), transport_factory=factory
    )
    after = deliver_due(
        database,
        make_settings(),
        now=now + timedelta(minutes=5, seconds=31),
        transport_factory=factory,
    )

    assert (within.sent, after.sent) == (0, 1)
    assert [[n.entity_code for n in d.notices] for d in recorder.digests] == [["F000"], ["F001"]]


def test_an_escalation_is_sent_at_once(database, world, raise_alert, make_settings, now):
    with database.session() as session:
        channel = _channel(session)
        alert, _opened = raise_alert(
            session, world.firms[0], world.indicators["revenue"], channels=[channel]
        )
    recorder = Recorder()
    factory = lambda c, s: recorder  # noqa: E731
    deliver_due(
        database, make_settings(), now=now + timedelta(seconds=30), transport_factory=factory
    )
    escalated_at = now + timedelta(minutes=1)
    with database.session() as session:
        alert = session.merge(alert)
        event = AlertEvent(
            alert=alert,
            kind="escalated",
            at=escalated_at,
            period=alert.period,
            from_severity="orange",
            to_severity="red",
            to_status="firing",
        )
        alert.severity = "red"
        session.add(event)
        enqueue(session, alert, event, [session.merge(channel)])

    report = deliver_due(database, make_settings(), now=escalated_at, transport_factory=factory)

    assert report.sent == 1
    assert recorder.digests[-1].notices[0].event == "escalated"


def test_levels_dimensions_and_clusters_are_separate_groups(
    database, world, raise_alert, make_settings, now
):
    with database.session() as session:
        session.execute(delete(InhibitRule))  # Weifang's warning would mute its firm's
        channel = _channel(session)
        for indicator in ("revenue", "energy"):  # economic and environmental
            raise_alert(session, world.firms[0], world.indicators[indicator], channels=[channel])
        raise_alert(session, world.cluster, world.indicators["output"], channels=[channel])
        raise_alert(session, world.qingdao, world.indicators["iva"], channels=[channel])
        raise_alert(session, world.weifang, world.indicators["iva"], channels=[channel])
    recorder = Recorder()

    report = deliver_due(
        database,
        make_settings(),
        now=now + timedelta(minutes=1),
        transport_factory=lambda c, s: recorder,
    )

    groups = sorted((d.group_key.rsplit("|", 1)[0], len(d.notices)) for d in recorder.digests)
    assert report.sent == 4
    assert groups == [
        ("enterprise|economic", 1),
        ("enterprise|environmental", 1),
        ("government|economic", 2),  # both cities of the province in one message
        ("industry|economic", 1),
    ]
