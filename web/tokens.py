"""API tokens in the console: every user sees and revokes their own, admins everyone's.

Tokens are created with ``clusterwatch token create USER`` (shown once); the console
shows only their prefix, when they were created and last used, and revokes them.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from monitor.errors import NotFound
from monitor.tokens import list_tokens, revoke_token
from monitor.vocabulary import Role
from web.storage import db

bp = Blueprint("tokens", __name__, url_prefix="/tokens")


def _owner_filter() -> int | None:
    """Whose tokens the current user may see and revoke: everyone's for admins."""
    return None if current_user.can(Role.ADMIN) else current_user.id


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template(
        "tokens/index.html",
        tokens=list_tokens(db(), user_id=_owner_filter()),
        everyone=current_user.can(Role.ADMIN),
    )


@bp.post("/<int:token_id>/revoke")
def revoke(token_id: int) -> ResponseReturnValue:
    """Revoke a token (the CSRF token is checked for every POST by ``CSRFProtect``)."""
    try:
        token = revoke_token(db(), token_id, owner_id=_owner_filter())
    except NotFound:
        abort(404)
    db().commit()
    flash(gettext("Token %(prefix)s… revoked.", prefix=token.prefix), "success")
    return redirect(url_for("tokens.index"))
