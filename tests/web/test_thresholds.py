"""The threshold table, and its edit form for administrators only."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from monitor.db import Database
from monitor.records import Threshold
from tests.web.conftest import csrf_token, log_in
from tests.web.dataset import World

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
        ("robust_economic", {"direction": "both", "blue": "-1"}, "不小于 0"),
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
