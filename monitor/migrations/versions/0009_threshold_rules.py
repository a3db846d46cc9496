"""threshold rules: transform steps and "n of the last m" confirmation on thresholds

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("thresholds") as batch:
        batch.add_column(sa.Column("steps", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("confirm", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("thresholds") as batch:
        batch.drop_column("confirm")
        batch.drop_column("steps")
