"""Create or upgrade a database to the newest schema with Alembic."""

from __future__ import annotations

import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from monitor.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
#: The PostgreSQL advisory lock that lets one process at a time upgrade a database.
UPGRADE_LOCK_KEY = zlib.crc32(b"clusterwatch schema upgrade") - 2**31


def alembic_config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    return config


def upgrade(database: Database) -> None:
    """Bring the schema to the newest revision (creating every table on a new database).

    On PostgreSQL the upgrade holds a transaction advisory lock, so processes starting
    together (the console and the scheduler of a fresh deployment) upgrade one after the
    other: the second finds the schema current instead of creating the tables again.
    """
    config = alembic_config(database)
    with database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": UPGRADE_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def is_current(database: Database) -> bool:
    """Whether the database is at the newest revision."""
    heads = set(ScriptDirectory.from_config(alembic_config(database)).get_heads())
    with database.engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads()) == heads
