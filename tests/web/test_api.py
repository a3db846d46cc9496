"""The JSON API: bearer tokens, roles, the same alert filters, audited threshold updates,
and an OpenAPI document that lists exactly the registered routes."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from monitor.audit import list_entries
from monitor.db import Database
from monitor.records import Alert, Threshold
from monitor.tokens import create_token
from tests.web.dataset import World


@pytest.fixture
def tokens(database: Database, world: World) -> dict[str, str]:
    with database.session() as session:
        return {name: create_token(session, name)[1] for name in ("vera", "otto", "ada")}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_requests_without_a_valid_token_are_401(client: FlaskClient, tokens: dict) -> None:
    assert client.get("/api/v1/alerts").status_code == 401
    response = client.get("/api/v1/alerts", headers=bearer("cw_forged"))
    assert response.status_code == 401 and "Bearer" in response.headers["WWW-Authenticate"]


def test_alert_list_uses_the_console_filters(
    client: FlaskClient, tokens: dict, world: World
) -> None:
    body = client.get("/api/v1/alerts?status=open&level=industry", headers=bearer(tokens["vera"]))
    assert body.status_code == 200
    ids = {item["id"] for item in body.json["items"]}
    assert ids == {world.alerts["firms"], world.alerts["energy"]}
    assert body.json["total"] == 2
    bad = client.get("/api/v1/alerts?severity=purple", headers=bearer(tokens["vera"]))
    assert bad.status_code == 400


def test_alert_list_pages_by_cursor_with_the_filters_kept(
    client: FlaskClient, tokens: dict, world: World
) -> None:
    headers = bearer(tokens["vera"])
    url = "/api/v1/alerts?status=open&sort=-severity&per_page=2"
    seen: list[int] = []
    body = client.get(url, headers=headers).json
    while True:
        assert body["total"] == 5 and body["total_capped"] is False
        seen.extend(item["id"] for item in body["items"])
        if body["next_cursor"] is None:
            break
        body = client.get(f"{url}&after={body['next_cursor']}", headers=headers).json
        assert body["prev_cursor"] is not None
    everything = client.get(url.replace("per_page=2", "per_page=50"), headers=headers).json
    assert seen == [item["id"] for item in everything["items"]] and len(seen) == 5
    ranks = [
        ("blue", "yellow", "orange", "red").index(item["severity"]) for item in everything["items"]
    ]
    assert ranks == sorted(ranks, reverse=True)
    assert client.get("/api/v1/alerts?page=2", headers=headers).status_code == 400


def test_alert_detail_has_its_events(client: FlaskClient, tokens: dict, world: World) -> None:
    body = client.get(f"/api/v1/alerts/{world.alerts['policy']}", headers=bearer(tokens["vera"]))
    assert body.json["status"] == "acknowledged" and body.json["events"]
    missing = client.get("/api/v1/alerts/9999", headers=bearer(tokens["vera"]))
    assert missing.status_code == 404


def test_operators_acknowledge_and_resolve_viewers_may_not(
    client: FlaskClient, tokens: dict, world: World, database: Database
) -> None:
    url = f"/api/v1/alerts/{world.alerts['firms']}"
    assert client.post(url + "/acknowledge", headers=bearer(tokens["vera"])).status_code == 403
    done = client.post(
        url + "/acknowledge", headers=bearer(tokens["otto"]), json={"note": "called the park"}
    )
    assert done.status_code == 200 and done.json["status"] == "acknowledged"
    again = client.post(url + "/acknowledge", headers=bearer(tokens["otto"]))
    assert again.status_code == 409
    assert client.post(url + "/resolve", headers=bearer(tokens["otto"])).json["status"] == (
        "resolved"
    )
    with database.session() as session:
        alert = session.get(Alert, world.alerts["firms"])
        assert alert.acknowledged_by == "otto" and alert.response_note == "called the park"


def test_no_csrf_token_is_needed_with_a_bearer_token(
    csrf_app: Flask, tokens: dict, world: World
) -> None:
    client = csrf_app.test_client()
    url = f"/api/v1/alerts/{world.alerts['energy']}/acknowledge"
    assert client.post(url, headers=bearer(tokens["otto"])).status_code == 200


def test_reading_entities_indicators_series_and_stages(client: FlaskClient, tokens: dict) -> None:
    headers = bearer(tokens["vera"])
    entities = client.get("/api/v1/entities?level=industry", headers=headers).json
    assert {item["code"] for item in entities["items"]} == {"QD-HOME", "WF-POWER"}
    indicators = client.get("/api/v1/indicators?per_page=2", headers=headers).json
    assert len(indicators["items"]) == 2 and indicators["total"] > 2
    series = client.get("/api/v1/series/ind.new_firms/WF-POWER", headers=headers).json
    assert [point["value"] for point in series["points"]][:3] == [900, 853, 840]
    assert client.get("/api/v1/series/nope/WF-POWER", headers=headers).status_code == 404
    assert client.get("/api/v1/stages", headers=headers).status_code == 200


def test_only_admins_update_thresholds_and_each_update_is_audited(
    client: FlaskClient, tokens: dict, world: World, database: Database
) -> None:
    url = f"/api/v1/thresholds/{world.thresholds['industry_economic']}"
    change = {"blue": -4, "yellow": -8, "orange": -12, "red": -16, "reason": "API review"}
    assert client.put(url, json=change, headers=bearer(tokens["otto"])).status_code == 403
    no_reason = {**change, "reason": ""}
    assert client.put(url, json=no_reason, headers=bearer(tokens["ada"])).status_code == 400
    disorder = {**change, "yellow": -2}
    assert client.put(url, json=disorder, headers=bearer(tokens["ada"])).status_code == 400
    done = client.put(url, json=change, headers=bearer(tokens["ada"]))
    assert done.status_code == 200 and done.json["blue"] == -4
    with database.session() as session:
        assert session.get(Threshold, world.thresholds["industry_economic"]).red == -16
        [entry] = list_entries(session).items
        assert (entry.actor, entry.reason, entry.before["blue"]) == ("ada", "API review", -5)
    listed = client.get("/api/v1/thresholds?model=threshold", headers=bearer(tokens["vera"]))
    assert any(row["blue"] == -4 for row in listed.json["items"])


def _document_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.removeprefix("/api/v1"))


def test_openapi_document_matches_the_registered_routes(app: Flask, client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").json
    documented = {
        (path, method.upper())
        for path, operations in document["paths"].items()
        for method in operations
    }
    registered = {
        (_document_path(rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert registered and documented == registered
    for path, operations in document["paths"].items():
        names = set(re.findall(r"{([a-z_]+)}", path))
        for operation in operations.values():
            in_path = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert in_path == names, path
