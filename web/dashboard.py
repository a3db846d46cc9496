"""The landing page: open warnings by level x dimension, their trend, stages, newest
alerts and how fresh each source's data is."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from monitor.queries import (
    TREND_PERIODS,
    alert_trend,
    newest_open_alerts,
    open_alert_counts,
    source_freshness,
    stage_counts,
    worst_open_severity,
)
from monitor.records import utc_now
from monitor.vocabulary import Severity
from web.kept_answers import alerts_version, kept_answers
from web.storage import db

bp = Blueprint("dashboard", __name__)

NEWEST = 8
SUMMARY = "dashboard summary"


def _alert_summary() -> tuple[dict[str, Any], dict[Any, Any]]:
    """Open alerts by level, dimension and colour, and the monthly trend: counted once
    per change of the alerts, not per page view (see ``web.kept_answers``)."""
    return kept_answers().get(
        SUMMARY, alerts_version(db()), lambda: (open_alert_counts(db()), alert_trend(db()))
    )


@bp.get("/")
def index() -> ResponseReturnValue:
    counts, trend = _alert_summary()
    heat = {
        level: {
            dimension: {"worst": worst_open_severity(cell), "total": sum(cell.values())}
            for dimension, cell in row.items()
        }
        for level, row in counts.items()
    }
    by_colour = {severity.value: 0 for severity in Severity}
    for row in counts.values():
        for cell in row.values():
            for severity, count in cell.items():
                by_colour[severity] = by_colour.get(severity, 0) + count
    newest = newest_open_alerts(db(), NEWEST)
    return render_template(
        "dashboard/index.html",
        heat=heat,
        by_colour=by_colour,
        trend=trend,
        trend_periods=TREND_PERIODS,
        trend_max=max((sum(row.values()) for row in trend.values()), default=0),
        stages=stage_counts(db()),
        newest=newest,
        sources=source_freshness(db(), utc_now()),
    )
