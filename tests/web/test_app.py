"""How the console is assembled: settings, database, no scheduler, error pages."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import web
from monitor.db import Database
from tests.web.conftest import log_in
from web import create_app


def test_create_app_uses_the_given_database(app: Flask, database: Database) -> None:
    assert isinstance(app.extensions["clusterwatch"], Database)
    assert app.extensions["clusterwatch"].url == database.url
    assert {"auth", "alerts", "stages", "thresholds", "health"} <= set(app.blueprints)


def test_create_app_reads_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CLUSTERWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("CLUSTERWATCH_SECRET_KEY", "from-the-environment")
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.extensions["clusterwatch"].url.endswith("env.db")
    app.extensions["clusterwatch"].dispose()


def test_the_package_has_no_module_level_app() -> None:
    assert not any(isinstance(value, Flask) for value in vars(web).values())


def test_create_app_starts_no_threads(database: Database, tmp_path: Path) -> None:
    before = set(threading.enumerate())
    app = create_app({"DATABASE_URL": database.url, "SECRET_KEY": "k", "DATA_DIR": str(tmp_path)})
    assert set(threading.enumerate()) - before == set()
    app.extensions["clusterwatch"].dispose()


def test_unknown_pages_get_a_translated_404(as_viewer: FlaskClient) -> None:
    response = as_viewer.get("/no-such-page")
    assert response.status_code == 404
    assert "所请求的页面、预警或阈值不存在" in response.get_data(as_text=True)


def test_error_pages_follow_the_chosen_language(as_viewer: FlaskClient) -> None:
    as_viewer.post("/language", data={"locale": "en"})
    response = as_viewer.get("/thresholds/1/edit")
    assert response.status_code == 403
    assert "Your role does not allow this action." in response.get_data(as_text=True)


def test_server_errors_get_a_translated_500(app: Flask) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    client = app.test_client()
    log_in(client, "vera")
    response = client.get("/boom")
    assert response.status_code == 500
    assert "系统内部出错" in response.get_data(as_text=True)


def test_times_are_shown_in_beijing_time(as_viewer: FlaskClient) -> None:
    page = as_viewer.get("/alerts/?entity=FIRM-1").get_data(as_text=True)
    assert "2024-07-01 15:00" in page  # opened 07:00 UTC


def test_static_assets_are_served_locally_without_login(client: FlaskClient) -> None:
    for path in (
        "/static/vendor/echarts/echarts.min.js",
        "/static/vendor/echarts/LICENSE",
        "/static/css/console.css",
        "/static/js/alert-chart.js",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()


def test_pages_load_no_assets_from_other_sites(as_viewer: FlaskClient) -> None:
    page = as_viewer.get("/alerts/1").get_data(as_text=True)
    assert 'src="http' not in page and 'href="http' not in page


def test_responses_carry_security_headers(client: FlaskClient) -> None:
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
