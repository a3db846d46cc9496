"""Response playbooks: one per dimension × level; everyone reads them, admins write them."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from alerts.errors import AlertError
from alerts.playbooks import delete_playbook, list_playbooks, set_playbook
from monitor.records import Playbook
from monitor.vocabulary import Dimension, Level, Role
from web.access import require_role
from web.alert_errors import alert_error_text
from web.forms import PlaybookForm
from web.storage import db

bp = Blueprint("playbooks", __name__, url_prefix="/playbooks")


def _scope(dimension: str, level: str) -> tuple[Dimension, Level]:
    """The dimension and level named in the URL; 404 for names outside the vocabulary."""
    if dimension not in set(Dimension) or level not in set(Level):
        abort(404)
    return Dimension(dimension), Level(level)


def _playbook(dimension: str, level: str) -> Playbook | None:
    return db().scalar(
        select(Playbook).where(Playbook.dimension == dimension, Playbook.level == level)
    )


@bp.get("/")
def index() -> ResponseReturnValue:
    written = {(row.level, row.dimension): row for row in list_playbooks(db())}
    return render_template(
        "playbooks/index.html",
        levels=list(Level),
        dimensions=list(Dimension),
        written=written,
        can_edit=current_user.can(Role.ADMIN),
    )


def _edit_page(
    form: PlaybookForm, dimension: Dimension, level: Level, status: int = 200
) -> ResponseReturnValue:
    return (
        render_template(
            "playbooks/edit.html",
            form=form,
            dimension=dimension,
            level=level,
            playbook=_playbook(dimension, level),
        ),
        status,
    )


@bp.get("/<dimension>/<level>")
@require_role(Role.ADMIN)
def edit(dimension: str, level: str) -> ResponseReturnValue:
    scope = _scope(dimension, level)
    return _edit_page(PlaybookForm(obj=_playbook(*scope)), *scope)


@bp.post("/<dimension>/<level>")
@require_role(Role.ADMIN)
def save(dimension: str, level: str) -> ResponseReturnValue:
    scope = _scope(dimension, level)
    form = PlaybookForm()
    if not form.validate_on_submit():
        return _edit_page(form, *scope, status=400)
    try:
        set_playbook(
            db(),
            dimension=scope[0],
            level=scope[1],
            text_zh=form.text_zh.data or "",
            text_en=form.text_en.data or "",
            actor=current_user.username,
        )
    except AlertError as exc:
        db().rollback()
        form.form_errors.append(alert_error_text(exc))
        return _edit_page(form, *scope, status=400)
    db().commit()
    flash(gettext("Playbook saved."), "success")
    return redirect(url_for("playbooks.index"))


@bp.post("/<dimension>/<level>/delete")
@require_role(Role.ADMIN)
def delete(dimension: str, level: str) -> ResponseReturnValue:
    """Remove a playbook (the CSRF token is checked for every POST by ``CSRFProtect``)."""
    playbook = _playbook(*_scope(dimension, level)) or abort(404)
    delete_playbook(db(), playbook)
    db().commit()
    flash(gettext("Playbook deleted."), "success")
    return redirect(url_for("playbooks.index"))
