"""open-alert indexes carry the status, so "firing" or "acknowledged" lists stay in the index

The console's most used filter is a status among the open ones (firing, acknowledged,
pending, stale). With the status outside the partial indexes of open alerts, PostgreSQL
combined them with the status index and visited the table for every candidate row (68 ms
for the open red enterprise alerts of one city at a million alerts); with the status in
the index the same list and its count are index-only scans.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = {"sqlite_where": sa.text("status != 'resolved'"),
        "postgresql_where": sa.text("status != 'resolved'")}  # fmt: skip
OPENED = ["opened_at", "id", "severity", "level", "dimension", "entity_id"]
COLOUR = ["severity", "level", "dimension", "entity_id"]


def _replace(columns_opened: list[str], columns_colour: list[str]) -> None:
    for name, columns in (
        ("ix_alert_open_opened_id", columns_opened),
        ("ix_alert_open_colour", columns_colour),
    ):
        op.drop_index(name, table_name="alerts")
        op.create_index(name, "alerts", columns, **OPEN)


def upgrade() -> None:
    _replace([*OPENED, "status"], [*COLOUR, "status"])


def downgrade() -> None:
    _replace(OPENED, COLOUR)
