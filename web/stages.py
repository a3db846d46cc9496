"""The stages page: where each government and industry entity stands in its shock cycle,
a swimlane timeline of every entity's stages over the periods, the life-cycle stage
with its recommended policy for clusters, and each entity's latest shock with its
measures."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue

from monitor.queries import current_stages
from monitor.shocks import list_shocks
from monitor.stages import stage_history_report
from monitor.vocabulary import Level, Stage
from web.entities import SHOCK_CAUSES, SHOCK_OUTCOMES
from web.i18n import current_locale
from web.labels import label
from web.storage import db

bp = Blueprint("stages", __name__, url_prefix="/stages")

STAGE_LEVELS = (Level.GOVERNMENT.value, Level.INDUSTRY.value)
STAGES = tuple(stage.value for stage in Stage)


def swimlanes(history: list[dict[str, Any]], codes: set[str]) -> dict[str, dict[str, Any]]:
    """Per level: the union of periods and, per entity, its stage in each of them."""
    lanes: dict[str, dict[str, Any]] = {}
    for entry in history:
        entity = entry["entity"]
        if entity["code"] not in codes:
            continue
        lane = lanes.setdefault(entity["level"], {"periods": set(), "rows": []})
        stages = {step["period"]: step["stage"] for step in entry["periods"]}
        lane["periods"].update(stages)
        lifecycle = entry["lifecycle"][-1] if entry["lifecycle"] else None
        lane["rows"].append({"entity": entity, "stages": stages, "lifecycle": lifecycle})
    for lane in lanes.values():
        lane["periods"] = sorted(lane["periods"])
    return lanes


def latest_shocks(shocks: list[dict[str, Any]], codes: set[str]) -> list[dict[str, Any]]:
    """The latest shock of each entity in ``codes``, under way ones first, newest first."""
    latest: dict[str, dict[str, Any]] = {}
    for shock in shocks:
        code = shock["entity"]["code"]
        if code in codes and (code not in latest or shock["start"] > latest[code]["start"]):
            latest[code] = shock
    return sorted(
        latest.values(), key=lambda shock: (shock["end"] is None, shock["start"]), reverse=True
    )


@bp.get("/")
def index() -> ResponseReturnValue:
    level = request.args.get("level") or None
    stage = request.args.get("stage") or None
    if (level and level not in STAGE_LEVELS) or (stage and stage not in STAGES):
        abort(400)
    locale = current_locale()
    rows = current_stages(db(), (level,) if level else STAGE_LEVELS, stage=stage, locale=locale)
    codes = {row["entity"]["code"] for row in rows}
    lanes = swimlanes(stage_history_report(db(), locale=locale), codes)
    return render_template(
        "stages/index.html",
        rows=rows,
        lanes=lanes,
        shocks=latest_shocks(list_shocks(db(), locale=locale), codes),
        shock_outcomes=SHOCK_OUTCOMES,
        shock_causes=SHOCK_CAUSES,
        level=level,
        stage=stage,
        level_choices=[(value, label("level", value)) for value in STAGE_LEVELS],
        stage_names={value: label("stage", value) for value in STAGES},
    )
