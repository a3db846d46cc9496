"""Who may do what: Flask-Login wiring, login required everywhere, role checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin, LoginManager, UserMixin, current_user
from sqlalchemy import select

from monitor.records import User
from monitor.vocabulary import Role
from web.storage import db

# Endpoints anyone may reach; every other view needs a logged-in user.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "auth.language", "health.healthz", "static"})
API_BLUEPRINT = "api"

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please log in to see this page.")
login_manager.login_message_category = "info"

View = TypeVar("View", bound=Callable[..., ResponseReturnValue])


@dataclass(frozen=True)
class ConsoleUser(UserMixin):
    """The logged-in user as views see it, detached from any database session."""

    id: int
    username: str
    role: Role
    locale: str | None

    @classmethod
    def from_record(cls, user: User) -> ConsoleUser:
        return cls(id=user.id, username=user.username, role=Role(user.role), locale=user.locale)

    def can(self, role: Role) -> bool:
        return self.role.at_least(role)


class AnonymousUser(AnonymousUserMixin):
    username = None
    role = None
    locale = None

    def can(self, role: Role) -> bool:
        return False


login_manager.anonymous_user = AnonymousUser


@login_manager.user_loader
def load_user(user_id: str) -> ConsoleUser | None:
    """The active user of ``user_id``, read as plain columns (every request asks)."""
    try:
        wanted = int(user_id)
    except ValueError:
        return None
    row = (
        db()
        .execute(
            select(User.id, User.username, User.role, User.locale).where(
                User.id == wanted, User.active.is_(True)
            )
        )
        .first()
    )
    if row is None:
        return None
    return ConsoleUser(id=row.id, username=row.username, role=Role(row.role), locale=row.locale)


def require_login() -> ResponseReturnValue | None:
    """Send anyone not logged in to the login page, except on public endpoints."""
    if request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if request.blueprint == API_BLUEPRINT:  # bearer tokens, checked by each API view
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def require_role(role: Role) -> Callable[[View], View]:
    """Let a view run only for users with ``role`` or a higher one; others get 403."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.can(role):
                abort(403)
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorate


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else ``None`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ord(character) < 32 for character in target) or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    app.before_request(require_login)
