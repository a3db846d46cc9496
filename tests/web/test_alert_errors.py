"""The alerting engine's errors reach the console user translated, with their details."""

from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.pofile import read_po
from flask.testing import FlaskClient
from sqlalchemy import select

import alerts
from monitor.db import Database
from monitor.records import Channel
from tests.web.dataset import World
from tests.web.test_translations import CATALOGUE

BAD_CHANNEL = {
    "name": "值班邮箱",
    "kind": "email",
    "target": "not-an-address",
    "min_severity": "blue",
}


def _alert_error_templates() -> set[str]:
    """The English template of every ``AlertError`` the alerting package raises."""
    templates = set()
    for path in Path(alerts.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "AlertError"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                templates.add(node.args[0].value)
    return templates


def test_every_alerting_error_has_a_chinese_translation() -> None:
    with (CATALOGUE / "messages.po").open("rb") as handle:
        catalogue = {message.id: message.string for message in read_po(handle, locale="zh_CN")}
    templates = _alert_error_templates()
    assert "a silence needs a reason" in templates
    assert [template for template in templates if not catalogue.get(template)] == []


def test_a_channel_error_is_shown_in_chinese_with_its_detail(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    page = as_admin.post("/channels/", data=BAD_CHANNEL, follow_redirects=True)
    text = page.get_data(as_text=True)
    assert "&#39;not-an-address&#39; 不是有效的电子邮件地址" in text
    with database.session() as session:
        assert session.scalars(select(Channel)).all() == []


def test_the_same_error_is_english_for_an_english_user(as_admin: FlaskClient, world: World) -> None:
    as_admin.post("/language", data={"locale": "en", "next": "/channels/"})
    page = as_admin.post("/channels/", data=BAD_CHANNEL, follow_redirects=True)
    assert "&#39;not-an-address&#39; is not an email address" in page.get_data(as_text=True)
