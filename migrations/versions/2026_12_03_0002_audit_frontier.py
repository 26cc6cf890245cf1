"""Audit head keeps the tree's compact range, so an append reads nothing but the head row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 06:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Existing logs leave it empty: the first append after the upgrade rebuilds it from audit_node.
    with op.batch_alter_table('audit_head') as batch:
        batch.add_column(sa.Column('frontier', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_head') as batch:
        batch.drop_column('frontier')
