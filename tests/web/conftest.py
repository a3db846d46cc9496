"""Console fixtures: an app on a migrated SQLite database holding the test world, clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from monitor.db import Database
from tests.web.dataset import PASSWORD, World, build_world
from web import create_app

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def world(database: Database, now: datetime) -> World:
    with database.session() as session:
        return build_world(session, now)


def _app(database: Database, tmp_path: Path, *, csrf: bool) -> Flask:
    return create_app(
        {
            "DATABASE_URL": database.url,
            "SECRET_KEY": "test-secret-key",
            "DATA_DIR": str(tmp_path),
            "TESTING": True,
            "WTF_CSRF_ENABLED": csrf,
        }
    )


@pytest.fixture
def app(database: Database, world: World, tmp_path: Path) -> Iterator[Flask]:
    """The console with CSRF checks off, for tests about everything else."""
    app = _app(database, tmp_path, csrf=False)
    yield app
    app.extensions["clusterwatch"].dispose()


@pytest.fixture
def csrf_app(database: Database, world: World, tmp_path: Path) -> Iterator[Flask]:
    """The console exactly as deployed: every POST needs its form's CSRF token."""
    app = _app(database, tmp_path, csrf=True)
    yield app
    app.extensions["clusterwatch"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def log_in(client: FlaskClient, username: str, password: str = PASSWORD, **extra: str):
    """Post the login form (fetching its CSRF token first when the page has one)."""
    page = client.get("/login").get_data(as_text=True)
    data = {"username": username, "password": password, **extra}
    token = TOKEN.search(page)
    if token:
        data["csrf_token"] = token.group(1)
    return client.post("/login", data=data)


def csrf_token(page: str) -> str:
    """The first CSRF token of a rendered page."""
    match = TOKEN.search(page)
    assert match, "page has no CSRF token"
    return match.group(1)


@pytest.fixture
def as_viewer(client: FlaskClient) -> FlaskClient:
    log_in(client, "vera")
    return client


@pytest.fixture
def as_operator(client: FlaskClient) -> FlaskClient:
    log_in(client, "otto")
    return client


@pytest.fixture
def as_admin(client: FlaskClient) -> FlaskClient:
    log_in(client, "ada")
    return client
