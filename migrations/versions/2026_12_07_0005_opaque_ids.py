"""Opaque bid ids: each bid gets a random public id, used in every URL, API answer, receipt and audit entry;
and an upload keeps the Upload-Metadata it was created with (tus 1.0.0: HEAD echoes it).

Bids made before this keep their number as their public id (``str(id)``): their signed receipts and their
audit entries already name them by it, and both must go on verifying and matching.  New bids get 128 random
bits (tender.models.new_public_id).

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-07 09:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('tender_bid', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_id', sa.String(length=32), nullable=True))
    bid = sa.table('tender_bid', sa.column('id', sa.Integer()), sa.column('public_id', sa.String(32)))
    op.execute(bid.update().values(public_id=sa.cast(bid.c.id, sa.String(32))))
    with op.batch_alter_table('tender_bid', schema=None) as batch_op:
        batch_op.alter_column('public_id', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_tender_bid_public_id'), ['public_id'])
    with op.batch_alter_table('tender_bid_upload', schema=None) as batch_op:
        batch_op.add_column(sa.Column('upload_metadata', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('tender_bid_upload', schema=None) as batch_op:
        batch_op.alter_column('upload_metadata', existing_type=sa.Text(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('tender_bid_upload', schema=None) as batch_op:
        batch_op.drop_column('upload_metadata')
    with op.batch_alter_table('tender_bid', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_tender_bid_public_id'), type_='unique')
        batch_op.drop_column('public_id')
