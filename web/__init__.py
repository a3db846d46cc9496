"""The ClusterWatch console: a Flask application assembled by ``create_app``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from monitor.config import PREFIX, Settings
from monitor.db import Database
from web import (
    access,
    alerting_rules,
    alerts,
    api,
    auth,
    badges,
    channels,
    dashboard,
    entities,
    episodes,
    errors,
    headers,
    health,
    i18n,
    playbooks,
    silences,
    sources,
    stages,
    storage,
    thresholds,
    tokens,
    users,
)

# Overrides that are also settings: passing them spares reading the environment for them.
SETTING_OVERRIDES = ("DATABASE_URL", "SECRET_KEY", "DATA_DIR")


def _environment(overrides: Mapping[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    for key in SETTING_OVERRIDES:
        if overrides.get(key):
            env[PREFIX + key] = str(overrides[key])
    return env


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the console from ``CLUSTERWATCH_*`` settings, then apply ``overrides`` to config."""
    overrides = dict(overrides or {})
    settings = Settings.from_env(_environment(overrides))
    app = Flask(__name__)
    app.config.from_mapping(
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=50 * 1024 * 1024,
    )
    app.config.update(overrides)
    app.extensions["clusterwatch_settings"] = settings
    storage.init_app(app, Database(app.config["DATABASE_URL"]))
    i18n.init_app(app)
    badges.init_app(app)
    access.init_app(app)
    csrf = CSRFProtect(app)
    csrf.exempt(api.bp)  # the API authenticates with bearer tokens, not cookies
    for blueprint in (
        auth.bp,
        dashboard.bp,
        alerts.bp,
        entities.bp,
        stages.bp,
        thresholds.bp,
        health.bp,
        sources.bp,
        api.bp,
        users.bp,
        channels.bp,
        alerting_rules.bp,
        silences.bp,
        playbooks.bp,
        episodes.bp,
        tokens.bp,
    ):
        app.register_blueprint(blueprint)
    app.add_url_rule("/", "home", dashboard.index)
    errors.init_app(app)
    headers.init_app(app)
    return app
