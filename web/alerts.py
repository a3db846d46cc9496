"""Alert pages: the filtered list, one alert with its chart and events, acknowledge, resolve."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from alerts.errors import AlertError
from alerts.playbooks import playbook_for
from alerts.workflow import acknowledge, resolution_summary, resolve
from monitor.queries import (
    MAX_PER_PAGE,
    AlertFilters,
    InvalidFilter,
    alert_rows_by_id,
    get_alert,
    has_synthetic_observations,
    list_alerts,
    open_alert_counts,
    region_and_cluster_choices,
    thresholds_for,
)
from monitor.records import Alert, Channel, Notification
from monitor.vocabulary import AlertStatus, Role
from web.access import require_role, safe_next
from web.charts import alert_chart
from web.forms import AcknowledgeForm, BulkAcknowledgeForm, ResolveForm
from web.i18n import current_locale
from web.kept_answers import kept_alert_count
from web.storage import db

bp = Blueprint("alerts", __name__, url_prefix="/alerts")

SORT_LABELS = {
    "opened": _l("Oldest first"),
    "-period": _l("Latest period first"),
    "period": _l("Earliest period first"),
    "-severity": _l("Most severe first"),
    "severity": _l("Least severe first"),
}


def _alert_or_404(alert_id: int) -> Alert:
    alert = get_alert(db(), alert_id)
    if alert is None:
        abort(404)
    return alert


@bp.get("/")
def index() -> ResponseReturnValue:
    try:
        filters = AlertFilters.from_mapping(request.args)
    except InvalidFilter:
        abort(400)
    locale = current_locale()
    page = list_alerts(
        db(),
        filters,
        count=kept_alert_count,
        load=lambda session, ids: alert_rows_by_id(session, ids, locale),
    )
    regions, clusters = region_and_cluster_choices(db(), locale)
    return render_template(
        "alerts/index.html",
        page=page,
        filters=filters,
        regions=regions,
        clusters=clusters,
        sorts=[(value, str(text)) for value, text in SORT_LABELS.items()],
        can_acknowledge=current_user.can(Role.OPERATOR),
        bulk_form=BulkAcknowledgeForm(),
    )


@bp.get("/summary")
def summary() -> ResponseReturnValue:
    """Open alerts by level x dimension x colour, each count a link to its list; a page of
    its own so that paging through the list does not count every open alert each time."""
    return render_template("alerts/summary.html", counts=open_alert_counts(db()))


@bp.post("/acknowledge")
@require_role(Role.OPERATOR)
def bulk_acknowledge() -> ResponseReturnValue:
    """Acknowledge every selected firing alert with one response note."""
    form = BulkAcknowledgeForm()
    target = safe_next(request.form.get("next")) or url_for("alerts.index")
    if not form.validate_on_submit():
        flash(" ".join(map(str, form.note.errors)) or gettext("The form was not valid."), "error")
        return redirect(target)
    try:
        ids = sorted({int(value) for value in request.form.getlist("alert_ids")})
    except ValueError:
        abort(400)
    if not ids or len(ids) > MAX_PER_PAGE:
        flash(gettext("Select at least one firing alert."), "error")
        return redirect(target)
    done = 0
    for alert in db().scalars(select(Alert).where(Alert.id.in_(ids))):
        if alert.status != AlertStatus.FIRING:
            continue
        acknowledge(db(), alert, actor=current_user.username, note=form.note.data or None)
        done += 1
    db().commit()
    flash(ngettext("%(num)d alert acknowledged.", "%(num)d alerts acknowledged.", done), "success")
    return redirect(target)


#: How each notification status reads on the alert page.
NOTICE_STATUS_LABELS = {
    "pending": _l("waiting"),
    "sending": _l("sending"),
    "sent": _l("sent"),
    "dead": _l("given up"),
    "inhibited": _l("inhibited"),
    "silenced": _l("silenced"),
    "held": _l("held (flapping)"),
    "skipped": _l("skipped"),
}
NOTICES_SHOWN = 200


def _notifications(alert: Alert) -> list[tuple[Notification, str]]:
    """The alert's notifications with their channel's name, oldest first."""
    return [
        (notification, name)
        for notification, name in db().execute(
            select(Notification, Channel.name)
            .join(Channel, Notification.channel_id == Channel.id)
            .options(selectinload(Notification.event))
            .where(Notification.alert_id == alert.id)
            .order_by(Notification.id)
            .limit(NOTICES_SHOWN)
        )
    ]


@bp.get("/<int:alert_id>")
def detail(alert_id: int) -> ResponseReturnValue:
    alert = _alert_or_404(alert_id)
    synthetic = alert.synthetic or alert.entity.synthetic
    synthetic = synthetic or has_synthetic_observations(db(), alert.indicator_id, alert.entity_id)
    return render_template(
        "alerts/detail.html",
        alert=alert,
        synthetic=synthetic,
        threshold=thresholds_for(db(), alert.indicator, alert.model),
        playbook=playbook_for(db(), alert),
        summary=resolution_summary(alert),
        notifications=_notifications(alert),
        notice_status_labels=NOTICE_STATUS_LABELS,
        acknowledge_form=AcknowledgeForm(),
        resolve_form=ResolveForm(),
        can_acknowledge=current_user.can(Role.OPERATOR) and alert.status == AlertStatus.FIRING,
        can_resolve=current_user.can(Role.OPERATOR) and alert.status != AlertStatus.RESOLVED,
    )


@bp.get("/<int:alert_id>/chart.json")
def chart(alert_id: int) -> ResponseReturnValue:
    return jsonify(alert_chart(db(), _alert_or_404(alert_id), current_locale()))


@bp.post("/<int:alert_id>/acknowledge")
@require_role(Role.OPERATOR)
def acknowledge_alert(alert_id: int) -> ResponseReturnValue:
    alert = _alert_or_404(alert_id)
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        flash(" ".join(map(str, form.note.errors)) or gettext("The form was not valid."), "error")
    else:
        try:
            acknowledge(
                db(),
                alert,
                actor=current_user.username,
                note=form.note.data or None,
                assignee=(form.assignee.data or "").strip() or None,
            )
        except AlertError:
            flash(gettext("Only a firing alert can be acknowledged."), "error")
        else:
            db().commit()
            flash(gettext("Alert acknowledged."), "success")
    return redirect(url_for("alerts.detail", alert_id=alert_id))


@bp.post("/<int:alert_id>/resolve")
@require_role(Role.OPERATOR)
def resolve_alert(alert_id: int) -> ResponseReturnValue:
    alert = _alert_or_404(alert_id)
    form = ResolveForm()
    if not form.validate_on_submit():
        flash(" ".join(map(str, form.note.errors)) or gettext("The form was not valid."), "error")
    else:
        try:
            resolve(db(), alert, actor=current_user.username, note=form.note.data or None)
        except AlertError:
            flash(gettext("This alert is already resolved."), "error")
        else:
            db().commit()
            flash(gettext("Alert resolved."), "success")
    return redirect(url_for("alerts.detail", alert_id=alert_id))
