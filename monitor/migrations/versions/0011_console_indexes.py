"""console indexes: keyset pages per sort, the dashboard's trend and open-alert counts

At a million alerts every console query must be served by an index: the alert list pages
by keyset on ``(opened_at, id)``, ``(period, id)`` or ``(severity, id)``, a model's
alerts (stage alerts are few among a million) on ``(model, opened_at, id)``; the trend reads
a range of recent periods; the heat map and the newest open alerts read partial indexes
of open (not resolved) alerts only.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("status != 'resolved'")
INDEXES: tuple[tuple[str, list[str], bool], ...] = (
    ("ix_alert_opened_id", ["opened_at", "id"], False),
    ("ix_alert_period_id", ["period", "id"], False),
    ("ix_alert_severity_id", ["severity", "id"], False),
    ("ix_alert_model_opened_id", ["model", "opened_at", "id"], False),
    ("ix_alert_period_worst", ["period", "worst_severity"], False),
    (
        "ix_alert_open_opened_id",
        ["opened_at", "id", "severity", "level", "dimension", "entity_id"],
        True,
    ),
    ("ix_alert_open_colour", ["severity", "level", "dimension", "entity_id"], True),
)


def upgrade() -> None:
    for name, columns, open_only in INDEXES:
        where = {"sqlite_where": OPEN, "postgresql_where": OPEN} if open_only else {}
        op.create_index(name, "alerts", columns, **where)


def downgrade() -> None:
    for name, _columns, _open_only in reversed(INDEXES):
        op.drop_index(name, table_name="alerts")
