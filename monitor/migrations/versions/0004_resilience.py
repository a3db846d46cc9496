"""resilience: shock episodes and their measures

Revision ID: 0004
Revises: 0001

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('shocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('indicator_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('cause', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('peak', sa.Date(), nullable=False),
    sa.Column('trough', sa.Date(), nullable=False),
    sa.Column('recovery_start', sa.Date(), nullable=True),
    sa.Column('recovered', sa.Date(), nullable=True),
    sa.Column('ended', sa.Date(), nullable=True),
    sa.Column('latest', sa.Date(), nullable=False),
    sa.Column('baseline', sa.Float(), nullable=False),
    sa.Column('peak_value', sa.Float(), nullable=False),
    sa.Column('trough_value', sa.Float(), nullable=False),
    sa.Column('depth', sa.Float(), nullable=True),
    sa.Column('absorption_periods', sa.Integer(), nullable=False),
    sa.Column('recovery_periods', sa.Integer(), nullable=True),
    sa.Column('duration_periods', sa.Integer(), nullable=True),
    sa.Column('reference_entity_id', sa.Integer(), nullable=True),
    sa.Column('reference_indicator_id', sa.Integer(), nullable=True),
    sa.Column('resistance', sa.Float(), nullable=True),
    sa.Column('recoverability', sa.Float(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entity_id'], ['entities.id'], ),
    sa.ForeignKeyConstraint(['indicator_id'], ['indicators.id'], ),
    sa.ForeignKeyConstraint(['reference_entity_id'], ['entities.id'], ),
    sa.ForeignKeyConstraint(['reference_indicator_id'], ['indicators.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('entity_id', 'start', name='uq_shock_entity_start')
    )
    with op.batch_alter_table('shocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shocks_entity_id'), ['entity_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('shocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shocks_entity_id'))

    op.drop_table('shocks')
