"""threshold params: the model's own parameters on a threshold row

A threshold row may name any model of the library the pipeline runs (EWMA, CUSUM,
seasonal residual, shifts, novelty, ensemble); ``params`` carries that detector's
parameters (a window, an allowance, a smoothing weight) as JSON.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("thresholds") as batch:
        batch.add_column(sa.Column("params", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("thresholds") as batch:
        batch.drop_column("params")
