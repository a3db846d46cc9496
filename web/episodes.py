"""Dated shock episodes: everyone reads them, operators and admins add and remove them.

They are the reference the threshold backtest preview scores hits, misses and false
alarms against (see ``web.backtest``).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from monitor.demo.load import DEMO_SOURCE
from monitor.episodes import LABEL_LENGTH, add_episode, list_episodes, remove_episode
from monitor.errors import NotFound
from monitor.records import Entity
from monitor.vocabulary import Dimension, Level, Role
from web.access import require_role
from web.labels import label
from web.storage import db

bp = Blueprint("episodes", __name__, url_prefix="/episodes")


class EpisodeForm(FlaskForm):
    entity = StringField(
        _l("Entity, region or cluster (code)"),
        validators=[InputRequired(_l("Give the code of an entity.")), Length(max=64)],
    )
    dimension = SelectField(_l("Dimension"), validators=[Optional()])
    start = DateField(_l("Start"), validators=[InputRequired(_l("Give the start date."))])
    end = DateField(_l("End (leave empty if not known)"), validators=[Optional()])
    label = StringField(
        _l("Label"),
        filters=[lambda text: text.strip() if text else text],
        validators=[
            DataRequired(_l("Give the episode a label.")),
            Length(max=LABEL_LENGTH, message=_l("The label is too long.")),
        ],
    )

    def validate_end(self, field: DateField) -> None:
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(gettext("The end lies before the start."))


def _form() -> EpisodeForm:
    form = EpisodeForm()
    form.dimension.choices = [("", gettext("All dimensions"))] + [
        (dimension.value, label("dimension", dimension.value)) for dimension in Dimension
    ]
    return form


def _page(form: EpisodeForm, status: int = 200) -> ResponseReturnValue:
    scopes = db().scalars(
        select(Entity).where(Entity.level != Level.ENTERPRISE).order_by(Entity.code)
    )
    return (
        render_template(
            "episodes/index.html",
            episodes=list_episodes(db()),
            form=form,
            scopes=list(scopes),
            can_edit=current_user.can(Role.OPERATOR),
            demo_author=DEMO_SOURCE,
        ),
        status,
    )


@bp.get("/")
def index() -> ResponseReturnValue:
    return _page(_form())


@bp.post("/")
@require_role(Role.OPERATOR)
def create() -> ResponseReturnValue:
    form = _form()
    if not form.validate_on_submit():
        return _page(form, 400)
    code = (form.entity.data or "").strip()
    entity = db().scalar(select(Entity).where(Entity.code == code))
    if entity is None:
        form.entity.errors = [gettext("No entity has the code %(code)s.", code=code)]
        return _page(form, 400)
    add_episode(
        db(),
        entity_id=entity.id,
        dimension=form.dimension.data or None,
        start=form.start.data,
        end=form.end.data,
        label=form.label.data or "",
        author=current_user.username,
    )
    db().commit()
    flash(gettext("Episode added."), "success")
    return redirect(url_for("episodes.index"))


@bp.post("/<int:episode_id>/delete")
@require_role(Role.OPERATOR)
def delete(episode_id: int) -> ResponseReturnValue:
    """Remove an episode (the CSRF token is checked for every POST by ``CSRFProtect``)."""
    try:
        remove_episode(db(), episode_id)
    except NotFound:
        abort(404)
    db().commit()
    flash(gettext("Episode removed."), "success")
    return redirect(url_for("episodes.index"))
