"""Threshold pages: every level x dimension x model row, editing with a backtest preview,
the audit log of changes and restoring an earlier setting."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from monitor.audit import THRESHOLD, AuditError, change_threshold, list_entries, restore_threshold
from monitor.errors import NotFound
from monitor.queries import InvalidFilter, list_thresholds
from monitor.records import Threshold
from monitor.scoring import fixed_direction
from monitor.vocabulary import Dimension, Level, ModelKind, Role
from web.access import require_role
from web.backtest import compare
from web.backtest_cache import panel_cache
from web.cutoffs import cutoff_problems
from web.forms import RestoreForm, ThresholdForm
from web.i18n import current_locale
from web.storage import db

bp = Blueprint("thresholds", __name__, url_prefix="/thresholds")

FILTERS = {"level": Level, "dimension": Dimension, "model": ModelKind}
AUDIT_PER_PAGE = 30


def _filters() -> dict[str, str | None]:
    chosen = {name: request.args.get(name) or None for name in FILTERS}
    for name, value in chosen.items():
        if value and value not in set(FILTERS[name]):
            raise InvalidFilter(f"unknown {name} {value!r}")
    return chosen


@bp.get("/")
def index() -> ResponseReturnValue:
    try:
        filters = _filters()
    except InvalidFilter:
        abort(400)
    rows = list_thresholds(db(), **filters)
    return render_template("thresholds/index.html", rows=rows, filters=filters)


def _setting(form: ThresholdForm) -> dict[str, Any]:
    return {
        "direction": form.direction.data or None,
        "blue": form.blue.data,
        "yellow": form.yellow.data,
        "orange": form.orange.data,
        "red": form.red.data,
        "clear": form.clear.data,
        "min_periods": form.min_periods.data,
    }


def _problems(form: ThresholdForm, inherited: str | None) -> list[str]:
    cutoffs = (form.blue.data, form.yellow.data, form.orange.data, form.red.data)
    direction = form.fixed_direction or form.direction.data or inherited
    return cutoff_problems(direction, cutoffs, form.clear.data)


def _threshold(threshold_id: int) -> Threshold:
    return db().get(Threshold, threshold_id) or abort(404)


def _inherited(threshold: Threshold) -> str | None:
    return threshold.indicator.direction if threshold.indicator else None


def _form(threshold: Threshold, **kwargs: Any) -> ThresholdForm:
    """The row's edit form: its direction fixed when its model scores towards risk."""
    return ThresholdForm(
        inherited_direction=_inherited(threshold),
        fixed_direction=fixed_direction(threshold.model),
        **kwargs,
    )


@bp.route("/<int:threshold_id>/edit", methods=("GET", "POST"))
@require_role(Role.ADMIN)
def edit(threshold_id: int) -> ResponseReturnValue:
    threshold = _threshold(threshold_id)
    inherited = _inherited(threshold)
    form = _form(threshold, obj=threshold)
    if request.method == "GET":
        form.reason.data = ""
    if form.validate_on_submit():
        problems = _problems(form, inherited)
        for problem in problems:
            flash(problem, "error")
        if not problems:
            change_threshold(
                db(),
                threshold,
                _setting(form),
                actor=current_user.username,
                reason=form.reason.data or "",
            )
            db().commit()
            flash(gettext("Thresholds saved."), "success")
            return redirect(url_for("thresholds.index"))
    preview = compare(db(), threshold, _setting(form), current_locale(), panel_cache())
    return render_template(
        "thresholds/edit.html",
        form=form,
        threshold=threshold,
        preview=preview,
        history=list_entries(db(), target_kind=THRESHOLD, target_id=threshold.id, per_page=10),
    )


@bp.post("/<int:threshold_id>/preview")
@require_role(Role.ADMIN)
def preview(threshold_id: int) -> ResponseReturnValue:
    """The backtest table for the setting in the form, before anything is saved."""
    threshold = _threshold(threshold_id)
    inherited = _inherited(threshold)
    form = _form(threshold)
    form.reason.validators = []
    if not form.validate_on_submit():
        problems = [str(error) for errors in form.errors.values() for error in errors]
    else:
        problems = _problems(form, inherited)
    if problems:
        return render_template("thresholds/_preview.html", problems=problems), 422
    result = compare(db(), threshold, _setting(form), current_locale(), panel_cache())
    return render_template("thresholds/_preview.html", preview=result, problems=[])


@bp.get("/audit")
def audit() -> ResponseReturnValue:
    try:
        page_number = int(request.args.get("page", "1"))
    except ValueError:
        abort(400)
    if page_number < 1:
        abort(400)
    entries = list_entries(db(), target_kind=THRESHOLD, page=page_number, per_page=AUDIT_PER_PAGE)
    thresholds = {
        row.id: row
        for row in db()
        .query(Threshold)
        .filter(Threshold.id.in_({entry.target_id for entry in entries.items}))
    }
    return render_template(
        "thresholds/audit.html", entries=entries, thresholds=thresholds, restore_form=RestoreForm()
    )


@bp.post("/audit/<int:entry_id>/restore")
@require_role(Role.ADMIN)
def restore(entry_id: int) -> ResponseReturnValue:
    form = RestoreForm()
    if not form.validate_on_submit():
        flash(gettext("Say why the thresholds change."), "error")
        return redirect(url_for("thresholds.audit"))
    try:
        restore_threshold(
            db(), entry_id, actor=current_user.username, reason=form.reason.data or ""
        )
    except NotFound:
        abort(404)
    except AuditError:
        flash(gettext("This change recorded no earlier setting."), "error")
        return redirect(url_for("thresholds.audit"))
    db().commit()
    flash(gettext("The earlier thresholds are restored."), "success")
    return redirect(url_for("thresholds.audit"))
