"""The expert pool: experts_profile (one per expert account; the national ID kept only as a keyed HMAC and a
masked form), with its specialties, employment history, declared relations, unavailable periods and penalties.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 20:45:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa



revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('experts_profile',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('full_name', sa.String(length=100), nullable=False),
    sa.Column('national_id_hmac', sa.String(length=64), nullable=False),
    sa.Column('national_id_masked', sa.String(length=18), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('suspended_until', sa.Date(), nullable=True),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_experts_profile_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experts_profile')),
    sa.UniqueConstraint('national_id_hmac', name=op.f('uq_experts_profile_national_id_hmac')),
    sa.UniqueConstraint('number', name=op.f('uq_experts_profile_number')),
    sa.UniqueConstraint('user_id', name=op.f('uq_experts_profile_user_id'))
    )
    with op.batch_alter_table('experts_profile', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_experts_profile_region'), ['region'], unique=False)
        batch_op.create_index(batch_op.f('ix_experts_profile_status'), ['status'], unique=False)

    op.create_table('experts_employment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('employer', sa.String(length=200), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['core_organisation.id'], name=op.f('fk_experts_employment_organisation_id_core_organisation')),
    sa.ForeignKeyConstraint(['profile_id'], ['experts_profile.id'], name=op.f('fk_experts_employment_profile_id_experts_profile')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experts_employment'))
    )
    with op.batch_alter_table('experts_employment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_experts_employment_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_experts_employment_profile_id'), ['profile_id'], unique=False)

    op.create_table('experts_penalty',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.Date(), nullable=False),
    sa.Column('end', sa.Date(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['experts_profile.id'], name=op.f('fk_experts_penalty_profile_id_experts_profile')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experts_penalty'))
    )
    with op.batch_alter_table('experts_penalty', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_experts_penalty_profile_id'), ['profile_id'], unique=False)

    op.create_table('experts_relation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['core_organisation.id'], name=op.f('fk_experts_relation_organisation_id_core_organisation')),
    sa.ForeignKeyConstraint(['person_id'], ['core_user.id'], name=op.f('fk_experts_relation_person_id_core_user')),
    sa.ForeignKeyConstraint(['profile_id'], ['experts_profile.id'], name=op.f('fk_experts_relation_profile_id_experts_profile')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experts_relation'))
    )
    with op.batch_alter_table('experts_relation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_experts_relation_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_experts_relation_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_experts_relation_profile_id'), ['profile_id'], unique=False)

    op.create_table('experts_specialty',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['experts_profile.id'], name=op.f('fk_experts_specialty_profile_id_experts_profile')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experts_specialty')),
    sa.UniqueConstraint('profile_id', 'code', name=op.f('uq_experts_specialty_profile_id_code'))
    )
    with op.batch_alter_table('experts_specialty', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_experts_specialty_code'), ['code'], unique=False)
        batch_op.create_index(batch_op.f('ix_experts_specialty_profile_id'), ['profile_id'], unique=False)

    op.create_table('experts_unavailable',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['experts_profile.id'], name=op.f('fk_experts_unavailable_profile_id_experts_profile')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experts_unavailable'))
    )
    with op.batch_alter_table('experts_unavailable', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_experts_unavailable_profile_id'), ['profile_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('experts_unavailable', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_experts_unavailable_profile_id'))

    op.drop_table('experts_unavailable')
    with op.batch_alter_table('experts_specialty', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_experts_specialty_profile_id'))
        batch_op.drop_index(batch_op.f('ix_experts_specialty_code'))

    op.drop_table('experts_specialty')
    with op.batch_alter_table('experts_relation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_experts_relation_profile_id'))
        batch_op.drop_index(batch_op.f('ix_experts_relation_person_id'))
        batch_op.drop_index(batch_op.f('ix_experts_relation_organisation_id'))

    op.drop_table('experts_relation')
    with op.batch_alter_table('experts_penalty', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_experts_penalty_profile_id'))

    op.drop_table('experts_penalty')
    with op.batch_alter_table('experts_employment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_experts_employment_profile_id'))
        batch_op.drop_index(batch_op.f('ix_experts_employment_organisation_id'))

    op.drop_table('experts_employment')
    with op.batch_alter_table('experts_profile', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_experts_profile_status'))
        batch_op.drop_index(batch_op.f('ix_experts_profile_region'))

    op.drop_table('experts_profile')
