"""User administration (admins only): create users, change roles, deactivate."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from monitor.errors import NotFound
from monitor.users import UserError, create_user, list_users, set_active, set_role
from monitor.vocabulary import Role
from web.access import require_role
from web.forms import NewUserForm, UserActionForm
from web.storage import db

bp = Blueprint("users", __name__, url_prefix="/users")


@bp.get("/")
@require_role(Role.ADMIN)
def index() -> ResponseReturnValue:
    return render_template(
        "users/index.html", users=list_users(db()), form=NewUserForm(), action=UserActionForm()
    )


@bp.post("/")
@require_role(Role.ADMIN)
def create() -> ResponseReturnValue:
    form = NewUserForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return redirect(url_for("users.index"))
    try:
        user, clear = create_user(
            db(), form.username.data or "", form.password.data or None, form.role.data
        )
    except UserError as exc:
        flash(str(exc), "error")
        return redirect(url_for("users.index"))
    db().commit()
    if form.password.data:
        flash(gettext("User %(name)s created.", name=user.username), "success")
    else:
        flash(
            gettext(
                "User %(name)s created with password %(password)s — pass it on now; "
                "it is not shown again.",
                name=user.username,
                password=clear,
            ),
            "success",
        )
    return redirect(url_for("users.index"))


def _apply(change: str, user_id: int, value: str) -> None:
    if change == "role":
        set_role(db(), user_id, value)
    elif change == "active":
        set_active(db(), user_id, value == "1")
    else:
        abort(400)


@bp.post("/<int:user_id>/<change>")
@require_role(Role.ADMIN)
def update(user_id: int, change: str) -> ResponseReturnValue:
    form = UserActionForm()
    if not form.validate_on_submit():
        abort(400)
    if user_id == current_user.id and change == "active":
        flash(gettext("You cannot deactivate yourself."), "error")
        return redirect(url_for("users.index"))
    try:
        _apply(change, user_id, form.value.data or "")
    except NotFound:
        abort(404)
    except UserError as exc:
        flash(str(exc), "error")
        return redirect(url_for("users.index"))
    db().commit()
    flash(gettext("User updated."), "success")
    return redirect(url_for("users.index"))
