"""Key custodians' own age recipients move from the account to the tender area, which seals the key shares
to them: core_user.age_recipient becomes a row of tender_custodian_key (user_id, recipient, registered_at),
and core_recipient_challenge becomes tender_recipient_challenge, ids and all.

A recipient's registered_at is the time of the latest ``user.age_recipient_registered`` entry of its custodian
(the user's creation when there is none: a recipient written outside the platform, which publication refuses
anyway).  The downgrade puts the recipients back on core_user and the challenges back in their table.

core_user is changed with plain ALTER TABLE ... COLUMN (SQLite too): a batch copy would drop a table other rows
refer to.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 16:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CHALLENGE_COLUMNS = "id, user_id, recipient, answer_sha256, sealed, created_at, expires_at, used_at"


def _challenge_table(name: str) -> None:
    op.create_table(name,
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=100), nullable=False),
    sa.Column('answer_sha256', sa.String(length=64), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f(f'fk_{name}_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}'))
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f'ix_{name}_user_id'), ['user_id'], unique=False)


def _move_challenges(source: str, target: str) -> None:
    """Copy every challenge with its id, then drop the old table; on PostgreSQL the new table's id sequence
    continues after the copied ids."""
    op.execute(f"INSERT INTO {target} ({CHALLENGE_COLUMNS}) SELECT {CHALLENGE_COLUMNS} FROM {source}")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"SELECT setval(pg_get_serial_sequence('{target}', 'id'), COALESCE(MAX(id), 0) + 1, false) "
                   f"FROM {target}")
    with op.batch_alter_table(source, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f(f'ix_{source}_user_id'))
    op.drop_table(source)


def upgrade() -> None:
    op.create_table('tender_custodian_key',
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('recipient', sa.String(length=100), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_tender_custodian_key_user_id_core_user')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_tender_custodian_key'))
    )
    op.execute("INSERT INTO tender_custodian_key (user_id, recipient, registered_at) "
               "SELECT u.id, u.age_recipient, COALESCE("
               "(SELECT MAX(a.at) FROM audit_entry a WHERE a.action = 'user.age_recipient_registered' "
               "AND a.object_type = 'user' AND a.object_id = CAST(u.id AS VARCHAR(64))), u.created_at) "
               "FROM core_user u WHERE u.age_recipient IS NOT NULL")
    op.drop_column('core_user', 'age_recipient')
    _challenge_table('tender_recipient_challenge')
    _move_challenges('core_recipient_challenge', 'tender_recipient_challenge')


def downgrade() -> None:
    _challenge_table('core_recipient_challenge')
    _move_challenges('tender_recipient_challenge', 'core_recipient_challenge')
    op.add_column('core_user', sa.Column('age_recipient', sa.String(length=100), nullable=True))
    op.execute("UPDATE core_user SET age_recipient = (SELECT k.recipient FROM tender_custodian_key k "
               "WHERE k.user_id = core_user.id)")
    op.drop_table('tender_custodian_key')
