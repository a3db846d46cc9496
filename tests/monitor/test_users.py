"""Console users: creation, password checks, the first admin."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from monitor.db import Database
from monitor.errors import ClusterWatchError, NotFound
from monitor.records import User
from monitor.users import (
    MIN_PASSWORD_LENGTH,
    UserError,
    authenticate,
    create_user,
    ensure_admin,
    set_locale,
    set_password,
)


def test_create_user_stores_a_hash_not_the_password(database: Database) -> None:
    with database.session() as session:
        user, password = create_user(session, "li.wei", "s3cret-enough", "operator")
    assert password == "s3cret-enough"
    with database.session() as session:
        stored = session.scalars(select(User)).one()
        assert stored.role == "operator"
        assert stored.active
        assert "s3cret-enough" not in stored.password_hash


def test_create_user_generates_a_strong_password_when_none_is_given(database: Database) -> None:
    with database.session() as session:
        user, first = create_user(session, "a")
        _, second = create_user(session, "b")
    assert len(first) >= 20 and first != second
    assert user.role == "viewer"
    with database.session() as session:
        assert authenticate(session, "a", first) is not None


def test_create_user_refuses_a_taken_name(database: Database) -> None:
    with database.session() as session:
        create_user(session, "zhang", "password-1")
    with database.session() as session, pytest.raises(UserError, match="already exists"):
        create_user(session, " zhang ", "password-2")


def test_create_user_refuses_an_unknown_role(database: Database) -> None:
    with database.session() as session, pytest.raises(UserError, match="unknown role 'root'"):
        create_user(session, "zhang", "password-1", "root")


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_create_user_refuses_an_empty_or_overlong_name(database: Database, name: str) -> None:
    with database.session() as session, pytest.raises(UserError):
        create_user(session, name, "password-1")


def test_create_user_refuses_a_short_password(database: Database) -> None:
    short = "x" * (MIN_PASSWORD_LENGTH - 1)
    with database.session() as session, pytest.raises(UserError, match="at least"):
        create_user(session, "zhang", short)


def test_user_errors_are_clusterwatch_errors() -> None:
    assert issubclass(UserError, ClusterWatchError)


def test_authenticate_refuses_a_wrong_password_or_unknown_name(database: Database) -> None:
    with database.session() as session:
        create_user(session, "zhang", "password-1")
    with database.session() as session:
        assert authenticate(session, "zhang", "password-2") is None
        assert authenticate(session, "nobody", "password-1") is None
        assert authenticate(session, "zhang", "password-1").username == "zhang"


def test_authenticate_refuses_an_inactive_user(database: Database) -> None:
    with database.session() as session:
        user, _ = create_user(session, "zhang", "password-1")
        user.active = False
    with database.session() as session:
        assert authenticate(session, "zhang", "password-1") is None


def test_set_password_replaces_the_old_one(database: Database) -> None:
    with database.session() as session:
        create_user(session, "zhang", "password-1")
    with database.session() as session:
        assert set_password(session, "zhang", "password-2") == "password-2"
    with database.session() as session:
        assert authenticate(session, "zhang", "password-1") is None
        assert authenticate(session, "zhang", "password-2") is not None


def test_set_password_of_an_unknown_user_is_not_found(database: Database) -> None:
    with database.session() as session, pytest.raises(NotFound):
        set_password(session, "nobody", "password-2")


def test_set_locale_accepts_only_console_languages(database: Database) -> None:
    with database.session() as session:
        user, _ = create_user(session, "zhang", "password-1")
        set_locale(session, user.id, "en")
        assert user.locale == "en"
        with pytest.raises(UserError):
            set_locale(session, user.id, "fr")


def test_ensure_admin_creates_admin_once(database: Database) -> None:
    with database.session() as session:
        password = ensure_admin(session)
    assert password
    with database.session() as session:
        assert ensure_admin(session) is None
        admin = authenticate(session, "admin", password)
        assert admin is not None and admin.role == "admin"


def test_ensure_admin_uses_the_given_password(database: Database) -> None:
    with database.session() as session:
        assert ensure_admin(session, "given-password") == "given-password"
    with database.session() as session:
        assert authenticate(session, "admin", "given-password") is not None


def test_ensure_admin_does_nothing_when_another_admin_exists(database: Database) -> None:
    with database.session() as session:
        create_user(session, "chief", "password-1", "admin")
    with database.session() as session:
        assert ensure_admin(session) is None
        assert session.scalar(select(User).where(User.username == "admin")) is None


def test_ensure_admin_restores_a_demoted_admin_account(database: Database) -> None:
    with database.session() as session:
        create_user(session, "admin", "password-1", "viewer")
    with database.session() as session:
        password = ensure_admin(session, "password-new")
    assert password == "password-new"
    with database.session() as session:
        assert authenticate(session, "admin", "password-new").role == "admin"
