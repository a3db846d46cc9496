"""sources: source policy and options, job-run progress, observation flags and vintages,
claimed scheduler fires

Revision ID: 0007
Revises: 0001

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(
            sa.Column("policy", sa.String(length=16), nullable=False, server_default="quarantine")
        )
        batch.add_column(sa.Column("options", sa.JSON(), nullable=True))
    with op.batch_alter_table("job_runs") as batch:
        batch.add_column(sa.Column("progress", sa.Float(), nullable=True))
        batch.add_column(sa.Column("eta", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("observations") as batch:
        batch.add_column(sa.Column("flag", sa.String(length=16), nullable=True))
    op.create_table(
        "observation_vintages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("flag", sa.String(length=16), nullable=True),
        sa.Column("retrieved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("job_run_id", sa.Integer(), nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["indicator_id"], ["indicators.id"]),
        sa.ForeignKeyConstraint(["entity_id"], ["entities.id"]),
        sa.ForeignKeyConstraint(["job_run_id"], ["job_runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_vintage_key",
        "observation_vintages",
        ["indicator_id", "entity_id", "period", "retrieved_at"],
    )
    op.create_table(
        "job_fires",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=191), nullable=False),
        sa.Column("fire_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "fire_time", name="uq_job_fire"),
    )


def downgrade() -> None:
    op.drop_table("job_fires")
    op.drop_index("ix_vintage_key", table_name="observation_vintages")
    op.drop_table("observation_vintages")
    with op.batch_alter_table("observations") as batch:
        batch.drop_column("flag")
    with op.batch_alter_table("job_runs") as batch:
        batch.drop_column("eta")
        batch.drop_column("progress")
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("options")
        batch.drop_column("policy")
