"""Silences: everyone sees what is muted and why; operators and admins add and expire them.

Windows are entered and shown in Beijing time; region, cluster, entity and indicator
matchers are typed as codes and stored as ids.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session
from wtforms import Field

from alerts.errors import AlertError
from alerts.silences import (
    SilenceState,
    create_silence,
    expire_silence,
    list_silences,
    next_window,
)
from monitor.records import Entity, Indicator, Silence, utc_now
from monitor.vocabulary import Level, Role
from web.access import require_role
from web.alert_errors import alert_error_text
from web.forms import RECURRENCE_LABELS, SilenceForm
from web.i18n import DISPLAY_TIMEZONE
from web.storage import db

bp = Blueprint("silences", __name__, url_prefix="/silences")
LOCAL_TIME = ZoneInfo(DISPLAY_TIMEZONE)
CODE_SEPARATORS = re.compile(r"[\s,，;；]+")
STATE_LABELS = {
    SilenceState.ACTIVE: _l("Active"),
    SilenceState.PENDING: _l("Upcoming"),
    SilenceState.EXPIRED: _l("Expired"),
}


Lookup = type[Entity] | type[Indicator]


def split_codes(text: str | None) -> list[str]:
    """The codes typed in a matcher field, in order, without repeats."""
    return list(dict.fromkeys(code for code in CODE_SEPARATORS.split(text or "") if code))


def resolve_codes(
    session: Session,
    codes: Sequence[str],
    record: Lookup,
    *where: ColumnElement[bool],
) -> tuple[list[int], list[str]]:
    """Ids of the ``record`` rows with one of ``codes`` (in order), and the codes not found."""
    if not codes:
        return [], []
    statement = select(record.code, record.id).where(record.code.in_(codes), *where)
    found: dict[str, int] = {code: id_ for code, id_ in session.execute(statement)}
    return [found[code] for code in codes if code in found], [c for c in codes if c not in found]


def _matcher_ids(session: Session, form: SilenceForm) -> dict[str, list[int]] | None:
    """Ids for every code field, or None after adding an error to each field with unknowns."""
    lookups: dict[str, tuple[Field, Lookup, tuple[ColumnElement[bool], ...]]] = {
        "region_ids": (form.regions, Entity, (Entity.level == Level.GOVERNMENT,)),
        "cluster_ids": (form.clusters, Entity, (Entity.level == Level.INDUSTRY,)),
        "entity_ids": (form.entities, Entity, ()),
        "indicator_ids": (form.indicators, Indicator, ()),
    }
    resolved: dict[str, list[int]] = {}
    for key, (field, record, where) in lookups.items():
        ids, unknown = resolve_codes(session, split_codes(field.data), record, *where)
        if unknown:
            field.errors = [
                *field.errors,
                gettext("Unknown code: %(codes)s", codes=", ".join(unknown)),
            ]
        resolved[key] = ids
    return None if any(field.errors for field, _r, _w in lookups.values()) else resolved


def beijing(moment: datetime | None) -> datetime | None:
    """A naive time typed in the form, read as Beijing time."""
    return None if moment is None else moment.replace(tzinfo=LOCAL_TIME)


def _code_maps() -> dict[str, dict[int, str]]:
    entities = dict(db().execute(select(Entity.id, Entity.code)).all())
    indicators = dict(db().execute(select(Indicator.id, Indicator.code)).all())
    return {"entities": entities, "indicators": indicators}


def _page(form: SilenceForm, status: int = 200) -> ResponseReturnValue:
    show_expired = request.args.get("expired") == "1"
    now = utc_now()
    silences = list_silences(db(), now, include_expired=show_expired)
    return (
        render_template(
            "silences/index.html",
            silences=silences,
            windows={silence.id: next_window(silence, now) for silence, _state in silences},
            show_expired=show_expired,
            form=form,
            codes=_code_maps(),
            state_labels=STATE_LABELS,
            recurrence_labels=RECURRENCE_LABELS,
            can_edit=current_user.can(Role.OPERATOR),
        ),
        status,
    )


@bp.get("/")
def index() -> ResponseReturnValue:
    return _page(SilenceForm())


@bp.post("/")
@require_role(Role.OPERATOR)
def create() -> ResponseReturnValue:
    form = SilenceForm()
    valid = form.validate_on_submit()
    ids = _matcher_ids(db(), form)
    if not valid or ids is None:
        return _page(form, 400)
    try:
        create_silence(
            db(),
            author=current_user.username,
            reason=form.reason.data or "",
            starts_at=beijing(form.starts_at.data),
            ends_at=beijing(form.ends_at.data),
            levels=form.levels.data or [],
            dimensions=form.dimensions.data or [],
            recurrence=form.recurrence.data or None,
            repeat_until=beijing(form.repeat_until.data),
            **ids,
        )
    except AlertError as exc:
        db().rollback()
        form.form_errors.append(alert_error_text(exc))
        return _page(form, 400)
    db().commit()
    flash(gettext("Silence created."), "success")
    return redirect(url_for("silences.index"))


@bp.post("/<int:silence_id>/expire")
@require_role(Role.OPERATOR)
def expire(silence_id: int) -> ResponseReturnValue:
    """End a silence now (the CSRF token is checked for every POST by ``CSRFProtect``)."""
    silence = db().get(Silence, silence_id) or abort(404)
    try:
        expire_silence(db(), silence, actor=current_user.username)
    except AlertError:
        flash(gettext("This silence is already expired."), "error")
    else:
        db().commit()
        flash(gettext("Silence expired."), "success")
    return redirect(url_for("silences.index"))
