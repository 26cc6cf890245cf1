"""Custodians: proven age recipients (sealed challenges), roles granted by a second person, and the recipient
each key share was sealed to.

Existing custodians keep their accounts but not their powers: their role waits for a supervisor's approval
(``role_approved_at`` stays empty) and their recipient must be registered again with the proof, because no
logged, proven registration backs it.  Every other existing user counts as approved at creation.

Revision ID: 0006
Revises: 0009
Create Date: 2026-12-07 09:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('core_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role_approved_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE core_user SET role_approved_at = created_at WHERE role <> 'custodian'")
    with op.batch_alter_table('tender_key_share', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('registration_seq', sa.Integer(), nullable=True))
    op.create_table('core_role_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('change', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decision', sa.String(length=8), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by'], ['core_user.id'], name=op.f('fk_core_role_request_decided_by_core_user')),
    sa.ForeignKeyConstraint(['requested_by'], ['core_user.id'], name=op.f('fk_core_role_request_requested_by_core_user')),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_role_request_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_role_request'))
    )
    with op.batch_alter_table('core_role_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_role_request_user_id'), ['user_id'], unique=False)
    op.create_table('core_recipient_challenge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=100), nullable=False),
    sa.Column('answer_sha256', sa.String(length=64), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_recipient_challenge_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_recipient_challenge'))
    )
    with op.batch_alter_table('core_recipient_challenge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_recipient_challenge_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('core_recipient_challenge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_recipient_challenge_user_id'))
    op.drop_table('core_recipient_challenge')
    with op.batch_alter_table('core_role_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_role_request_user_id'))
    op.drop_table('core_role_request')
    with op.batch_alter_table('tender_key_share', schema=None) as batch_op:
        batch_op.drop_column('registration_seq')
        batch_op.drop_column('recipient')
    with op.batch_alter_table('core_user', schema=None) as batch_op:
        batch_op.drop_column('role_approved_at')
