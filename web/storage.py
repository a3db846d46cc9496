"""One database session per request, closed (and rolled back if uncommitted) at teardown."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from monitor.db import Database

EXTENSION = "clusterwatch"


def database() -> Database:
    """The application's ``Database``."""
    return current_app.extensions[EXTENSION]


def db() -> Session:
    """This request's session; views commit it themselves after a change."""
    if "db_session" not in g:
        g.db_session = database().sessions()
    return g.db_session


def _close_session(_error: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()


def init_app(app: Flask, database: Database) -> None:
    app.extensions[EXTENSION] = database
    app.teardown_appcontext(_close_session)
