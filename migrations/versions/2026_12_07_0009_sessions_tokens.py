"""Server-side login sessions, API token expiry, sign-in throttling by user name and address.

The account-wide lock-out (core_user.failed_logins, locked_until) is replaced by core_login_throttle.
Tokens made before this revision expire 90 days after their creation.

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-07 09:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('core_login_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_login_session_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_login_session')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_core_login_session_key_hash'))
    )
    with op.batch_alter_table('core_login_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_login_session_user_id'), ['user_id'], unique=False)

    op.create_table('core_login_throttle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username_key', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_login_throttle')),
    sa.UniqueConstraint('username_key', 'address', name=op.f('uq_core_login_throttle_username_key_address'))
    )
    with op.batch_alter_table('core_login_throttle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_login_throttle_last_failure_at'), ['last_failure_at'], unique=False)

    with op.batch_alter_table('core_api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    tokens = sa.table('core_api_token', sa.column('id', sa.Integer()),
                      sa.column('created_at', sa.DateTime(timezone=True)),
                      sa.column('expires_at', sa.DateTime(timezone=True)))
    conn = op.get_bind()
    from datetime import timedelta
    for row in conn.execute(sa.select(tokens.c.id, tokens.c.created_at)).all():
        conn.execute(tokens.update().where(tokens.c.id == row.id)
                     .values(expires_at=row.created_at + timedelta(days=90)))
    with op.batch_alter_table('core_api_token', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(timezone=True), nullable=False)

    # Not in batch mode: on SQLite that rebuilds core_user, which the rows of other tables refer to (foreign
    # keys are on); SQLite 3.35+ drops a plain column in place.
    op.drop_column('core_user', 'locked_until')
    op.drop_column('core_user', 'failed_logins')


def downgrade() -> None:
    op.add_column('core_user', sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('core_user', sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('core_api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('core_login_throttle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_login_throttle_last_failure_at'))
    op.drop_table('core_login_throttle')
    with op.batch_alter_table('core_login_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_login_session_user_id'))
    op.drop_table('core_login_session')
