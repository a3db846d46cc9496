"""Response playbooks: admins write and delete them, everyone reads them, alerts show theirs."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from alerts.playbooks import set_playbook
from monitor.db import Database
from monitor.records import Playbook
from tests.web.conftest import csrf_token, log_in
from tests.web.dataset import World

ECONOMIC_INDUSTRY = "/playbooks/economic/industry"
ZH = "核实潍坊动力装备集群新进入企业数，联系园区招商部门评估产业链缺口。"
EN = "Check new-firm entries in the Weifang cluster and ask the park investment office."


def _playbooks(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Playbook)) or 0


def _write(database: Database, text_en: str = EN) -> None:
    with database.session() as session:
        set_playbook(
            session,
            dimension="economic",
            level="industry",
            text_zh=ZH,
            text_en=text_en,
            actor="ada",
        )


def test_an_admin_writes_then_rewrites_a_playbook(
    csrf_app: Flask, database: Database, world: World
) -> None:
    client = csrf_app.test_client()
    log_in(client, "ada")
    token = csrf_token(client.get(ECONOMIC_INDUSTRY).get_data(as_text=True))
    response = client.post(ECONOMIC_INDUSTRY, data={"csrf_token": token, "text_zh": ZH})
    assert response.status_code == 302 and response.location == "/playbooks/"
    client.post(ECONOMIC_INDUSTRY, data={"csrf_token": token, "text_zh": ZH, "text_en": EN})
    with database.session() as session:
        playbook = session.scalars(select(Playbook)).one()
        assert (playbook.dimension, playbook.level) == ("economic", "industry")
        assert (playbook.text_zh, playbook.text_en, playbook.updated_by) == (ZH, EN, "ada")
    page = client.get("/playbooks/").get_data(as_text=True)
    assert ZH in page and "应对预案已保存" in page


def test_a_playbook_without_chinese_text_is_refused(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    response = as_admin.post(ECONOMIC_INDUSTRY, data={"text_zh": "  ", "text_en": EN})
    assert response.status_code == 400
    assert "请用中文填写应对措施" in response.get_data(as_text=True)
    assert _playbooks(database) == 0


def test_an_unknown_dimension_or_level_is_not_found(as_admin: FlaskClient, world: World) -> None:
    assert as_admin.get("/playbooks/weather/industry").status_code == 404
    assert as_admin.post("/playbooks/economic/galaxy", data={"text_zh": ZH}).status_code == 404


def test_an_admin_deletes_a_playbook(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    _write(database)
    response = as_admin.post(f"{ECONOMIC_INDUSTRY}/delete", follow_redirects=True)
    assert "应对预案已删除" in response.get_data(as_text=True)
    assert _playbooks(database) == 0
    assert as_admin.post(f"{ECONOMIC_INDUSTRY}/delete").status_code == 404


def test_operators_and_viewers_read_playbooks_but_may_not_edit(
    client: FlaskClient, database: Database, world: World
) -> None:
    _write(database)
    for username in ("vera", "otto"):
        log_in(client, username)
        page = client.get("/playbooks/").get_data(as_text=True)
        assert ZH in page and ECONOMIC_INDUSTRY not in page
        assert client.get(ECONOMIC_INDUSTRY).status_code == 403
        assert client.post(ECONOMIC_INDUSTRY, data={"text_zh": "改写"}).status_code == 403
        assert client.post(f"{ECONOMIC_INDUSTRY}/delete").status_code == 403
        client.post("/logout")
    with database.session() as session:
        assert session.scalars(select(Playbook)).one().text_zh == ZH


def test_the_alert_page_shows_its_playbook_in_the_users_language(
    as_viewer: FlaskClient, database: Database, world: World
) -> None:
    _write(database)
    firms = f"/alerts/{world.alerts['firms']}"  # Weifang new firms: economic, industry
    chinese = as_viewer.get(firms).get_data(as_text=True)
    assert ZH in chinese and EN not in chinese
    as_viewer.post("/language", data={"locale": "en", "next": firms})
    english = as_viewer.get(firms).get_data(as_text=True)
    assert EN in english and ZH not in english
    other = as_viewer.get(f"/alerts/{world.alerts['policy']}").get_data(as_text=True)
    assert "No playbook is written for this dimension and level." in other


def test_the_alert_page_falls_back_to_chinese_without_an_english_text(
    as_viewer: FlaskClient, database: Database, world: World
) -> None:
    _write(database, text_en="")
    firms = f"/alerts/{world.alerts['firms']}"
    as_viewer.post("/language", data={"locale": "en", "next": firms})
    assert ZH in as_viewer.get(firms).get_data(as_text=True)
