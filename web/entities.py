"""The entity page: its indicators by dimension with colour and a small chart, its stage
timeline, its shocks with their measures, and its open and past alerts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from monitor.queries import entity_alerts, entity_indicators, stage_history
from monitor.records import Entity
from monitor.shocks import list_shocks
from web.i18n import current_locale
from web.storage import db

bp = Blueprint("entities", __name__, url_prefix="/entities")

SPARK_WIDTH, SPARK_HEIGHT = 160, 36


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
    return render_template(
        "entities/detail.html",
        entity=entity,
        dimensions=_by_dimension(entity_indicators(db(), entity.id)),
        stages=stage_history(db(), entity.id),
        shocks=list_shocks(db(), entity_code=entity.code, locale=locale),
        open_alerts=entity_alerts(db(), entity.id, open_only=True),
        past_alerts=entity_alerts(db(), entity.id, open_only=False),
        spark_size=(SPARK_WIDTH, SPARK_HEIGHT),
    )
