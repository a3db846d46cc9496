"""The OpenAPI 3.1 document of ``/api/v1``; a test checks it against the registered routes."""

from __future__ import annotations

from typing import Any

BEARER = [{"bearer": []}]
FILTER_NAMES = (
    "level",
    "dimension",
    "severity",
    "status",
    "model",
    "entity",
    "region",
    "cluster",
    "period_from",
    "period_to",
    "sort",
    "per_page",
)
CURSOR_NAMES = {
    "after": "next_cursor of the previous page: the page after it (same filters and sort)",
    "before": "prev_cursor of the previous page: the page before it (same filters and sort)",
}


def _query(name: str, description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": "string"}} | (
        {"description": description} if description else {}
    )


def _path(name: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


def _ok(description: str) -> dict[str, Any]:
    return {
        "200": {"description": description, "content": {"application/json": {}}},
        "401": {"description": "missing or invalid bearer token"},
    }


NOTE_BODY = {
    "required": False,
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"note": {"type": "string"}}}
        }
    },
}
THRESHOLD_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["reason"],
                "properties": {
                    "direction": {"type": ["string", "null"], "enum": ["up", "down", "both", None]},
                    "blue": {"type": "number"},
                    "yellow": {"type": "number"},
                    "orange": {"type": "number"},
                    "red": {"type": "number"},
                    "clear": {"type": ["number", "null"]},
                    "min_periods": {"type": "integer", "minimum": 1},
                    "reason": {"type": "string"},
                },
            }
        }
    },
}


def document() -> dict[str, Any]:
    """The whole OpenAPI document."""
    alert_id = [_path("alert_id", "integer")]
    paging = [_query("page"), _query("per_page")]
    return {
        "openapi": "3.1.0",
        "info": {"title": "ClusterWatch API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": BEARER,
        "paths": {
            "/alerts": {
                "get": {
                    "summary": "Alerts matching the filters, newest first, one keyset page",
                    "parameters": [_query(name) for name in FILTER_NAMES]
                    + [_query(name, text) for name, text in CURSOR_NAMES.items()]
                    + [_query("lang")],
                    "responses": _ok("a page of alerts"),
                }
            },
            "/alerts/{alert_id}": {
                "get": {
                    "summary": "One alert with its events",
                    "parameters": alert_id,
                    "responses": _ok("the alert") | {"404": {"description": "no such alert"}},
                }
            },
            "/alerts/{alert_id}/acknowledge": {
                "post": {
                    "summary": "Acknowledge a firing alert (operators)",
                    "parameters": alert_id,
                    "requestBody": NOTE_BODY,
                    "responses": _ok("the acknowledged alert")
                    | {"409": {"description": "the alert is not firing"}},
                }
            },
            "/alerts/{alert_id}/resolve": {
                "post": {
                    "summary": "Resolve an open alert (operators)",
                    "parameters": alert_id,
                    "requestBody": NOTE_BODY,
                    "responses": _ok("the resolved alert")
                    | {"409": {"description": "the alert is already resolved"}},
                }
            },
            "/stages": {
                "get": {
                    "summary": "Each staged entity's current stage, since when, life cycle",
                    "responses": _ok("stages"),
                }
            },
            "/entities": {
                "get": {
                    "summary": "Monitored entities",
                    "parameters": [_query("level"), *paging],
                    "responses": _ok("a page of entities"),
                }
            },
            "/indicators": {
                "get": {
                    "summary": "Indicators",
                    "parameters": [_query("level"), _query("dimension"), *paging],
                    "responses": _ok("a page of indicators"),
                }
            },
            "/series/{indicator_code}/{entity_code}": {
                "get": {
                    "summary": "Observed values of one indicator for one entity",
                    "parameters": [_path("indicator_code"), _path("entity_code")],
                    "responses": _ok("the series") | {"404": {"description": "unknown code"}},
                }
            },
            "/thresholds": {
                "get": {
                    "summary": "Threshold rows",
                    "parameters": [_query("level"), _query("dimension"), _query("model")],
                    "responses": _ok("threshold rows"),
                }
            },
            "/thresholds/{threshold_id}": {
                "put": {
                    "summary": "Change a threshold row with a reason (admins; audited)",
                    "parameters": [_path("threshold_id", "integer")],
                    "requestBody": THRESHOLD_BODY,
                    "responses": _ok("the changed row")
                    | {"400": {"description": "invalid setting or no reason"}},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "the OpenAPI document"}},
                }
            },
        },
    }
