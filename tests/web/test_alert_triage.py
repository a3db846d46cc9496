"""Alert list extras: region, cluster and period filters, sorting, the model "stage",
synthetic rows marked, and bulk acknowledgement by operators."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from monitor.db import Database
from monitor.records import Alert, Entity
from tests.web.conftest import csrf_token, log_in
from tests.web.dataset import World
from tests.web.test_alerts import listed


def test_period_range_filters_by_the_alert_period(as_viewer: FlaskClient, world: World) -> None:
    found = set(listed(as_viewer, "?period_from=2024-02&period_to=2024-05"))
    assert found == {world.alerts["policy"], world.alerts["output"]}
    assert as_viewer.get("/alerts/?period_from=March").status_code == 400


def test_region_and_cluster_filters_take_member_entities(
    as_viewer: FlaskClient, database: Database, world: World
) -> None:
    with database.session() as session:
        firm = session.get(Entity, world.entities["FIRM-1"])
        firm.cluster_id = world.entities["QD-HOME"]
        firm.region_id = world.entities["QD"]
    assert set(listed(as_viewer, "?cluster=QD-HOME")) == {
        world.alerts[key] for key in ("exports", "energy", "rd")
    }
    # QD itself, QD's member firm, and nothing of Shandong or Weifang.
    assert set(listed(as_viewer, "?region=QD")) == {world.alerts["policy"], world.alerts["rd"]}


def test_sorting_by_severity_puts_red_first(as_viewer: FlaskClient, world: World) -> None:
    assert listed(as_viewer, "?sort=-severity")[0] == world.alerts["policy"]
    assert listed(as_viewer, "?sort=severity")[0] == world.alerts["exports"]
    assert listed(as_viewer, "?sort=period")[0] in {world.alerts["firms"], world.alerts["exports"]}
    assert as_viewer.get("/alerts/?sort=colour").status_code == 400


def test_stage_is_a_model_filter(as_viewer: FlaskClient, world: World) -> None:
    assert listed(as_viewer, "?model=stage") == []


def test_synthetic_rows_are_marked(as_viewer: FlaskClient, world: World) -> None:
    page = as_viewer.get("/alerts/?entity=FIRM-1").get_data(as_text=True)
    assert 'class="synthetic-row"' in page and "合成数据" in page


def test_viewers_get_no_bulk_form_and_may_not_post_it(as_viewer: FlaskClient, world: World) -> None:
    assert 'name="alert_ids"' not in as_viewer.get("/alerts/").get_data(as_text=True)
    response = as_viewer.post("/alerts/acknowledge", data={"alert_ids": world.alerts["firms"]})
    assert response.status_code == 403


def test_operators_acknowledge_several_firing_alerts_at_once(
    csrf_app: Flask, database: Database, world: World
) -> None:
    client = csrf_app.test_client()
    log_in(client, "otto")
    page = client.get("/alerts/?status=firing").get_data(as_text=True)
    chosen = [world.alerts["firms"], world.alerts["energy"], world.alerts["policy"]]
    response = client.post(
        "/alerts/acknowledge",
        data={
            "csrf_token": csrf_token(page),
            "alert_ids": [str(value) for value in chosen],
            "note": "园区联络员已跟进",
            "next": "/alerts/?status=firing",
        },
    )
    assert response.status_code == 302 and response.location == "/alerts/?status=firing"
    with database.session() as session:
        rows = {row.id: row for row in session.scalars(select(Alert).where(Alert.id.in_(chosen)))}
    for key in ("firms", "energy"):
        row = rows[world.alerts[key]]
        assert (row.status, row.acknowledged_by, row.response_note) == (
            "acknowledged", "otto", "园区联络员已跟进",
        )  # fmt: skip
    assert rows[world.alerts["policy"]].response_note != "园区联络员已跟进"  # was not firing
    assert client.post("/alerts/acknowledge", data={"alert_ids": "1"}).status_code == 400


def test_acknowledging_names_the_assignee(
    as_operator: FlaskClient, database: Database, world: World
) -> None:
    url = f"/alerts/{world.alerts['firms']}/acknowledge"
    as_operator.post(url, data={"note": "查看", "assignee": "li.wei"})
    with database.session() as session:
        assert session.get(Alert, world.alerts["firms"]).assignee == "li.wei"
    assert "li.wei" in as_operator.get(f"/alerts/{world.alerts['firms']}").get_data(as_text=True)
