"""Inhibition: a higher-level warning mutes the lower-level notices it explains."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from alerts.dispatch import deliver_due
from alerts.inhibition import add_inhibit_rule
from alerts.outbox import enqueue
from alerts.workflow import resolve
from monitor.records import Alert, Channel, InhibitRule, Notification


class Recorder:
    def __init__(self) -> None:
        self.digests = []

    def send(self, digest, idempotency_key) -> None:
        self.digests.append(digest)


def _deliver(database, make_settings, now) -> tuple[Recorder, object]:
    recorder = Recorder()
    report = deliver_due(
        database,
        make_settings(),
        now=now + timedelta(minutes=1),
        transport_factory=lambda c, s: recorder,
    )
    return recorder, report


def _notices(database) -> dict[str, tuple[str, str | None]]:
    with database.session() as session:
        rows = session.execute(
            select(Alert.fingerprint, Notification.status, Notification.muted_reason).join(
                Alert, Notification.alert_id == Alert.id
            )
        )
        return {fingerprint: (status, reason) for fingerprint, status, reason in rows}


def _channel(session) -> Channel:
    channel = Channel(kind="webhook", target="http://h.example/x", name="hook")
    session.add(channel)
    session.flush()
    return channel


def test_a_government_warning_mutes_its_regions_enterprise_notices_of_that_dimension(
    database, world, raise_alert, make_settings, now
):
    with database.session() as session:
        channel = _channel(session)
        city, _ = raise_alert(session, world.weifang, world.indicators["iva"], channels=[channel])
        firm, _ = raise_alert(
            session, world.firms[0], world.indicators["revenue"], channels=[channel]
        )
        other, _ = raise_alert(
            session, world.firms[1], world.indicators["energy"], channels=[channel]
        )

    recorder, report = _deliver(database, make_settings, now)

    notices = _notices(database)
    status, reason = notices[firm.fingerprint]
    assert status == "inhibited"
    assert reason.startswith(f"inhibited by alert {city.id} (government · economic · orange, WF)")
    assert notices[city.fingerprint] == ("sent", None)
    assert notices[other.fingerprint] == ("sent", None)  # environmental: not explained
    assert report.muted == 1
    with database.session() as session:
        assert session.get_one(Alert, firm.id).status == "firing"  # still visible
    sent = {n.entity_code for d in recorder.digests for n in d.notices}
    assert sent == {"WF", "F001"}


def test_another_citys_warning_does_not_mute(database, world, raise_alert, make_settings, now):
    with database.session() as session:
        channel = _channel(session)
        raise_alert(session, world.qingdao, world.indicators["iva"], channels=[channel])
        firm, _ = raise_alert(
            session, world.firms[0], world.indicators["revenue"], channels=[channel]
        )

    _deliver(database, make_settings, now)

    assert _notices(database)[firm.fingerprint] == ("sent", None)


def test_a_resolved_government_warning_mutes_nothing(
    database, world, raise_alert, make_settings, now
):
    with database.session() as session:
        channel = _channel(session)
        city, _ = raise_alert(session, world.weifang, world.indicators["iva"])
        resolve(session, city, actor="analyst", now=now)
        firm, _ = raise_alert(
            session, world.firms[0], world.indicators["revenue"], channels=[channel]
        )

    _deliver(database, make_settings, now)

    assert _notices(database)[firm.fingerprint] == ("sent", None)


def test_a_rule_can_ask_for_a_minimum_colour(database, world, raise_alert, make_settings, now):
    with database.session() as session:
        session.execute(delete(InhibitRule))
        add_inhibit_rule(
            session,
            name="red only",
            source_level="government",
            target_level="enterprise",
            source_min_severity="red",
        )
        channel = _channel(session)
        raise_alert(session, world.weifang, world.indicators["iva"], severity="orange")
        firm, _ = raise_alert(
            session, world.firms[0], world.indicators["revenue"], channels=[channel]
        )

    _deliver(database, make_settings, now)

    assert _notices(database)[firm.fingerprint] == ("sent", None)


def test_a_cluster_warning_can_mute_its_firms(database, world, raise_alert, make_settings, now):
    with database.session() as session:
        add_inhibit_rule(
            session,
            name="cluster explains firms",
            source_level="industry",
            target_level="enterprise",
            actor="admin",
        )
        channel = _channel(session)
        cluster, _ = raise_alert(session, world.cluster, world.indicators["output"])
        firm, _ = raise_alert(
            session, world.firms[2], world.indicators["revenue"], channels=[channel]
        )

    _deliver(database, make_settings, now)

    status, reason = _notices(database)[firm.fingerprint]
    assert status == "inhibited"
    assert f"by alert {cluster.id}" in reason and "«cluster explains firms»" in reason


def test_the_resolution_of_an_inhibited_alert_is_not_sent_either(
    database, world, raise_alert, make_settings, now
):
    with database.session() as session:
        channel = _channel(session)
        raise_alert(session, world.weifang, world.indicators["iva"])
        firm, _ = raise_alert(
            session, world.firms[0], world.indicators["revenue"], channels=[channel]
        )
    _deliver(database, make_settings, now)
    with database.session() as session:
        firm = session.get_one(Alert, firm.id)
        event = resolve(session, firm, actor="analyst", now=now + timedelta(hours=1))
        enqueue(session, firm, event, [session.merge(channel)])

    recorder, _report = _deliver(database, make_settings, now + timedelta(hours=1))

    with database.session() as session:
        statuses = session.execute(
            select(Notification.status, Notification.muted_reason).order_by(Notification.id)
        ).all()
    assert statuses[-1] == ("skipped", "resolution of an alert this channel was never told about")
    assert recorder.digests == []
