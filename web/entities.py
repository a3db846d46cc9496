"""The entity page: its indicators by dimension with colour and a small chart, its stage
timeline and stage changes, its shocks with their measures, a cluster's life cycle with
the policy the paper recommends, and its open and past alerts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models.resilience import ONGOING, RECOVERED, RELAPSED
from models.stages import CAUSES
from monitor.queries import entity_alerts, entity_indicators, stage_history
from monitor.records import Entity
from monitor.shocks import list_shocks
from monitor.stages import lifecycle_history
from monitor.vocabulary import Level
from web.i18n import current_locale
from web.storage import db

bp = Blueprint("entities", __name__, url_prefix="/entities")

SPARK_WIDTH, SPARK_HEIGHT = 160, 36

#: How a shock episode ended (``models.resilience``) and why it began (``models.stages``).
SHOCK_OUTCOMES = {
    ONGOING: _l("Under way"),
    RECOVERED: _l("Recovered"),
    RELAPSED: _l("Second shock before recovery"),
}
DROP_CAUSE, WARNING_CAUSE, RELAPSE_CAUSE = CAUSES[1:]
SHOCK_CAUSES = {
    DROP_CAUSE: _l("Performance fell"),
    WARNING_CAUSE: _l("Orange or red warning"),
    RELAPSE_CAUSE: _l("Second shock during recovery"),
}


def stage_runs(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stage history as runs of one stage: the stage, its first and last period.

    Newest first, so the page answers "since when" and "when did it enter recovery"
    at a glance.
    """
    runs: list[dict[str, Any]] = []
    for row in history:
        if runs and runs[-1]["stage"] == row["stage"]:
            runs[-1]["last"] = row["period"]
            runs[-1]["periods"] += 1
        else:
            runs.append(
                {
                    "stage": row["stage"],
                    "first": row["period"],
                    "last": row["period"],
                    "periods": 1,
                    "frequency": row["indicator"]["frequency"],
                }
            )
    return runs[::-1]


def sparkline(points: list[tuple[str, float | None]]) -> str:
    """SVG polyline coordinates of a small chart of ``points`` (gaps skipped)."""
    values = [value for _period, value in points if value is not None]
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = SPARK_WIDTH / (len(points) - 1)
    coordinates = [
        f"{index * step:.1f},{SPARK_HEIGHT - 2 - (value - low) / span * (SPARK_HEIGHT - 4):.1f}"
        for index, (_period, value) in enumerate(points)
        if value is not None
    ]
    return " ".join(coordinates)


def _by_dimension(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        row["spark"] = sparkline(row["points"])
        grouped.setdefault(row["indicator"].dimension, []).append(row)
    return grouped


@bp.get("/<code>")
def detail(code: str) -> ResponseReturnValue:
    entity = db().scalar(select(Entity).where(Entity.code == code))
    if entity is None:
        abort(404)
    locale = current_locale()
    stages = stage_history(db(), entity.id)
    lifecycle = (
        lifecycle_history(db(), [entity.id]).get(entity.id, [])
        if entity.level == Level.INDUSTRY
        else []
    )
    return render_template(
        "entities/detail.html",
        entity=entity,
        dimensions=_by_dimension(entity_indicators(db(), entity.id)),
        stages=stages,
        stage_runs=stage_runs(stages),
        shocks=list_shocks(db(), entity_code=entity.code, locale=locale),
        shock_outcomes=SHOCK_OUTCOMES,
        shock_causes=SHOCK_CAUSES,
        lifecycle=lifecycle[::-1],
        open_alerts=entity_alerts(db(), entity.id, open_only=True),
        past_alerts=entity_alerts(db(), entity.id, open_only=False),
        spark_size=(SPARK_WIDTH, SPARK_HEIGHT),
    )
