"""The documents a tender requires in every bid (tender_required_document): a name (投标函, 资格证明文件, …),
the file types accepted and a size limit.  Existing tenders require none; the downgrade drops the table.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 21:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('tender_required_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('types', sa.String(length=200), nullable=False),
    sa.Column('max_mb', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tender_id'], ['tender_tender.id'], name=op.f('fk_tender_required_document_tender_id_tender_tender'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_required_document'))
    )
    with op.batch_alter_table('tender_required_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_required_document_tender_id'), ['tender_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tender_required_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_required_document_tender_id'))
    op.drop_table('tender_required_document')
