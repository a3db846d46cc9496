"""API tokens: shown once, stored as a digest, tied to an active user, revocable."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from monitor.cli import main
from monitor.db import Database
from monitor.errors import NotFound
from monitor.records import ApiToken, User
from monitor.tokens import create_token, digest, revoke_token, user_for_token
from monitor.users import create_user


def _user(database: Database, name: str = "otto", role: str = "operator") -> None:
    with database.session() as session:
        create_user(session, name, "long enough password", role)


def test_a_token_is_stored_only_as_its_digest(database: Database) -> None:
    _user(database)
    with database.session() as session:
        _token, clear = create_token(session, "otto")
    with database.session() as session:
        stored = session.scalars(select(ApiToken)).one()
        assert stored.digest == digest(clear) and clear not in (stored.digest, stored.prefix)
        assert clear.startswith(stored.prefix)


def test_a_token_finds_its_user_and_notes_the_use(database: Database) -> None:
    _user(database)
    with database.session() as session:
        _token, clear = create_token(session, "otto")
    with database.session() as session:
        assert user_for_token(session, clear).username == "otto"
        assert session.scalars(select(ApiToken)).one().last_used_at is not None


@pytest.mark.parametrize("clear", ["", "cw_wrong", "not-a-token"])
def test_unknown_tokens_find_no_user(database: Database, clear: str) -> None:
    _user(database)
    with database.session() as session:
        create_token(session, "otto")
        assert user_for_token(session, clear) is None


def test_revoked_tokens_and_inactive_users_are_refused(database: Database) -> None:
    _user(database)
    _user(database, "vera", "viewer")
    with database.session() as session:
        revoked, revoked_clear = create_token(session, "otto")
        _other, inactive_clear = create_token(session, "vera")
        revoke_token(session, revoked.id)
        session.scalar(select(User).where(User.username == "vera")).active = False
    with database.session() as session:
        assert user_for_token(session, revoked_clear) is None
        assert user_for_token(session, inactive_clear) is None


def test_a_token_for_an_unknown_user_is_not_found(database: Database) -> None:
    with database.session() as session, pytest.raises(NotFound):
        create_token(session, "nobody")


def test_cli_prints_a_working_token_once(database: Database, monkeypatch) -> None:
    _user(database)
    monkeypatch.setenv("CLUSTERWATCH_DATABASE_URL", database.url)
    result = CliRunner().invoke(main, ["token", "create", "otto"])
    assert result.exit_code == 0, result.output
    clear = result.output.strip()
    with database.session() as session:
        assert user_for_token(session, clear).username == "otto"


def test_cli_lists_and_revokes_tokens(database: Database, monkeypatch) -> None:
    _user(database)
    _user(database, "vera", "viewer")
    with database.session() as session:
        token, clear = create_token(session, "otto")
        create_token(session, "vera")
        token_id, prefix = token.id, token.prefix
    monkeypatch.setenv("CLUSTERWATCH_DATABASE_URL", database.url)
    listed = CliRunner().invoke(main, ["token", "list", "--user", "otto"])
    assert listed.exit_code == 0, listed.output
    assert listed.output.startswith(f"{token_id}\totto\t{prefix}") and "vera" not in listed.output
    revoked = CliRunner().invoke(main, ["token", "revoke", str(token_id)])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    with database.session() as session:
        assert user_for_token(session, clear) is None
    after = CliRunner().invoke(main, ["token", "list"])
    assert len(after.output.splitlines()) == 2 and "\t-\t20" in after.output


def test_cli_revoking_an_unknown_token_fails_clearly(database: Database, monkeypatch) -> None:
    monkeypatch.setenv("CLUSTERWATCH_DATABASE_URL", database.url)
    result = CliRunner().invoke(main, ["token", "revoke", "999"])
    assert result.exit_code == 1 and "no token with id 999" in result.output


def test_a_user_cannot_revoke_someone_elses_token(database: Database) -> None:
    _user(database)
    _user(database, "vera", "viewer")
    with database.session() as session:
        token, clear = create_token(session, "otto")
        vera = session.scalar(select(User).where(User.username == "vera"))
        with pytest.raises(NotFound):
            revoke_token(session, token.id, owner_id=vera.id)
        assert user_for_token(session, clear).username == "otto"
