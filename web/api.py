"""The JSON API under ``/api/v1``: bearer-token authentication, the same filters as the
console, and an OpenAPI document describing every route."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException

from alerts.errors import AlertError
from alerts.workflow import acknowledge, resolve
from monitor.audit import AuditError, change_threshold, threshold_setting
from monitor.errors import NotFound
from monitor.queries import (
    AlertFilters,
    AlertPage,
    InvalidFilter,
    alert_as_dict,
    entity_as_dict,
    get_alert,
    indicator_as_dict,
    list_alerts,
    list_thresholds,
    series,
)
from monitor.records import Entity, Indicator, Threshold
from monitor.stages import stage_report
from monitor.tokens import user_for_token
from monitor.vocabulary import Role
from web.cutoffs import cutoff_problems
from web.kept_answers import kept_alert_count
from web.storage import db

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_PER_PAGE = 500


def _error(status: int, message: str) -> ResponseReturnValue:
    return jsonify(error=message), status


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> ResponseReturnValue:
    return _error(error.code or 500, error.description or error.name)


def token_required(role: Role = Role.VIEWER) -> Callable[[Callable[..., Any]], Any]:
    """Let a view run only with a valid ``Authorization: Bearer`` token of ``role`` or above."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            header = request.headers.get("Authorization", "")
            scheme, _, clear = header.partition(" ")
            user = user_for_token(db(), clear.strip()) if scheme.lower() == "bearer" else None
            if user is None:
                response = jsonify(error="a valid bearer token is required")
                response.headers["WWW-Authenticate"] = 'Bearer realm="clusterwatch"'
                return response, 401
            if not Role(user.role).at_least(role):
                return _error(403, "your role does not allow this")
            g.api_user = user
            db().commit()  # keep the token's last use
            return view(*args, **kwargs)

        return guarded

    return decorate


def _locale() -> str:
    return "en" if request.args.get("lang") == "en" else "zh_CN"


def _page(page: AlertPage, rows: list[Any]) -> dict[str, Any]:
    """A keyset page: pass ``next_cursor`` as ``after`` (or ``prev_cursor`` as ``before``)
    with the same filters and sort to continue; ``total`` stops at ``COUNT_CAP`` and is
    counted again once the alerts change (see ``web.kept_answers``)."""
    return {
        "items": rows,
        "total": page.total,
        "total_capped": page.total_capped,
        "per_page": page.per_page,
        "next_cursor": page.next_cursor,
        "prev_cursor": page.prev_cursor,
    }


@bp.get("/alerts")
@token_required()
def alerts_list() -> ResponseReturnValue:
    try:
        filters = AlertFilters.from_mapping(request.args)
    except InvalidFilter as exc:
        return _error(400, str(exc))
    page = list_alerts(db(), filters, count=kept_alert_count)
    return jsonify(_page(page, [alert_as_dict(alert, _locale()) for alert in page.items]))


def _alert(alert_id: int) -> Any:
    alert = get_alert(db(), alert_id)
    if alert is None:
        abort(404, f"no alert {alert_id}")
    return alert


@bp.get("/alerts/<int:alert_id>")
@token_required()
def alerts_detail(alert_id: int) -> ResponseReturnValue:
    return jsonify(alert_as_dict(_alert(alert_id), _locale(), events=True))


def _note() -> str | None:
    body = request.get_json(silent=True) or {}
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        abort(400, "note must be text")
    return note or None


@bp.post("/alerts/<int:alert_id>/acknowledge")
@token_required(Role.OPERATOR)
def alerts_acknowledge(alert_id: int) -> ResponseReturnValue:
    alert = _alert(alert_id)
    try:
        acknowledge(db(), alert, actor=g.api_user.username, note=_note())
    except AlertError as exc:
        return _error(409, str(exc))
    db().commit()
    return jsonify(alert_as_dict(_alert(alert_id), _locale(), events=True))


@bp.post("/alerts/<int:alert_id>/resolve")
@token_required(Role.OPERATOR)
def alerts_resolve(alert_id: int) -> ResponseReturnValue:
    alert = _alert(alert_id)
    try:
        resolve(db(), alert, actor=g.api_user.username, note=_note())
    except AlertError as exc:
        return _error(409, str(exc))
    db().commit()
    return jsonify(alert_as_dict(_alert(alert_id), _locale(), events=True))


@bp.get("/stages")
@token_required()
def stages_list() -> ResponseReturnValue:
    return jsonify(stage_report(db(), locale=_locale()))


def _paging() -> tuple[int, int]:
    try:
        page = int(request.args.get("page", "1"))
        per_page = int(request.args.get("per_page", "100"))
    except ValueError:
        abort(400, "page and per_page must be whole numbers")
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        abort(400, f"page must be at least 1 and per_page between 1 and {MAX_PER_PAGE}")
    return page, per_page


def _listing(record: type[Entity] | type[Indicator], **equal: str | None) -> Any:
    page, per_page = _paging()
    conditions = [getattr(record, name) == value for name, value in equal.items() if value]
    total = db().scalar(select(func.count()).select_from(record).where(*conditions)) or 0
    rows = db().scalars(
        select(record)
        .where(*conditions)
        .order_by(record.code)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return rows, {"total": total, "page": page, "per_page": per_page}


@bp.get("/entities")
@token_required()
def entities_list() -> ResponseReturnValue:
    rows, meta = _listing(Entity, level=request.args.get("level"))
    return jsonify(items=[entity_as_dict(row, _locale()) for row in rows], **meta)


@bp.get("/indicators")
@token_required()
def indicators_list() -> ResponseReturnValue:
    rows, meta = _listing(
        Indicator, level=request.args.get("level"), dimension=request.args.get("dimension")
    )
    return jsonify(items=[indicator_as_dict(row, _locale()) for row in rows], **meta)


@bp.get("/series/<indicator_code>/<entity_code>")
@token_required()
def series_get(indicator_code: str, entity_code: str) -> ResponseReturnValue:
    try:
        points = series(db(), indicator_code, entity_code)
    except NotFound as exc:
        return _error(404, str(exc))
    return jsonify(indicator=indicator_code, entity=entity_code, points=points)


def threshold_as_dict(row: Threshold) -> dict[str, Any]:
    return {
        "id": row.id,
        "model": row.model,
        "level": row.level,
        "dimension": row.dimension,
        "indicator": row.indicator.code if row.indicator else None,
        **threshold_setting(row),
        "updated_by": row.updated_by,
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
    }


@bp.get("/thresholds")
@token_required()
def thresholds_list() -> ResponseReturnValue:
    rows = list_thresholds(
        db(),
        level=request.args.get("level") or None,
        dimension=request.args.get("dimension") or None,
        model=request.args.get("model") or None,
    )
    return jsonify(items=[threshold_as_dict(row) for row in rows])


NUMBERS = ("blue", "yellow", "orange", "red")


def _new_setting(row: Threshold, body: dict[str, Any]) -> dict[str, Any]:
    setting = threshold_setting(row)
    for name in setting:
        if name in body:
            setting[name] = body[name]
    for name in (*NUMBERS, "clear"):
        value = setting[name]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            abort(400, f"{name} must be a number")
    if not isinstance(setting["min_periods"], int) or setting["min_periods"] < 1:
        abort(400, "min_periods must be a whole number of at least 1")
    if setting["direction"] not in (None, "up", "down", "both"):
        abort(400, "direction must be up, down, both or null")
    inherited = row.indicator.direction if row.indicator else None
    problems = cutoff_problems(
        setting["direction"] or inherited, [setting[n] for n in NUMBERS], setting["clear"]
    )
    if problems:
        abort(400, " ".join(problems))
    return setting


@bp.put("/thresholds/<int:threshold_id>")
@token_required(Role.ADMIN)
def thresholds_update(threshold_id: int) -> ResponseReturnValue:
    row = db().get(Threshold, threshold_id)
    if row is None:
        return _error(404, f"no threshold {threshold_id}")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "send a JSON object")
    setting = _new_setting(row, body)
    try:
        change_threshold(
            db(), row, setting, actor=g.api_user.username, reason=str(body.get("reason") or "")
        )
    except AuditError as exc:
        return _error(400, str(exc))
    db().commit()
    return jsonify(threshold_as_dict(row))


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    from web.openapi import document

    return jsonify(document())
