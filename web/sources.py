"""Sources and job runs: schedules, the latest runs with row counts and durations, the
rejected rows of a run with their reasons, "run now" and uploading a file."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from sqlalchemy import select
from werkzeug.utils import secure_filename

from monitor.errors import ClusterWatchError
from monitor.ingest import SPREADSHEET_SUFFIXES, ingest_file
from monitor.jobs import pull_and_score
from monitor.pipeline import score_indicators
from monitor.queries import recent_runs, rejected_rows, source_freshness
from monitor.records import JobRun, Source, utc_now
from monitor.vocabulary import Role
from web.access import require_role
from web.forms import RunNowForm, UploadForm
from web.storage import database, db

logger = logging.getLogger(__name__)

bp = Blueprint("sources", __name__, url_prefix="/sources")

UPLOAD_SUFFIXES = {".csv", ".txt", *SPREADSHEET_SUFFIXES}
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


@bp.get("/")
def index() -> ResponseReturnValue:
    rows = source_freshness(db(), utc_now())
    runs = {row["source"].id: recent_runs(db(), row["source"].id, limit=5) for row in rows}
    return render_template(
        "sources/index.html", rows=rows, runs=runs, run_form=RunNowForm(), upload_form=_upload()
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
        "sources/run.html", run=job_run, rejected=rejected_rows(db(), run_id, page_number)
    )


@bp.post("/<int:source_id>/run")
@require_role(Role.OPERATOR)
def run_now(source_id: int) -> ResponseReturnValue:
    source = db().get(Source, source_id) or abort(404)
    if not RunNowForm().validate_on_submit():
        abort(400)
    name = source.name
    db().rollback()
    ingest, _score = pull_and_score(database(), source_id)
    if ingest is None:
        flash(gettext("Source %(name)s did not run; see its last run.", name=name), "error")
        return redirect(url_for("sources.index"))
    flash(
        gettext("Source %(name)s ran: %(read)d rows read.", name=name, read=ingest.read),
        "success",
    )
    return redirect(url_for("sources.run", run_id=ingest.job_run_id))


@bp.post("/upload")
@require_role(Role.OPERATOR)
def upload() -> ResponseReturnValue:
    form = _upload()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
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
