"""The Alembic history builds exactly the schema the ORM mappings describe."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import SAWarning

from monitor.db import Database
from monitor.migrate import alembic_config, is_current
from monitor.records import Base


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
