"""Resumable uploads of sealed bids (tus 1.0.0): one row per upload, the bytes in a part file.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 09:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('tender_bid_upload',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('lot', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('upload_length', sa.BigInteger(), nullable=False),
    sa.Column('upload_offset', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('refusal', sa.String(length=64), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['bid_id'], ['tender_bid.id'], name=op.f('fk_tender_bid_upload_bid_id_tender_bid')),
    sa.ForeignKeyConstraint(['organisation_id'], ['core_organisation.id'], name=op.f('fk_tender_bid_upload_organisation_id_core_organisation')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender_tender.id'], name=op.f('fk_tender_bid_upload_tender_id_tender_tender')),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_tender_bid_upload_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_bid_upload'))
    )
    with op.batch_alter_table('tender_bid_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_bid_upload_tender_id'), ['tender_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tender_bid_upload_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tender_bid_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_bid_upload_user_id'))
        batch_op.drop_index(batch_op.f('ix_tender_bid_upload_tender_id'))

    op.drop_table('tender_bid_upload')
