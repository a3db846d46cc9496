"""API tokens: created for a user, shown once, stored as a SHA-256 digest only.

A token reads ``cw_<random>``; its first characters are kept as a prefix so a user
can tell their tokens apart without the secret being stored.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from monitor.errors import NotFound
from monitor.records import ApiToken, User, utc_now
from monitor.users import find_user

TOKEN_PREFIX = "cw_"
PREFIX_LENGTH = 10


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, username: str) -> tuple[ApiToken, str]:
    """A new token for ``username``; returns the record and the clear token (shown once).

    Raises ``NotFound`` for an unknown user.
    """
    user = find_user(session, username)
    if user is None:
        raise NotFound(f"no user {username.strip()!r}")
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, digest=digest(clear), prefix=clear[:PREFIX_LENGTH])
    session.add(token)
    session.flush()
    return token, clear


def user_for_token(session: Session, clear: str) -> User | None:
    """The active user a valid, unrevoked token belongs to (its use is noted), else None."""
    if not clear.startswith(TOKEN_PREFIX):
        return None
    token = session.scalar(
        select(ApiToken).where(ApiToken.digest == digest(clear), ApiToken.revoked_at.is_(None))
    )
    if token is None or not token.user.active:
        return None
    token.last_used_at = utc_now()
    session.flush()
    return token.user


def list_tokens(session: Session, *, user_id: int | None = None) -> list[ApiToken]:
    """Tokens (of one user, or everyone's), newest first, with their users loaded."""
    statement = (
        select(ApiToken)
        .options(joinedload(ApiToken.user))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    if user_id is not None:
        statement = statement.where(ApiToken.user_id == user_id)
    return list(session.scalars(statement))


def revoke_token(session: Session, token_id: int, *, owner_id: int | None = None) -> ApiToken:
    """Make a token unusable from now on; revoking twice keeps the first time.

    With ``owner_id`` only that user's token may be revoked: another user's is
    ``NotFound``, as if it did not exist.
    """
    token = session.get(ApiToken, token_id)
    if token is None or (owner_id is not None and token.user_id != owner_id):
        raise NotFound(f"no token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utc_now()
        session.flush()
    return token
