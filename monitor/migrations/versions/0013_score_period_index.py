"""scores: an index by (indicator, model, period, entity) for incremental cycles

A new month asks the scores table "the last period of this model", "the scores of the
period before, for this chunk of firms" and "anything from this period on?". The
primary key starts with the entity, so each of those read every stored score of the
indicator; this index answers them from the periods asked for.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_score_model_period", "scores", ["indicator_id", "model", "period", "entity_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_score_model_period", table_name="scores")
