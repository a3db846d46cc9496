"""Channels (admins): email, webhook and robot channels with their filters, a test send,
enabling and disabling, the delivery log with status and error. Dead letters have their
own page with a re-send button for operators and admins; channel settings stay admin-only."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import func, select

from alerts.channels import create_channel
from alerts.deadletters import dead_letters, resend
from alerts.errors import AlertError
from alerts.states import ChannelType
from alerts.testsend import test_send
from monitor.queries import Page
from monitor.records import Channel, Delivery, Entity
from monitor.vocabulary import Dimension, Level, Role, Severity
from web.access import require_role, safe_next
from web.alert_errors import alert_error_text
from web.alerts import NOTICE_STATUS_LABELS
from web.forms import ChannelForm, ResendForm, RunNowForm, UserActionForm
from web.silences import resolve_codes, split_codes
from web.storage import db

bp = Blueprint("channels", __name__, url_prefix="/channels")
LOG_PER_PAGE = 50
DEAD_LETTERS_SHOWN = 100
KINDS = tuple(kind.value for kind in ChannelType)


def _form() -> ChannelForm:
    form = ChannelForm()
    form.kind.choices = [(kind, kind) for kind in KINDS]
    return form


@bp.get("/")
@require_role(Role.ADMIN)
def index() -> ResponseReturnValue:
    channels = list(db().scalars(select(Channel).order_by(Channel.name)))
    region_ids = {region for channel in channels for region in channel.regions or []}
    region_codes = dict(
        db().execute(select(Entity.id, Entity.code).where(Entity.id.in_(region_ids))).all()
    )
    return render_template(
        "channels/index.html",
        channels=channels,
        region_codes=region_codes,
        form=_form(),
        action=UserActionForm(),
        send_form=RunNowForm(),
        resend_form=ResendForm(),
        dead=dead_letters(db(), limit=20),
    )


@bp.post("/")
@require_role(Role.ADMIN)
def create() -> ResponseReturnValue:
    form = _form()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return redirect(url_for("channels.index"))
    levels = [value for value in request.form.getlist("levels") if value in set(Level)]
    dimensions = [value for value in request.form.getlist("dimensions") if value in set(Dimension)]
    regions, unknown = resolve_codes(
        db(), split_codes(form.regions.data), Entity, Entity.level == Level.GOVERNMENT
    )
    if unknown:
        flash(gettext("Unknown code: %(codes)s", codes=", ".join(unknown)), "error")
        return redirect(url_for("channels.index"))
    try:
        create_channel(
            db(),
            kind=form.kind.data,
            name=form.name.data or "",
            target=form.target.data or "",
            secret=form.secret.data or None,
            locale=form.locale.data,
            min_severity=form.min_severity.data or Severity.BLUE,
            levels=levels,
            dimensions=dimensions,
            regions=regions,
        )
    except AlertError as exc:
        flash(alert_error_text(exc), "error")
        return redirect(url_for("channels.index"))
    db().commit()
    flash(gettext("Channel created."), "success")
    return redirect(url_for("channels.index"))


def _channel(channel_id: int) -> Channel:
    return db().get(Channel, channel_id) or abort(404)


@bp.post("/<int:channel_id>/enabled")
@require_role(Role.ADMIN)
def toggle(channel_id: int) -> ResponseReturnValue:
    form = UserActionForm()
    if not form.validate_on_submit():
        abort(400)
    _channel(channel_id).enabled = form.value.data == "1"
    db().commit()
    flash(gettext("Channel updated."), "success")
    return redirect(url_for("channels.index"))


@bp.post("/<int:channel_id>/test")
@require_role(Role.ADMIN)
def test(channel_id: int) -> ResponseReturnValue:
    if not UserActionForm(meta={"csrf": True}).validate_on_submit() and request.form.get("value"):
        abort(400)
    channel = _channel(channel_id)
    result = test_send(channel, current_app.extensions["clusterwatch_settings"])
    if result.ok:
        flash(gettext("Test message delivered to %(name)s.", name=channel.name), "success")
    else:
        flash(
            gettext("Test message to %(name)s failed: %(error)s", name=channel.name,
                    error=result.error or ""),
            "error",
        )  # fmt: skip
    return redirect(url_for("channels.index"))


@bp.get("/<int:channel_id>/log")
@require_role(Role.ADMIN)
def log(channel_id: int) -> ResponseReturnValue:
    channel = _channel(channel_id)
    try:
        page_number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        abort(400)
    condition = Delivery.channel_id == channel_id
    total = db().scalar(select(func.count()).select_from(Delivery).where(condition)) or 0
    rows = db().scalars(
        select(Delivery)
        .where(condition)
        .order_by(Delivery.created_at.desc(), Delivery.id.desc())
        .limit(LOG_PER_PAGE)
        .offset((page_number - 1) * LOG_PER_PAGE)
    )
    page = Page(items=list(rows), total=total, page=page_number, per_page=LOG_PER_PAGE)
    return render_template(
        "channels/log.html", channel=channel, page=page, status_labels=NOTICE_STATUS_LABELS
    )


@bp.get("/dead")
@require_role(Role.OPERATOR)
def dead() -> ResponseReturnValue:
    """The given-up deliveries, newest first, each with a re-send button."""
    return render_template(
        "channels/dead.html",
        dead=dead_letters(db(), limit=DEAD_LETTERS_SHOWN),
        resend_form=ResendForm(),
    )


@bp.post("/dead/<int:notification_id>/resend")
@require_role(Role.OPERATOR)
def resend_dead_letter(notification_id: int) -> ResponseReturnValue:
    """Put one given-up notification back in the outbox, then go back where the user was."""
    form = ResendForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        resend(db(), notification_id, actor=current_user.username)
    except AlertError:
        flash(gettext("Only a given-up delivery can be re-sent."), "error")
    else:
        db().commit()
        flash(gettext("The notification will be sent again on the next delivery pass."), "success")
    return redirect(safe_next(form.next.data) or url_for("channels.dead"))
