"""Accounts an administrator edits: a user's e-mail address, and a flag that makes the user choose a new
password after an administrator reset it.

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-07 12:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # plain ADD COLUMN (SQLite too): a batch copy of core_user would drop a table other rows refer to
    op.add_column('core_user', sa.Column('email', sa.String(length=254), nullable=False, server_default=''))
    op.add_column('core_user', sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                         server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('core_user', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('email')
