"""indices: composite-index versions, weights and values; indicators.derivation

Revision ID: 0003
Revises: 0001

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('composite_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('base_start', sa.Date(), nullable=False),
    sa.Column('base_end', sa.Date(), nullable=False),
    sa.Column('overall_method', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('composite_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_composite_versions_level'), ['level'], unique=False)

    op.create_table('composite_weights',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('dimension', sa.String(length=16), nullable=False),
    sa.Column('indicator_id', sa.Integer(), nullable=True),
    sa.Column('component', sa.String(length=16), nullable=True),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=True),
    sa.Column('low', sa.Float(), nullable=True),
    sa.Column('high', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['indicator_id'], ['indicators.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['composite_versions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('composite_weights', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_composite_weights_version_id'), ['version_id'], unique=False)

    op.create_table('composite_values',
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('dimension', sa.String(length=16), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('severity', sa.String(length=8), nullable=True),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entity_id'], ['entities.id'], ),
    sa.ForeignKeyConstraint(['version_id'], ['composite_versions.id'], ),
    sa.PrimaryKeyConstraint('entity_id', 'dimension', 'period')
    )
    with op.batch_alter_table('composite_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_composite_values_version_id'), ['version_id'], unique=False)

    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.add_column(sa.Column('derivation', sa.JSON(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.drop_column('derivation')

    with op.batch_alter_table('composite_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_composite_values_version_id'))

    op.drop_table('composite_values')
    with op.batch_alter_table('composite_weights', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_composite_weights_version_id'))

    op.drop_table('composite_weights')
    with op.batch_alter_table('composite_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_composite_versions_level'))

    op.drop_table('composite_versions')
