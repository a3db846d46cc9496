"""scores without foreign keys: derived rows, written by the million

A score is derived from an observation by the pipeline, which is its only writer and takes
its entity and indicator ids from the catalogue; entities and indicators are never deleted,
and a rescoring rebuilds every score. The two foreign-key checks per row were two thirds of
the time spent writing a month's scores: 38 s of a 100,000-firm cycle against 18 s without
them on PostgreSQL (``python -m bench.cycle --stage cycle --parts``). Observations, which
come from outside, keep theirs.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite's foreign keys have no names: batch mode names them by this convention to drop them.
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
REFERENCES = (("entity_id", "entities"), ("indicator_id", "indicators"))


def _name(column: str, table: str) -> str:
    return f"fk_scores_{column}_{table}"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column, _table in REFERENCES:
            op.drop_constraint(f"scores_{column}_fkey", "scores", type_="foreignkey")
        return
    with op.batch_alter_table("scores", naming_convention=NAMING) as batch:
        for column, table in REFERENCES:
            batch.drop_constraint(_name(column, table), type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column, table in REFERENCES:
            op.create_foreign_key(f"scores_{column}_fkey", "scores", table, [column], ["id"])
        return
    with op.batch_alter_table("scores") as batch:
        for column, table in REFERENCES:
            batch.create_foreign_key(_name(column, table), table, [column], ["id"])
