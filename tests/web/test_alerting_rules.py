"""Alerting rules for admins: routes, inhibition rules and the timings, set in the console."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from alerts.inhibition import Inhibitor
from alerts.policy import AlertPolicy, load_policy
from alerts.routing import Router
from monitor.db import Database
from monitor.records import Alert, Channel, InhibitRule, Route
from tests.web.conftest import csrf_token, log_in
from tests.web.dataset import World


def _channels(database: Database) -> tuple[int, int]:
    with database.session() as session:
        cluster = Channel(name="集群值班", kind="webhook", target="https://hooks.example.org/c")
        office = Channel(name="政府值班", kind="email", target="gov@example.cn")
        session.add_all([cluster, office])
        session.flush()
        return cluster.id, office.id


def test_only_admins_see_and_change_alerting_rules(as_operator: FlaskClient, world: World) -> None:
    assert as_operator.get("/alerting/").status_code == 403
    assert as_operator.post("/alerting/routes", data={"name": "x"}).status_code == 403
    assert as_operator.post("/alerting/policy", data={}).status_code == 403


def test_a_route_added_in_the_console_picks_the_channels_of_an_alert(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    cluster_id, office_id = _channels(database)
    with database.session() as session:
        level = session.get(Alert, world.alerts["firms"]).level

    response = as_admin.post(
        "/alerting/routes",
        data={
            "name": "集群预警给集群值班",
            "channel": str(cluster_id),
            "position": "1",
            "min_severity": "blue",
            "levels": [level],
            "clusters": "QD-HOME WF-POWER",
        },
    )

    assert response.status_code == 302
    page = as_admin.get("/alerting/").get_data(as_text=True)
    assert "集群预警给集群值班" in page and "QD-HOME, WF-POWER" in page
    with database.session() as session:
        route = session.scalars(select(Route)).one()
        assert (route.channel_id, route.levels, route.updated_by) == (cluster_id, [level], "ada")
        assert route.cluster_ids == [world.entities["QD-HOME"], world.entities["WF-POWER"]]
        route.cluster_ids = []  # the alert's entity is in no cluster: match on level only
        alert = session.get_one(Alert, world.alerts["firms"])
        channels = [session.get_one(Channel, cluster_id), session.get_one(Channel, office_id)]
        chosen = Router.load(session).recipients(session, alert, channels)
    assert [channel.id for channel in chosen] == [cluster_id]


def test_a_route_with_an_unknown_code_is_refused(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    cluster_id, _office_id = _channels(database)

    response = as_admin.post(
        "/alerting/routes",
        data={"name": "r", "channel": str(cluster_id), "min_severity": "red", "regions": "NOPE"},
    )

    assert response.status_code == 400
    assert "NOPE" in response.get_data(as_text=True)
    with database.session() as session:
        assert session.scalars(select(Route)).all() == []


def test_an_admin_adds_disables_and_deletes_an_inhibition_rule(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    with database.session() as session:
        shipped = session.scalars(select(InhibitRule.id)).all()  # the migration's example rule
    as_admin.post(
        "/alerting/inhibitions",
        data={
            "name": "集群预警抑制其企业",
            "source_level": "industry",
            "target_level": "enterprise",
            "equal_dimension": "y",
            "source_min_severity": "orange",
        },
    )
    with database.session() as session:
        rule = session.scalars(select(InhibitRule).where(InhibitRule.id.not_in(shipped))).one()
        rule_id = rule.id
        assert (rule.source_level, rule.target_level, rule.source_min_severity) == (
            "industry",
            "enterprise",
            "orange",
        )
        assert (rule.equal_dimension, rule.same_region, rule.created_by) == (True, False, "ada")
        active = {r.id for r in Inhibitor.load(session).rules}
    assert rule_id in active

    as_admin.post(f"/alerting/inhibitions/{rule_id}/enabled", data={"value": "0"})
    with database.session() as session:
        assert rule_id not in {r.id for r in Inhibitor.load(session).rules}
    as_admin.post(f"/alerting/inhibitions/{rule_id}/delete")
    with database.session() as session:
        assert session.get(InhibitRule, rule_id) is None
    assert as_admin.post("/alerting/bogus/1/delete").status_code == 404


def test_a_rule_from_a_level_to_itself_is_refused(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    response = as_admin.post(
        "/alerting/inhibitions",
        data={
            "source_level": "industry",
            "target_level": "industry",
            "source_min_severity": "blue",
        },
    )

    assert response.status_code == 400
    with database.session() as session:
        assert (
            session.scalars(select(InhibitRule).where(InhibitRule.source_level == "industry")).all()
            == []
        )


def test_the_timings_are_saved_for_the_delivery_and_housekeeping_passes(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    defaults = AlertPolicy()
    form = {
        "group_wait_seconds": "60",
        "group_interval_seconds": "600",
        "repeat_interval_hours": "24",
        "flap_max_changes": "4",
        "flap_window_periods": "8",
        "flap_quiet_periods": "2",
        "stale_after_monthly": "3",
        "stale_after_quarterly": "2",
        "stale_after_annual": "1",
    }

    refused = as_admin.post("/alerting/policy", data={**form, "flap_window_periods": "0"})
    with database.session() as session:
        unchanged = load_policy(session)
    saved = as_admin.post("/alerting/policy", data=form)
    with database.session() as session:
        policy = load_policy(session)

    assert (refused.status_code, unchanged) == (400, defaults)
    assert saved.status_code == 302
    assert policy == AlertPolicy(
        group_wait_seconds=60,
        group_interval_seconds=600,
        repeat_interval_seconds=24 * 3600,
        flap_max_changes=4,
        flap_window_periods=8,
        flap_quiet_periods=2,
        stale_after_monthly=3,
        stale_after_quarterly=2,
        stale_after_annual=1,
    )
    page = as_admin.get("/alerting/").get_data(as_text=True)
    assert 'name="repeat_interval_hours"' in page and 'value="24"' in page


def test_rule_changes_need_the_csrf_token(
    csrf_app: Flask, database: Database, world: World
) -> None:
    client = csrf_app.test_client()
    log_in(client, "ada")
    with database.session() as session:
        rule_id = session.scalars(select(InhibitRule.id)).first()

    refused = client.post(f"/alerting/inhibitions/{rule_id}/enabled", data={"value": "0"})
    page = client.get("/alerting/").get_data(as_text=True)
    done = client.post(
        f"/alerting/inhibitions/{rule_id}/enabled",
        data={"value": "0", "csrf_token": csrf_token(page)},
    )

    assert (refused.status_code, done.status_code) == (400, 302)
    with database.session() as session:
        assert session.get_one(InhibitRule, rule_id).enabled is False
