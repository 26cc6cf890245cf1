"""Opaque bid ids: each bid gets a random public id, used in every URL, API answer, receipt and audit entry;
and an upload keeps the Upload-Metadata it was created with (tus 1.0.0: HEAD echoes it).

Bids made before this keep their number as their public id (``str(id)``): their signed receipts and their
audit entries already name them by it, and both must go on verifying and matching.  New bids get 128 random
bits (tender.models.new_public_id).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 09:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE INDEX, no table rebuild: on SQLite a rebuild of tender_bid (with the foreign
    # keys on) would fail on the rows of tender_opening_result and tender_bid_upload that refer to it.
    op.add_column('tender_bid', sa.Column('public_id', sa.String(length=32), nullable=False, server_default=''))
    bid = sa.table('tender_bid', sa.column('id', sa.Integer()), sa.column('public_id', sa.String(32)))
    op.execute(bid.update().values(public_id=sa.cast(bid.c.id, sa.String(32))))
    op.create_index('ix_tender_bid_public_id', 'tender_bid', ['public_id'], unique=True)
    op.add_column('tender_bid_upload', sa.Column('upload_metadata', sa.Text(), nullable=False, server_default=''))
    if op.get_bind().dialect.name == 'postgresql':  # SQLite keeps the defaults; the application always sets both
        op.alter_column('tender_bid', 'public_id', server_default=None)
        op.alter_column('tender_bid_upload', 'upload_metadata', server_default=None)


def downgrade() -> None:
    op.drop_column('tender_bid_upload', 'upload_metadata')
    op.drop_index('ix_tender_bid_public_id', table_name='tender_bid')
    op.drop_column('tender_bid', 'public_id')
