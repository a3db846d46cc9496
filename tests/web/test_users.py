"""User administration: admins create users, change roles and deactivate; nobody else."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from monitor.db import Database
from monitor.records import User
from tests.web.conftest import log_in
from tests.web.dataset import World


def _user(database: Database, name: str) -> User:
    with database.session() as session:
        user = session.scalar(select(User).where(User.username == name))
        session.expunge(user)
        return user


@pytest.mark.parametrize("name", ["vera", "otto"])
def test_only_admins_reach_user_administration(
    client: FlaskClient, world: World, name: str
) -> None:
    log_in(client, name)
    assert client.get("/users/").status_code == 403
    assert client.post("/users/", data={"username": "x", "role": "admin"}).status_code == 403


def test_admin_creates_a_user_with_a_generated_password_shown_once(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    response = as_admin.post("/users/", data={"username": "zhang", "role": "operator"})
    page = as_admin.get(response.location).get_data(as_text=True)
    password = re.search(r"zhang[^<]*?([A-Za-z0-9_-]{20,})", page).group(1)
    assert _user(database, "zhang").role == "operator"
    fresh = as_admin.application.test_client()
    assert log_in(fresh, "zhang", password).status_code == 302
    assert password not in as_admin.get("/users/").get_data(as_text=True)


def test_admin_changes_a_role_and_deactivates_a_user(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    vera = _user(database, "vera")
    as_admin.post(f"/users/{vera.id}/role", data={"value": "operator"})
    assert _user(database, "vera").role == "operator"
    as_admin.post(f"/users/{vera.id}/active", data={"value": "0"})
    assert not _user(database, "vera").active
    fresh = as_admin.application.test_client()
    log_in(fresh, "vera")
    assert fresh.get("/").status_code == 302  # a deactivated user cannot log in


def test_the_last_admin_keeps_the_role_and_cannot_deactivate_themselves(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    ada = _user(database, "ada")
    as_admin.post(f"/users/{ada.id}/role", data={"value": "viewer"})
    assert _user(database, "ada").role == "admin"
    as_admin.post(f"/users/{ada.id}/active", data={"value": "0"})
    assert _user(database, "ada").active
