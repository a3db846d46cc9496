"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when configured), a clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.db import Database, forget_databases
from monitor.migrate import upgrade

PG_URL_VAR = "CLUSTERWATCH_TEST_DATABASE_URL"


def _reset_postgres(url: str) -> Database:
    database = Database(url)
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    return database


def _backends() -> list[str]:
    return ["sqlite", "postgresql"]


@pytest.fixture(params=_backends())
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A freshly migrated database on each backend: SQLite always, PostgreSQL if configured.

    Storage and pipeline tests use this fixture so they run on both backends.
    """
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'test.db'}")
    else:
        url = os.environ.get(PG_URL_VAR)
        if not url:
            pytest.skip(f"{PG_URL_VAR} is not set")
        database = _reset_postgres(url)
    upgrade(database)
    yield database
    database.dispose()
    forget_databases()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    """A freshly migrated SQLite database in the test's own folder."""
    database = Database(f"sqlite:///{tmp_path / 'test.db'}")
    upgrade(database)
    yield database
    database.dispose()
    forget_databases()


@pytest.fixture
def now() -> datetime:
    """A fixed 'now' for tests that inject a clock."""
    return datetime(2024, 7, 1, 8, 0, tzinfo=UTC)
