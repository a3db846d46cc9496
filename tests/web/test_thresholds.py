"""The threshold table, and its edit form for administrators only."""

from __future__ import annotations

import html
from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from monitor.db import Database
from monitor.records import Threshold
from tests.web.conftest import csrf_token, log_in
from tests.web.dataset import World
from web.forms import FIXED_DIRECTION_ERROR

VALID_DOWN = {
    "direction": "",
    "blue": "-4",
    "yellow": "-8",
    "orange": "-12",
    "red": "-16",
    "clear": "-2",
    "min_periods": "2",
    "reason": "Fewer blue warnings after the 2023 review",
}


def edit_url(world: World, key: str = "industry_economic") -> str:
    return f"/thresholds/{world.thresholds[key]}/edit"


def test_thresholds_lists_every_row_with_its_cut_offs(as_viewer: FlaskClient, world: World) -> None:
    page = as_viewer.get("/thresholds/").get_data(as_text=True)
    assert page.count('<tr class="override">') == 1
    assert "出口复杂度" in page and "全部指标" in page
    for cutoff in ("-20", "90", "稳健 Z 分数", "阈值模型"):
        assert cutoff in page


def test_thresholds_filters_by_model(as_viewer: FlaskClient, world: World) -> None:
    page = as_viewer.get("/thresholds/?model=robust_z").get_data(as_text=True)
    assert "稳健 Z 分数" in page and "阈值模型</td>" not in page
    assert as_viewer.get("/thresholds/?model=nope").status_code == 400


@pytest.mark.parametrize("user", ["vera", "otto"])
def test_only_admins_see_and_use_the_edit_form(
    client: FlaskClient, database: Database, world: World, user: str
) -> None:
    log_in(client, user)
    assert "/edit" not in client.get("/thresholds/").get_data(as_text=True)
    assert client.get(edit_url(world)).status_code == 403
    assert client.post(edit_url(world), data=VALID_DOWN).status_code == 403
    with database.session() as session:
        assert session.get(Threshold, world.thresholds["industry_economic"]).blue == -5


def test_admin_saves_thresholds_with_who_and_when(
    as_admin: FlaskClient, database: Database, world: World, now: datetime
) -> None:
    assert "/edit" in as_admin.get("/thresholds/").get_data(as_text=True)
    response = as_admin.post(edit_url(world), data=VALID_DOWN)
    assert response.status_code == 302 and response.location == "/thresholds/"
    assert "阈值已保存" in as_admin.get("/thresholds/").get_data(as_text=True)
    with database.session() as session:
        row = session.get(Threshold, world.thresholds["industry_economic"])
        assert row.cutoffs() == (-4, -8, -12, -16)
        assert (row.clear, row.min_periods, row.direction) == (-2, 2, None)
        assert row.updated_by == "ada"
        assert row.updated_at > now


def test_admin_may_empty_the_clearing_level(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    as_admin.post(edit_url(world, "exports_override"), data={**VALID_DOWN, "clear": ""})
    with database.session() as session:
        assert session.get(Threshold, world.thresholds["exports_override"]).clear is None


def test_admin_edit_form_with_csrf_token_saves(
    csrf_app: Flask, database: Database, world: World
) -> None:
    client = csrf_app.test_client()
    log_in(client, "ada")
    token = csrf_token(client.get(edit_url(world)).get_data(as_text=True))
    assert client.post(edit_url(world), data={**VALID_DOWN, "csrf_token": token}).status_code == 302
    assert client.post(edit_url(world), data=VALID_DOWN).status_code == 400


@pytest.mark.parametrize(
    ("key", "changes", "message"),
    [
        ("industry_economic", {"yellow": "-3"}, "阈值须从蓝色到红色单调递增或单调递减"),
        ("industry_economic", {"direction": "down", "blue": "4", "yellow": "8"}, "递减"),
        ("industry_economic", {"clear": "-6"}, "解除水平不得低于蓝色阈值"),
        ("government_political", {"orange": "95"}, "递增"),
        ("government_political", {"direction": "", "orange": "95"}, "单调递增或单调递减"),
        ("government_political", {"direction": "both", "blue": "-1"}, "不小于 0"),
        ("exports_override", {"direction": "", "blue": "-20", "red": "-2"}, "递减"),
        ("industry_economic", {"red": "nan"}, "请输入有限的数值"),
        ("industry_economic", {"red": "abc"}, "不是有效的浮点数"),
        ("industry_economic", {"min_periods": "0"}, "请输入 1 到 36 之间的整数"),
    ],
)
def test_admin_edit_refuses_cut_offs_out_of_order(
    as_admin: FlaskClient, database: Database, world: World, key: str, changes: dict, message: str
) -> None:
    with database.session() as session:
        before = session.get(Threshold, world.thresholds[key]).cutoffs()
    base = {**VALID_DOWN, "clear": ""}
    if key in ("government_political", "robust_economic"):
        base.update(blue="2", yellow="3", orange="4", red="5", direction="up")
    response = as_admin.post(edit_url(world, key), data={**base, **changes})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with database.session() as session:
        row = session.get(Threshold, world.thresholds[key])
        assert row.cutoffs() == before and row.updated_by is None


def test_edit_of_a_missing_threshold_is_404(as_admin: FlaskClient) -> None:
    assert as_admin.get("/thresholds/9999/edit").status_code == 404


RISING = {**VALID_DOWN, "direction": "up", "blue": "2", "yellow": "3", "orange": "4", "red": "5"}


def _shows_fixed_direction_error(app: Flask, response: TestResponse) -> bool:
    """Whether the page shows the refusal, translated as the console does."""
    with app.test_request_context("/"):
        message = str(FIXED_DIRECTION_ERROR)
    return message in html.unescape(response.get_data(as_text=True))


def test_a_row_of_a_model_scoring_towards_risk_shows_its_direction_fixed(
    as_admin: FlaskClient, world: World
) -> None:
    # The robust z row was stored with direction "both" before the catalog fixed it.
    robust = as_admin.get(edit_url(world, "robust_economic")).get_data(as_text=True)
    threshold = as_admin.get(edit_url(world)).get_data(as_text=True)

    assert '<select disabled id="direction" name="direction">' in robust
    assert '<option selected value="up">' in robust
    assert '<input type="hidden" name="direction" value="up">' in robust
    assert '<select id="direction" name="direction">' in threshold
    assert 'type="hidden" name="direction"' not in threshold


@pytest.mark.parametrize("direction", ["down", "both", ""])
def test_admin_edit_refuses_another_direction_for_a_model_scoring_towards_risk(
    app: Flask, as_admin: FlaskClient, database: Database, world: World, direction: str
) -> None:
    falling = {"blue": "-2", "yellow": "-3", "orange": "-4", "red": "-5", "clear": ""}
    cutoffs = falling if direction == "down" else {}
    response = as_admin.post(
        edit_url(world, "robust_economic"), data={**RISING, **cutoffs, "direction": direction}
    )

    assert response.status_code == 200
    assert _shows_fixed_direction_error(app, response)
    with database.session() as session:
        row = session.get(Threshold, world.thresholds["robust_economic"])
        assert (row.direction, row.cutoffs(), row.updated_by) == ("both", (2, 3, 4, 5), None)


def test_the_preview_refuses_another_direction_for_a_model_scoring_towards_risk(
    app: Flask, as_admin: FlaskClient, world: World
) -> None:
    preview = f"/thresholds/{world.thresholds['robust_economic']}/preview"
    refused = as_admin.post(preview, data={**RISING, "direction": "both", "reason": ""})
    allowed = as_admin.post(preview, data={**RISING, "reason": ""})

    assert refused.status_code == 422
    assert _shows_fixed_direction_error(app, refused)
    assert allowed.status_code == 200


def test_admin_saves_a_row_of_a_model_scoring_towards_risk_with_rising_cut_offs(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    response = as_admin.post(edit_url(world, "robust_economic"), data=RISING)

    assert response.status_code == 302
    with database.session() as session:
        row = session.get(Threshold, world.thresholds["robust_economic"])
        assert (row.direction, row.cutoffs(), row.updated_by) == ("up", (2, 3, 4, 5), "ada")
