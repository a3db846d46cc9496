"""The stage table: where each government and industry entity stands in its shock cycle."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue

from monitor.queries import current_stages
from monitor.vocabulary import Level, Stage
from web.i18n import current_locale
from web.labels import label
from web.storage import db

bp = Blueprint("stages", __name__, url_prefix="/stages")

STAGE_LEVELS = (Level.GOVERNMENT.value, Level.INDUSTRY.value)
STAGES = tuple(stage.value for stage in Stage)


@bp.get("/")
def index() -> ResponseReturnValue:
    level = request.args.get("level") or None
    stage = request.args.get("stage") or None
    if (level and level not in STAGE_LEVELS) or (stage and stage not in STAGES):
        abort(400)
    rows = current_stages(
        db(), (level,) if level else STAGE_LEVELS, stage=stage, locale=current_locale()
    )
    return render_template(
        "stages/index.html",
        rows=rows,
        level=level,
        stage=stage,
        level_choices=[(value, label("level", value)) for value in STAGE_LEVELS],
    )
