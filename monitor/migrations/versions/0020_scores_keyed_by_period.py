"""scores keyed (indicator, model, period, entity), plus a small index by entity

The primary key started with (indicator, entity), so each new month's 1.2 million
scores of 100,000 firms went into every leaf page of a 25-million-row key, and a second
index (0013) held the same columns in period order for the cycle's own questions. The
period order becomes the key (a new month appends to it) and the entity's own reads (its
page, its alerts' messages, its stages) get an index on the entity alone, which
PostgreSQL stores deduplicated: one entry per entity and leaf page instead of one per
score.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BY_PERIOD = ["indicator_id", "model", "period", "entity_id"]
BY_ENTITY = ["indicator_id", "entity_id", "model", "period"]


def upgrade() -> None:
    _switch("ix_score_model_period", BY_PERIOD, ("ix_scores_entity_id", ["entity_id"]))


def downgrade() -> None:
    _switch("ix_scores_entity_id", BY_ENTITY, ("ix_score_model_period", BY_PERIOD))


def _switch(dropped: str, key: list[str], index: tuple[str, list[str]]) -> None:
    """Drop index ``dropped``, key the scores by ``key``, create ``index`` (name, columns)."""
    op.drop_index(dropped, table_name="scores")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("scores_pkey", "scores", type_="primary")
        op.create_primary_key("scores_pkey", "scores", key)
    else:
        _sqlite_key(key)
    op.create_index(index[0], "scores", index[1])


def _sqlite_key(columns: list[str]) -> None:
    """SQLite cannot alter a primary key: the table is rebuilt with ``columns`` as its key."""
    op.execute(
        "CREATE TABLE scores_rekeyed (indicator_id INTEGER NOT NULL, entity_id INTEGER NOT "
        "NULL, model VARCHAR(32) NOT NULL, period DATE NOT NULL, score FLOAT, severity "
        f"VARCHAR(8), PRIMARY KEY ({', '.join(columns)}))"
    )
    op.execute(
        "INSERT INTO scores_rekeyed SELECT indicator_id, entity_id, model, period, score, "
        "severity FROM scores"
    )
    op.execute("DROP TABLE scores")
    op.execute("ALTER TABLE scores_rekeyed RENAME TO scores")
