"""The data behind an alert's chart: the series as its model saw it, cut-offs, fired points."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from sqlalchemy.orm import Session

from monitor.queries import iso_period, series, series_scores, thresholds_for
from monitor.records import Alert, Threshold
from monitor.vocabulary import (
    SEVERITY_ORDER,
    STALE_DATA_MODEL,
    Direction,
    EventKind,
    ModelKind,
)
from web.labels import label

SEVERITY_COLOURS = {
    "blue": "#1e6fd9",
    "yellow": "#e6b800",
    "orange": "#f08c00",
    "red": "#d62828",
}


def _score_title(alert: Alert) -> str:
    if alert.model == STALE_DATA_MODEL:
        return gettext(
            "Stale data: no value has arrived for the periods after the last observed one"
        )
    if alert.model != ModelKind.THRESHOLD:  # a model's own score: its name says what it is
        return label("model", alert.model)
    transform = label("transform", alert.indicator.transform)
    return gettext("Value the threshold model compares: %(transform)s", transform=transform)


def threshold_lines(threshold: Threshold | None, direction: str) -> list[dict[str, Any]]:
    """One horizontal line per colour (mirrored below zero when both directions count)."""
    if threshold is None:
        return []
    lines = []
    for severity, value in zip(SEVERITY_ORDER, threshold.cutoffs(), strict=True):
        line = {
            "severity": severity.value,
            "label": label("severity", severity),
            "value": value,
            "color": SEVERITY_COLOURS[severity],
        }
        lines.append(line)
        if direction == Direction.BOTH and value != 0:
            lines.append({**line, "value": -value})
    return lines


def fired_points(alert: Alert, scores: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The scored periods in the alert's lifetime that carried a colour, opening first."""
    start = iso_period(alert.period)
    end = iso_period(alert.resolved_period or alert.last_period)
    points = [
        {"period": row["period"], "value": row["score"], "severity": row["severity"]}
        for row in scores
        if row["severity"] and row["score"] is not None and start <= row["period"] <= end
    ]
    if alert.value is not None and all(point["period"] != start for point in points):
        opened = next((e for e in alert.events if e.kind == EventKind.OPENED), None)
        severity = (opened.to_severity if opened else None) or alert.worst_severity
        points.insert(0, {"period": start, "value": alert.value, "severity": severity})
    for point in points:
        point["color"] = SEVERITY_COLOURS.get(point["severity"], SEVERITY_COLOURS["red"])
        point["label"] = label("severity", point["severity"])
    return points


def alert_chart(session: Session, alert: Alert, locale: str) -> dict[str, Any]:
    """Everything the alert page draws: score panel with cut-offs and fired points, raw panel."""
    indicator = alert.indicator
    scores = series_scores(session, alert.indicator_id, alert.entity_id, alert.model)
    threshold = thresholds_for(session, indicator, alert.model)
    direction = (threshold.direction if threshold else None) or indicator.direction
    observed = series(session, indicator.code, alert.entity.code)
    unit = f" ({indicator.unit})" if indicator.unit else ""
    return {
        "alert_id": alert.id,
        "model": alert.model,
        "direction": direction,
        "synthetic": alert.synthetic
        or alert.entity.synthetic
        or any(row["synthetic"] for row in observed),
        "score": {
            "title": _score_title(alert),
            "name": label("model", alert.model),
            "points": [[row["period"], row["score"]] for row in scores],
        },
        "lines": threshold_lines(threshold, direction),
        "clear": threshold.clear if threshold else None,
        "fired": fired_points(alert, scores) if alert.model != STALE_DATA_MODEL else [],
        "observed": {
            "title": gettext("Observed values") + unit,
            "name": indicator.name(locale),
            "points": [[row["period"], row["value"]] for row in observed],
        },
        "labels": {"fired": gettext("Fired"), "clear": gettext("Clearing level")},
    }
