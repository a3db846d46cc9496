"""Sources and job runs: schedules, the latest runs with row counts and durations, the
rejected rows of a run with their reasons, "run now" and uploading a file."""

from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.utils import secure_filename

from monitor.audit import record as record_change
from monitor.errors import ClusterWatchError
from monitor.ingest import SPREADSHEET_SUFFIXES, ingest_file
from monitor.jobs import backfill as run_backfill
from monitor.jobs import open_run, pull_and_score, run_progress
from monitor.jobs import recent_runs as recent_job_runs
from monitor.periods import PeriodError, parse_period
from monitor.pipeline import score_indicators
from monitor.queries import recent_runs, rejected_rows, source_freshness
from monitor.records import JobRun, Source, SourceAlert, utc_now
from monitor.sources import SourceError, add_source, source_summary, update_source
from monitor.vocabulary import AlertStatus, Role
from web.access import require_role
from web.alert_errors import alert_error_text
from web.background import start_job
from web.forms import BackfillForm, RunNowForm, SourceForm, UploadForm
from web.storage import database, db

logger = logging.getLogger(__name__)

bp = Blueprint("sources", __name__, url_prefix="/sources")

UPLOAD_SUFFIXES = {".csv", ".txt", *SPREADSHEET_SUFFIXES}
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
RUNS_PER_PAGE = 50
JOB_KINDS = ("ingest", "score", "backfill")


@bp.get("/")
def index() -> ResponseReturnValue:
    rows = source_freshness(db(), utc_now())
    runs = {row["source"].id: recent_runs(db(), row["source"].id, limit=5) for row in rows}
    alerts = {
        alert.source_id: alert
        for alert in db().scalars(
            select(SourceAlert).where(SourceAlert.status != AlertStatus.RESOLVED)
        )
    }
    return render_template(
        "sources/index.html",
        rows=rows,
        runs=runs,
        alerts=alerts,
        run_form=RunNowForm(),
        upload_form=_upload(),
    )


@bp.route("/new", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def new() -> ResponseReturnValue:
    """Add a source (admins); recorded in the audit log with its reason."""
    form = SourceForm()
    if form.validate_on_submit() and (options := _options(form)) is not None:
        try:
            source = add_source(
                db(),
                name=form.name.data or "",
                kind=form.kind.data or "",
                location=form.location.data or "",
                cron=form.cron.data or None,
                enabled=bool(form.enabled.data),
                policy=form.policy.data or "",
                options=options,
            )
        except SourceError as exc:
            form.form_errors.append(alert_error_text(exc))
        else:
            _audit("source.add", source, None, form.reason.data or "")
            db().commit()
            flash(gettext("Source %(name)s added.", name=source.name), "success")
            return redirect(url_for("sources.index"))
    return render_template("sources/edit.html", form=form, source=None)


@bp.route("/<int:source_id>/edit", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def edit(source_id: int) -> ResponseReturnValue:
    """Change a source (admins): where, how and when it is pulled, and whether at all."""
    source = db().get(Source, source_id) or abort(404)
    if source.kind == "demo":
        abort(404)
    before = source_summary(source)
    form = SourceForm(obj=source) if request.method == "GET" else SourceForm()
    if request.method == "GET":
        form.options.data = json.dumps(source.options or {}, ensure_ascii=False, indent=2)
    form.name.data = source.name
    if form.validate_on_submit() and (options := _options(form)) is not None:
        try:
            update_source(
                db(),
                source.name,
                kind=form.kind.data or "",
                location=form.location.data or "",
                cron=form.cron.data or None,
                enabled=bool(form.enabled.data),
                policy=form.policy.data or "",
                options=options,
            )
        except SourceError as exc:
            db().rollback()
            form.form_errors.append(alert_error_text(exc))
        else:
            _audit("source.update", source, before, form.reason.data or "")
            db().commit()
            flash(gettext("Source %(name)s saved.", name=source.name), "success")
            return redirect(url_for("sources.index"))
    return render_template("sources/edit.html", form=form, source=source)


def _options(form: SourceForm) -> dict[str, Any] | None:
    """The connector settings typed as JSON; None (with the error on the form) if invalid."""
    text = (form.options.data or "").strip()
    if not text:
        return {}
    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        form.options.errors = [gettext("Not valid JSON: %(error)s", error=exc.msg)]
        return None
    if not isinstance(options, dict):
        form.options.errors = [gettext("The settings must be a JSON object.")]
        return None
    return options


def _audit(action: str, source: Source, before: dict[str, Any] | None, reason: str) -> None:
    record_change(
        db(),
        actor=current_user.username,
        action=action,
        target_kind="source",
        target_id=source.id,
        before=before,
        after=source_summary(source),
        reason=reason,
    )


def _upload() -> UploadForm:
    form = UploadForm()
    form.source.choices = [
        (str(source.id), source.name)
        for source in db().scalars(
            select(Source).where(Source.kind != "demo").order_by(Source.name)
        )
    ]
    return form


@bp.get("/runs/<int:run_id>")
def run(run_id: int) -> ResponseReturnValue:
    job_run = db().get(JobRun, run_id) or abort(404)
    try:
        page_number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        abort(400)
    return render_template(
        "sources/run.html",
        run=job_run,
        live=_shown(run_progress(database(), run_id)),
        rejected=rejected_rows(db(), run_id, page_number),
    )


@bp.get("/runs/")
def runs() -> ResponseReturnValue:
    """Every job run, newest first (ingests, scoring cycles, backfills), paged by id."""
    job = request.args.get("job") or None
    if job is not None and job not in JOB_KINDS:
        abort(400)
    try:
        before = int(request.args["before"]) if request.args.get("before") else None
    except ValueError:
        abort(400)
    page = recent_job_runs(database(), job=job, before=before, limit=RUNS_PER_PAGE + 1)
    names = {source_id: name for source_id, name in db().execute(select(Source.id, Source.name))}
    return render_template(
        "sources/runs.html",
        runs=[_shown(run) for run in page[:RUNS_PER_PAGE]],
        more=len(page) > RUNS_PER_PAGE,
        job=job,
        job_kinds=JOB_KINDS,
        names=names,
        backfill_form=_backfill(),
    )


def _shown(run: dict[str, Any]) -> dict[str, Any]:
    """A job run's dictionary with its times as datetimes, for the templates."""
    return {
        **run,
        "started_at": datetime.fromisoformat(run["started_at"]),
        "eta_at": datetime.fromisoformat(run["eta"]) if run["eta"] else None,
    }


@bp.get("/runs/<int:run_id>/progress")
def run_progress_json(run_id: int) -> ResponseReturnValue:
    """A run's status, progress and estimated end, polled by the job pages."""
    db().get(JobRun, run_id) or abort(404)
    return jsonify(run_progress(database(), run_id))


def _backfill() -> BackfillForm:
    form = BackfillForm()
    form.sources.choices = [
        (source.name, source.name)
        for source in db().scalars(
            select(Source).where(Source.kind.not_in(["push", "demo"])).order_by(Source.name)
        )
    ]
    return form


@bp.post("/backfill")
@require_role(Role.OPERATOR)
def backfill() -> ResponseReturnValue:
    """Start a backfill in the background; its run shows progress on the runs page."""
    form = _backfill()
    if not form.validate_on_submit():
        _flash_errors(form.errors)
        return redirect(url_for("sources.runs"))
    try:
        first, last = parse_period(form.first.data, "M"), parse_period(form.last.data, "M")
    except PeriodError as exc:
        flash(gettext("Not a period: %(error)s", error=str(exc)), "error")
        return redirect(url_for("sources.runs"))
    if last < first:
        flash(gettext("The first period must not be after the last."), "error")
        return redirect(url_for("sources.runs"))
    db().rollback()
    run_id = open_run(database(), "backfill")
    start_job(
        f"backfill-{run_id}",
        run_backfill,
        database(),
        first,
        last,
        sources=list(form.sources.data or []) or None,
        run_id=run_id,
    )
    flash(gettext("Backfill #%(id)s started.", id=run_id), "success")
    return redirect(url_for("sources.run", run_id=run_id))


@bp.post("/<int:source_id>/run")
@require_role(Role.OPERATOR)
def run_now(source_id: int) -> ResponseReturnValue:
    """Pull the source in the background; its run appears on the runs page at once."""
    source = db().get(Source, source_id) or abort(404)
    if not RunNowForm().validate_on_submit():
        abort(400)
    name = source.name
    db().rollback()
    start_job(f"source-{source_id}", pull_and_score, database(), source_id)
    flash(gettext("Source %(name)s started; its run is listed below.", name=name), "success")
    return redirect(url_for("sources.runs"))


def _flash_errors(errors: dict[str, list[str]]) -> None:
    for messages in errors.values():
        for error in messages:
            flash(str(error), "error")


@bp.post("/upload")
@require_role(Role.OPERATOR)
def upload() -> ResponseReturnValue:
    form = _upload()
    if not form.validate_on_submit():
        _flash_errors(form.errors)
        return redirect(url_for("sources.index"))
    source = db().get(Source, int(form.source.data)) or abort(404)
    name = source.name
    file = form.file.data
    filename = secure_filename(file.filename or "") or "upload.csv"
    if Path(filename).suffix.lower() not in UPLOAD_SUFFIXES:
        flash(gettext("Upload a CSV or Excel (.xlsx) file."), "error")
        return redirect(url_for("sources.index"))
    folder = Path(current_app.extensions["clusterwatch_settings"].data_dir) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(8)}-{filename}"
    file.save(path)
    db().rollback()
    try:
        report = ingest_file(database(), path, source_name=name)
    except ClusterWatchError as exc:
        logger.warning("upload %s for %s failed: %s", filename, name, exc)
        flash(gettext("The file could not be read: %(error)s", error=str(exc)), "error")
        return redirect(url_for("sources.index"))
    if report.changed:
        score_indicators(database(), changed=report.changed)
    flash(
        gettext(
            "%(file)s: %(accepted)d rows stored, %(rejected)d rejected.",
            file=filename,
            accepted=report.accepted,
            rejected=report.rejected,
        ),
        "success" if not report.rejected else "info",
    )
    return redirect(url_for("sources.run", run_id=report.job_run_id))
