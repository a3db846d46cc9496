"""API tokens in the console: users revoke their own, admins anyone's; the API then refuses them."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from monitor.db import Database
from monitor.records import ApiToken
from monitor.tokens import create_token
from tests.web.dataset import World


def _token(database: Database, username: str) -> tuple[int, str, str]:
    with database.session() as session:
        token, clear = create_token(session, username)
        return token.id, token.prefix, clear


def _alerts(client: FlaskClient, clear: str) -> int:
    return client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {clear}"}).status_code


def test_a_user_sees_only_their_own_tokens(
    as_operator: FlaskClient, database: Database, world: World
) -> None:
    _mine, my_prefix, _clear = _token(database, "otto")
    _theirs, their_prefix, _other = _token(database, "ada")
    page = as_operator.get("/tokens/").get_data(as_text=True)
    assert my_prefix in page and their_prefix not in page


def test_a_revoked_token_is_refused_by_the_api(
    as_viewer: FlaskClient, database: Database, world: World
) -> None:
    token_id, prefix, clear = _token(database, "vera")
    assert _alerts(as_viewer, clear) == 200
    page = as_viewer.get("/tokens/").get_data(as_text=True)
    assert f'action="/tokens/{token_id}/revoke"' in page
    response = as_viewer.post(f"/tokens/{token_id}/revoke", follow_redirects=True)
    assert response.status_code == 200 and prefix in response.get_data(as_text=True)
    assert _alerts(as_viewer, clear) == 401
    with database.session() as session:
        assert session.get(ApiToken, token_id).revoked_at is not None


def test_nobody_but_an_admin_revokes_another_users_token(
    client: FlaskClient, database: Database, world: World
) -> None:
    from tests.web.conftest import log_in

    token_id, _prefix, clear = _token(database, "ada")
    log_in(client, "otto")
    assert client.post(f"/tokens/{token_id}/revoke").status_code == 404
    assert _alerts(client, clear) == 200
    client.post("/logout")
    log_in(client, "ada")
    assert client.post(f"/tokens/{token_id}/revoke").status_code == 302
    assert _alerts(client, clear) == 401


def test_admins_see_everyones_tokens_with_their_users(
    as_admin: FlaskClient, database: Database, world: World
) -> None:
    _token(database, "otto")
    _token(database, "vera")
    page = as_admin.get("/tokens/").get_data(as_text=True)
    with database.session() as session:
        prefixes = session.scalars(select(ApiToken.prefix)).all()
    assert all(prefix in page for prefix in prefixes) and "otto" in page and "vera" in page
