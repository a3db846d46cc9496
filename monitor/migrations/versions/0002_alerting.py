"""alerting: deliveries, routes, silences, inhibition rules, playbooks; alert and channel extras

Revision ID: 0002
Revises: 0001

"""
from datetime import datetime, timezone
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('group_key', sa.String(length=200), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_delivery_group', ['channel_id', 'group_key', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_deliveries_idempotency_key'), ['idempotency_key'], unique=False)

    op.create_table('routes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('levels', sa.JSON(), nullable=False),
    sa.Column('dimensions', sa.JSON(), nullable=False),
    sa.Column('region_ids', sa.JSON(), nullable=False),
    sa.Column('cluster_ids', sa.JSON(), nullable=False),
    sa.Column('min_severity', sa.String(length=8), nullable=False),
    sa.Column('continue_matching', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('routes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routes_channel_id'), ['channel_id'], unique=False)

    op.create_table('silences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('levels', sa.JSON(), nullable=False),
    sa.Column('dimensions', sa.JSON(), nullable=False),
    sa.Column('region_ids', sa.JSON(), nullable=False),
    sa.Column('cluster_ids', sa.JSON(), nullable=False),
    sa.Column('entity_ids', sa.JSON(), nullable=False),
    sa.Column('indicator_ids', sa.JSON(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recurrence', sa.String(length=8), nullable=True),
    sa.Column('repeat_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('author', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expired_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    inhibit_rules = op.create_table('inhibit_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('source_level', sa.String(length=16), nullable=False),
    sa.Column('target_level', sa.String(length=16), nullable=False),
    sa.Column('equal_dimension', sa.Boolean(), nullable=False),
    sa.Column('same_region', sa.Boolean(), nullable=False),
    sa.Column('source_min_severity', sa.String(length=8), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('playbooks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dimension', sa.String(length=16), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('text_zh', sa.Text(), nullable=False),
    sa.Column('text_en', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dimension', 'level', name='uq_playbook_scope')
    )

    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('flapping', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('stale_since', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cause', sa.String(length=32), nullable=True))

    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('secret', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('regions', sa.JSON(), nullable=False, server_default='[]'))

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('delivery_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('muted_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('resent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resent_by', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_notifications_delivery_id'), ['delivery_id'], unique=False)
        batch_op.create_foreign_key('fk_notifications_delivery_id', 'deliveries', ['delivery_id'], ['id'])

    # The example rule, on out of the box: a government-level warning on a
    # dimension explains the enterprise-level warnings of that dimension in its region.
    op.bulk_insert(inhibit_rules, [{
        'name': '政府层级预警抑制本地区同维度企业预警通知',
        'source_level': 'government',
        'target_level': 'enterprise',
        'equal_dimension': True,
        'same_region': True,
        'source_min_severity': 'blue',
        'enabled': True,
        'created_at': datetime.now(timezone.utc),
        'created_by': None,
    }])


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint('fk_notifications_delivery_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_notifications_delivery_id'))
        batch_op.drop_column('resent_by')
        batch_op.drop_column('resent_at')
        batch_op.drop_column('muted_reason')
        batch_op.drop_column('delivery_id')
        batch_op.drop_column('group_key')

    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.drop_column('regions')
        batch_op.drop_column('secret')

    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.drop_column('cause')

    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('stale_since')
        batch_op.drop_column('flapping')
        batch_op.drop_column('assignee')

    op.drop_table('playbooks')
    op.drop_table('inhibit_rules')
    op.drop_table('silences')
    with op.batch_alter_table('routes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routes_channel_id'))

    op.drop_table('routes')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_idempotency_key'))
        batch_op.drop_index('ix_delivery_group')
        batch_op.drop_index('ix_delivery_due')

    op.drop_table('deliveries')
