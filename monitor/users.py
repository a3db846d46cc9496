"""Console users: create them, check their passwords, make sure an admin exists.

Passwords are stored as werkzeug hashes only; a generated password is returned once
to the caller (the CLI prints it) and never stored in clear.
"""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from monitor.errors import ClusterWatchError, NotFound
from monitor.records import User
from monitor.vocabulary import Role

ADMIN_USERNAME = "admin"
MIN_PASSWORD_LENGTH = 8
MAX_USERNAME_LENGTH = 100
SUPPORTED_LOCALES = ("zh_CN", "en")

# Checked when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))


class UserError(ClusterWatchError):
    """A user cannot be created or changed as asked (duplicate name, unknown role, ...)."""


def generate_password() -> str:
    """A random password of about 128 bits, safe to type and to paste."""
    return secrets.token_urlsafe(16)


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        choices = ", ".join(member.value for member in Role)
        raise UserError(f"unknown role {role!r}; choose one of {choices}") from None


def _username(username: str) -> str:
    name = username.strip()
    if not name:
        raise UserError("a user name must not be empty")
    if len(name) > MAX_USERNAME_LENGTH:
        raise UserError(f"a user name is at most {MAX_USERNAME_LENGTH} characters")
    return name


def _password(password: str | None) -> str:
    if password is None:
        return generate_password()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password


def find_user(session: Session, username: str) -> User | None:
    """The user called ``username`` (surrounding blanks ignored), or ``None``."""
    return session.scalar(select(User).where(User.username == username.strip()))


def create_user(
    session: Session, username: str, password: str | None = None, role: str = Role.VIEWER
) -> tuple[User, str]:
    """Add a user and return it with its password (generated when none is given).

    Raises ``UserError`` for an empty or taken name, an unknown role or a short password.
    """
    name = _username(username)
    checked_role = _role(role)
    clear = _password(password)
    if find_user(session, name) is not None:
        raise UserError(f"user {name!r} already exists")
    user = User(username=name, password_hash=generate_password_hash(clear), role=checked_role)
    session.add(user)
    session.flush()
    return user, clear


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user whose name and password match, else ``None``."""
    user = find_user(session, username)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def set_password(session: Session, username: str, password: str | None = None) -> str:
    """Give ``username`` a new password (generated when none is given) and return it."""
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"no user {username.strip()!r}")
    clear = _password(password)
    user.password_hash = generate_password_hash(clear)
    session.flush()
    return clear


def set_locale(session: Session, user_id: int, locale: str | None) -> None:
    """Remember the console language a user chose (``None`` forgets it)."""
    if locale is not None and locale not in SUPPORTED_LOCALES:
        raise UserError(f"unsupported language {locale!r}")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    user.locale = locale
    session.flush()


def ensure_admin(session: Session, password: str | None = None) -> str | None:
    """Create user ``admin`` when no active admin exists; return the password set, else None.

    If a user called ``admin`` exists but is not an active admin, it is promoted,
    re-activated and given the new password, so an installation can always be recovered.
    """
    admins = select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active)
    if session.scalar(admins):
        return None
    clear = _password(password)
    existing = find_user(session, ADMIN_USERNAME)
    if existing is None:
        create_user(session, ADMIN_USERNAME, clear, Role.ADMIN)
        return clear
    existing.role = Role.ADMIN
    existing.active = True
    existing.password_hash = generate_password_hash(clear)
    session.flush()
    return clear


def _active_admins(session: Session) -> int:
    statement = select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active)
    return session.scalar(statement) or 0


def _last_admin(session: Session, user: User) -> bool:
    return user.role == Role.ADMIN and user.active and _active_admins(session) <= 1


def set_role(session: Session, user_id: int, role: str) -> User:
    """Give a user another role; the last active admin keeps theirs."""
    checked = _role(role)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    if checked != Role.ADMIN and _last_admin(session, user):
        raise UserError("the last active administrator cannot lose that role")
    user.role = checked
    session.flush()
    return user


def set_active(session: Session, user_id: int, active: bool) -> User:
    """Deactivate (no more logins) or reactivate a user; the last active admin stays."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user with id {user_id}")
    if not active and _last_admin(session, user):
        raise UserError("the last active administrator cannot be deactivated")
    user.active = active
    session.flush()
    return user


def list_users(session: Session) -> list[User]:
    """Every user by name."""
    return list(session.scalars(select(User).order_by(User.username)))
