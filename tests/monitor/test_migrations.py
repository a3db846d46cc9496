"""The Alembic history builds exactly the schema the ORM mappings describe."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SAWarning

from monitor.db import Database, forget_databases
from monitor.migrate import UPGRADE_LOCK_KEY, alembic_config, is_current, upgrade
from monitor.records import Base
from tests.conftest import PG_URL_VAR

ROOT = Path(__file__).resolve().parents[2]


def test_the_migration_history_has_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config(Database("sqlite://")))
    assert len(script.get_heads()) == 1


def test_migrated_schema_matches_the_mappings(any_database: Database) -> None:
    with any_database.engine.connect() as connection, warnings.catch_warnings():
        # Expression indexes cannot be reflected on every dialect; Alembic says so loudly.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", SAWarning)
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    assert is_current(any_database)


@pytest.fixture
def empty_postgres() -> Iterator[Database]:
    """The configured PostgreSQL test database with an empty ``public`` schema."""
    url = os.environ.get(PG_URL_VAR)
    if not url:
        pytest.skip(f"{PG_URL_VAR} is not set")
    database = Database(url)
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    yield database
    database.dispose()
    forget_databases()


def test_an_upgrade_waits_while_another_process_holds_the_upgrade_lock(
    empty_postgres: Database,
) -> None:
    upgrading = threading.Thread(target=upgrade, args=(empty_postgres,))
    with empty_postgres.engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": UPGRADE_LOCK_KEY})
        upgrading.start()
        upgrading.join(timeout=1.5)
        assert upgrading.is_alive()
        holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": UPGRADE_LOCK_KEY})
        holder.commit()
    upgrading.join(timeout=60)
    assert not upgrading.is_alive()
    assert is_current(empty_postgres)


def test_two_processes_upgrading_a_new_database_together_both_succeed(
    empty_postgres: Database,
) -> None:
    # as the console and the scheduler of a fresh deployment do, each with `clusterwatch init`
    environment = {**os.environ, "CLUSTERWATCH_DATABASE_URL": empty_postgres.url}
    command = [sys.executable, "-c", "from monitor.cli import main; main()", "init"]
    processes = [
        subprocess.Popen(command, env=environment, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], errors
    assert is_current(empty_postgres)
