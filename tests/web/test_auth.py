"""Logging in and out, login required everywhere, language choice, health check."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from monitor.db import Database
from monitor.records import Alert, Threshold, User
from tests.web.conftest import csrf_token, log_in
from tests.web.dataset import World
from web import create_app

PROTECTED_GETS = [
    "/",
    "/alerts/",
    "/alerts/1",
    "/alerts/1/chart.json",
    "/stages/",
    "/thresholds/",
    "/thresholds/1/edit",
]
PROTECTED_POSTS = ["/alerts/1/acknowledge", "/alerts/1/resolve", "/thresholds/1/edit"]


@pytest.mark.parametrize("url", PROTECTED_GETS)
def test_every_page_redirects_to_login_when_logged_out(client: FlaskClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


@pytest.mark.parametrize("url", PROTECTED_POSTS)
def test_every_action_redirects_to_login_when_logged_out(
    client: FlaskClient, database: Database, world: World, url: str
) -> None:
    response = client.post(url, data={"note": "x", "blue": "1"})
    assert response.status_code == 302
    assert response.location.startswith("/login")
    with database.session() as session:
        assert session.get(Alert, 1).status == "firing"
        assert session.get(Threshold, 1).updated_by is None


def test_login_with_the_right_password_opens_the_console(client: FlaskClient) -> None:
    response = log_in(client, "vera")
    assert response.status_code == 302
    assert response.location == "/"
    assert client.get("/alerts/").status_code == 200


def test_login_with_a_wrong_password_is_refused(client: FlaskClient) -> None:
    response = log_in(client, "vera", "not the password")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/alerts/").status_code == 302


def test_login_of_an_inactive_user_is_refused(client: FlaskClient, database: Database) -> None:
    with database.session() as session:
        session.scalars(select(User).where(User.username == "vera")).one().active = False
    log_in(client, "vera")
    assert client.get("/alerts/").status_code == 302


def test_a_deactivated_user_is_logged_out_on_the_next_request(
    as_viewer: FlaskClient, database: Database
) -> None:
    with database.session() as session:
        session.scalars(select(User).where(User.username == "vera")).one().active = False
    assert as_viewer.get("/alerts/").status_code == 302


def test_login_follows_a_local_next_url(client: FlaskClient) -> None:
    response = log_in(client, "vera", next="/stages/?level=industry")
    assert response.location == "/stages/?level=industry"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", "x"],
)
def test_login_ignores_a_next_url_off_this_site(client: FlaskClient, target: str) -> None:
    response = log_in(client, "vera", next=target)
    assert response.location == "/"


def test_the_login_page_carries_the_next_url_it_was_sent_with(client: FlaskClient) -> None:
    redirect = client.get("/stages/")
    page = client.get(redirect.location).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/stages/"' in page


def test_logout_ends_the_session(as_viewer: FlaskClient) -> None:
    response = as_viewer.post("/logout")
    assert response.location == "/login"
    assert as_viewer.get("/alerts/").status_code == 302


def test_logout_needs_the_csrf_token(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    log_in(client, "vera")
    assert client.post("/logout").status_code == 400
    page = client.get("/alerts/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(page)})
    assert client.get("/alerts/").status_code == 302


def test_console_speaks_chinese_by_default(as_viewer: FlaskClient) -> None:
    page = as_viewer.get("/alerts/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "预警级别" in page and "政府" in page


def test_english_is_selectable_and_remembered_for_the_user(
    app: Flask, as_viewer: FlaskClient, database: Database
) -> None:
    response = as_viewer.post("/language", data={"locale": "en", "next": "/stages/"})
    assert response.location == "/stages/"
    page = as_viewer.get("/alerts/").get_data(as_text=True)
    assert '<html lang="en">' in page and "Warning level" in page
    with database.session() as session:
        assert session.scalars(select(User).where(User.username == "vera")).one().locale == "en"
    fresh = app.test_client()  # another browser: the saved choice follows the user
    log_in(fresh, "vera")
    assert "Warning level" in fresh.get("/alerts/").get_data(as_text=True)


def test_language_chosen_before_login_is_kept_in_a_cookie(client: FlaskClient) -> None:
    response = client.post("/language", data={"locale": "en", "next": "/login"})
    assert "clusterwatch_locale=en" in response.headers["Set-Cookie"]
    assert "Log in" in client.get("/login").get_data(as_text=True)


def test_language_switch_refuses_an_unknown_language(as_viewer: FlaskClient) -> None:
    as_viewer.post("/language", data={"locale": "fr", "next": "/alerts/"})
    assert '<html lang="zh-CN">' in as_viewer.get("/alerts/").get_data(as_text=True)


def test_language_switch_does_not_redirect_off_site(client: FlaskClient) -> None:
    response = client.post("/language", data={"locale": "en", "next": "https://evil.example/"})
    assert response.location == "/"


def test_healthz_answers_without_login(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path: Path) -> None:
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path}",  # a folder cannot be opened as a database
            "SECRET_KEY": "k",
            "DATA_DIR": str(tmp_path),
            "TESTING": True,
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "error"}
