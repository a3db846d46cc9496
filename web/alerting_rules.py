"""Alerting rules (admins): the timings and limits, the routes and the inhibition rules.

The policy (group wait and interval, repeat interval, flapping, staleness) is stored in
the settings table and read by every delivery and housekeeping pass. Routes send the
alerts their matchers accept to one channel, in position order; inhibition rules let an
open warning at one level mute the notices of another level. Region and cluster
matchers are typed as codes and stored as ids.
"""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import ColumnElement, select
from wtforms import Field

from alerts.errors import AlertError
from alerts.inhibition import add_inhibit_rule
from alerts.policy import AlertPolicy, load_policy, save_policy
from alerts.routing import add_route
from monitor.records import Channel, Entity, InhibitRule, Route
from monitor.vocabulary import Level, Role
from web.access import require_role
from web.alert_errors import alert_error_text
from web.forms import InhibitRuleForm, PolicyForm, RouteForm, RunNowForm, UserActionForm
from web.silences import resolve_codes, split_codes
from web.storage import db

bp = Blueprint("alerting_rules", __name__, url_prefix="/alerting")
HOUR = 3600


def _policy_form(policy: AlertPolicy | None = None) -> PolicyForm:
    """The policy form, filled from ``policy`` (a GET) or from the posted data."""
    if policy is None:
        return PolicyForm()
    return PolicyForm(
        data={
            "group_wait_seconds": policy.group_wait_seconds,
            "group_interval_seconds": policy.group_interval_seconds,
            "repeat_interval_hours": max(round(policy.repeat_interval_seconds / HOUR), 1),
            "flap_max_changes": policy.flap_max_changes,
            "flap_window_periods": policy.flap_window_periods,
            "flap_quiet_periods": policy.flap_quiet_periods,
            "stale_after_monthly": policy.stale_after_monthly,
            "stale_after_quarterly": policy.stale_after_quarterly,
            "stale_after_annual": policy.stale_after_annual,
        }
    )


def _route_form() -> RouteForm:
    form = RouteForm()
    form.channel.choices = [
        (channel.id, channel.name)
        for channel in db().scalars(select(Channel).order_by(Channel.name))
    ]
    return form


def _page(
    *,
    policy_form: PolicyForm | None = None,
    route_form: RouteForm | None = None,
    rule_form: InhibitRuleForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    routes = list(db().scalars(select(Route).order_by(Route.position, Route.id)))
    rules = list(db().scalars(select(InhibitRule).order_by(InhibitRule.id)))
    return (
        render_template(
            "alerting_rules/index.html",
            policy_form=policy_form or _policy_form(load_policy(db())),
            route_form=route_form or _route_form(),
            rule_form=rule_form or InhibitRuleForm(),
            routes=routes,
            rules=rules,
            entity_codes=dict(db().execute(select(Entity.id, Entity.code)).all()),
            action=UserActionForm(),
            delete_form=RunNowForm(),
        ),
        status,
    )


@bp.get("/")
@require_role(Role.ADMIN)
def index() -> ResponseReturnValue:
    return _page()


@bp.post("/policy")
@require_role(Role.ADMIN)
def save_timings() -> ResponseReturnValue:
    form = _policy_form()
    if not form.validate_on_submit():
        return _page(policy_form=form, status=400)
    values = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
    values["repeat_interval_seconds"] = values.pop("repeat_interval_hours") * HOUR
    try:
        policy = replace(AlertPolicy(), **values)
    except AlertError as exc:
        flash(alert_error_text(exc), "error")
        return _page(policy_form=form, status=400)
    save_policy(db(), policy)
    db().commit()
    flash(gettext("Alerting timings saved."), "success")
    return redirect(url_for("alerting_rules.index"))


def _scope_ids(form: RouteForm) -> dict[str, list[int]] | None:
    """Region and cluster ids of the typed codes, or None after marking unknown codes."""
    lookups: dict[str, tuple[Field, ColumnElement[bool]]] = {
        "region_ids": (form.regions, Entity.level == Level.GOVERNMENT),
        "cluster_ids": (form.clusters, Entity.level == Level.INDUSTRY),
    }
    resolved: dict[str, list[int]] = {}
    for key, (field, where) in lookups.items():
        ids, unknown = resolve_codes(db(), split_codes(field.data), Entity, where)
        if unknown:
            field.errors = [
                *field.errors,
                gettext("Unknown code: %(codes)s", codes=", ".join(unknown)),
            ]
        resolved[key] = ids
    return None if any(field.errors for field, _where in lookups.values()) else resolved


@bp.post("/routes")
@require_role(Role.ADMIN)
def create_route() -> ResponseReturnValue:
    form = _route_form()
    if not form.validate_on_submit():
        return _page(route_form=form, status=400)
    scope = _scope_ids(form)
    channel = db().get(Channel, form.channel.data)
    if scope is None or channel is None:
        return _page(route_form=form, status=400)
    try:
        add_route(
            db(),
            name=form.name.data or "",
            channel=channel,
            position=form.position.data or 0,
            levels=form.levels.data or [],
            dimensions=form.dimensions.data or [],
            min_severity=form.min_severity.data,
            continue_matching=bool(form.continue_matching.data),
            actor=current_user.username,
            **scope,
        )
    except AlertError as exc:
        flash(alert_error_text(exc), "error")
        return _page(route_form=form, status=400)
    db().commit()
    flash(gettext("Route added."), "success")
    return redirect(url_for("alerting_rules.index"))


@bp.post("/inhibitions")
@require_role(Role.ADMIN)
def create_rule() -> ResponseReturnValue:
    form = InhibitRuleForm()
    if not form.validate_on_submit():
        return _page(rule_form=form, status=400)
    try:
        add_inhibit_rule(
            db(),
            name=form.name.data or "",
            source_level=form.source_level.data,
            target_level=form.target_level.data,
            equal_dimension=bool(form.equal_dimension.data),
            same_region=bool(form.same_region.data),
            source_min_severity=form.source_min_severity.data,
            actor=current_user.username,
        )
    except AlertError as exc:
        flash(alert_error_text(exc), "error")
        return _page(rule_form=form, status=400)
    db().commit()
    flash(gettext("Inhibition rule added."), "success")
    return redirect(url_for("alerting_rules.index"))


RECORDS: dict[str, type[Route] | type[InhibitRule]] = {
    "routes": Route,
    "inhibitions": InhibitRule,
}


def _row(kind: str, row_id: int) -> Route | InhibitRule:
    record = RECORDS.get(kind) or abort(404)
    return db().get(record, row_id) or abort(404)


@bp.post("/<kind>/<int:row_id>/enabled")
@require_role(Role.ADMIN)
def toggle(kind: str, row_id: int) -> ResponseReturnValue:
    """Switch a route or an inhibition rule on or off."""
    form = UserActionForm()
    if not form.validate_on_submit():
        abort(400)
    _row(kind, row_id).enabled = form.value.data == "1"
    db().commit()
    flash(gettext("Rule updated."), "success")
    return redirect(url_for("alerting_rules.index"))


@bp.post("/<kind>/<int:row_id>/delete")
@require_role(Role.ADMIN)
def delete(kind: str, row_id: int) -> ResponseReturnValue:
    """Remove a route or an inhibition rule."""
    if not RunNowForm().validate_on_submit():
        abort(400)
    db().delete(_row(kind, row_id))
    db().commit()
    flash(gettext("Rule removed."), "success")
    return redirect(url_for("alerting_rules.index"))
