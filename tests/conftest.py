"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when configured), a clock."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import URL, create_engine, make_url, text

from monitor.db import Database, forget_databases
from monitor.migrate import upgrade

PG_URL_VAR = "CLUSTERWATCH_TEST_DATABASE_URL"


def _reset_postgres(url: str) -> Database:
    """Empty the ``public`` schema of the database at ``url`` (the configured test database)."""
    database = Database(url)
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    return database


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, made once per run; each test gets a copy of it."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    template = Database(f"sqlite:///{path}")
    upgrade(template)
    template.dispose()  # the last connection checkpoints the WAL into the file
    return path


def _sqlite_copy(template: Path, folder: Path) -> Database:
    target = folder / "test.db"
    shutil.copyfile(template, target)
    return Database(f"sqlite:///{target}")


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[URL | None]:
    """A migrated PostgreSQL template database on the configured server, made once per run.

    Each test gets a fresh database created from it, which costs far less than migrating.
    """
    url = os.environ.get(PG_URL_VAR)
    if not url:
        yield None
        return
    server = make_url(url)
    template_name, _ = _postgres_names(server)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {template_name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {template_name}"))
    template_url = server.set(database=template_name)
    template = Database(template_url.render_as_string(hide_password=False))
    upgrade(template)
    template.dispose()
    yield server
    with admin.connect() as connection:
        for name in _postgres_names(server):
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def _postgres_names(server: URL) -> tuple[str, str]:
    """The template and per-test databases, named after the configured one."""
    return f"{server.database}_template", f"{server.database}_copy"


def _postgres_copy(server: URL) -> Database:
    template_name, copy_name = _postgres_names(server)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {copy_name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {copy_name} TEMPLATE {template_name}"))
    admin.dispose()
    return Database(server.set(database=copy_name).render_as_string(hide_password=False))


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    postgres_template: URL | None,
) -> Iterator[Database]:
    """A freshly migrated database on each backend: SQLite always, PostgreSQL if configured.

    Storage and pipeline tests use this fixture so they run on both backends.
    """
    if request.param == "sqlite":
        database = _sqlite_copy(sqlite_template, tmp_path)
    elif postgres_template is None:
        pytest.skip(f"{PG_URL_VAR} is not set")
    else:
        database = _postgres_copy(postgres_template)
    yield database
    database.dispose()
    forget_databases()


@pytest.fixture
def database(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """A freshly migrated SQLite database in the test's own folder."""
    database = _sqlite_copy(sqlite_template, tmp_path)
    yield database
    database.dispose()
    forget_databases()


@pytest.fixture
def now() -> datetime:
    """A fixed 'now' for tests that inject a clock."""
    return datetime(2024, 7, 1, 8, 0, tzinfo=UTC)
