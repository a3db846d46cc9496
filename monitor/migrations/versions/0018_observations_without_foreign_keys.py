"""observations without foreign keys: ids come from the catalogue, never from a row

Ingestion resolves every entity and indicator code of a row against the catalogue and
rejects (and stores, with its reason) a row whose code is unknown; the job run is the
ingest's own. No row from outside carries an id, entities, indicators and job runs are
never deleted, so the three checks per row only repeated what ingestion had checked.
They were more than half of a first load's time on PostgreSQL (10,000 firms x 36
months: 23.7 k rows/s with them, 45.6 k without, same machine, back to back, with
``python -m bench.cycle --stage ingest``) and about a seventh on SQLite.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite's foreign keys have no names: batch mode names them by this convention to drop them.
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
REFERENCES = (("entity_id", "entities"), ("indicator_id", "indicators"), ("job_run_id", "job_runs"))


def _name(column: str, table: str) -> str:
    return f"fk_observations_{column}_{table}"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column, _table in REFERENCES:
            op.drop_constraint(f"observations_{column}_fkey", "observations", type_="foreignkey")
        return
    with op.batch_alter_table("observations", naming_convention=NAMING) as batch:
        for column, table in REFERENCES:
            batch.drop_constraint(_name(column, table), type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column, table in REFERENCES:
            op.create_foreign_key(
                f"observations_{column}_fkey", "observations", table, [column], ["id"]
            )
        return
    with op.batch_alter_table("observations") as batch:
        for column, table in REFERENCES:
            batch.create_foreign_key(_name(column, table), table, [column], ["id"])
