"""Foundation: accounts, tenders, documents, questions, sealed bids, opening keys and the opening record, audit log with Merkle nodes, checkpoints and witnesses.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 08:43:57.486574

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('audit_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('size', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('root', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint'))
    )
    with op.batch_alter_table('audit_checkpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_checkpoint_size'), ['size'], unique=False)

    op.create_table('audit_entry',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=32), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('leaf_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_entry')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_entry_hash'))
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entry_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_entry_tender_id'), ['tender_id'], unique=False)

    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.create_table('audit_node',
    sa.Column('start', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('size', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('start', 'size', name=op.f('pk_audit_node'))
    )
    op.create_table('audit_witness',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('vkey', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_witness')),
    sa.UniqueConstraint('name', name=op.f('uq_audit_witness_name'))
    )
    op.create_table('core_organisation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=True),
    sa.Column('region', sa.String(length=100), nullable=False),
    sa.Column('contact', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_organisation')),
    sa.UniqueConstraint('credit_code', name=op.f('uq_core_organisation_credit_code'))
    )
    with op.batch_alter_table('core_organisation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_organisation_kind'), ['kind'], unique=False)

    op.create_table('audit_cosignature',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checkpoint_id', sa.Integer(), nullable=False),
    sa.Column('witness', sa.String(length=200), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('line', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['checkpoint_id'], ['audit_checkpoint.id'], name=op.f('fk_audit_cosignature_checkpoint_id_audit_checkpoint')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_cosignature')),
    sa.UniqueConstraint('checkpoint_id', 'witness', name=op.f('uq_audit_cosignature_checkpoint_id_witness'))
    )
    with op.batch_alter_table('audit_cosignature', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_cosignature_checkpoint_id'), ['checkpoint_id'], unique=False)

    op.create_table('core_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('age_recipient', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['core_organisation.id'], name=op.f('fk_core_user_organisation_id_core_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_user')),
    sa.UniqueConstraint('username', name=op.f('uq_core_user_username'))
    )
    with op.batch_alter_table('core_user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_user_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_user_role'), ['role'], unique=False)

    op.create_table('core_api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_api_token_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_core_api_token_token_hash'))
    )
    with op.batch_alter_table('core_api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_api_token_user_id'), ['user_id'], unique=False)

    op.create_table('tender_tender',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_code', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('regime', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('region', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('qualification', sa.Text(), nullable=False),
    sa.Column('evaluation_method', sa.String(length=32), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('estimated_price_fen', sa.BigInteger(), nullable=False),
    sa.Column('deposit_fen', sa.BigInteger(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('download_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('download_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settings', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['core_organisation.id'], name=op.f('fk_tender_tender_agency_id_core_organisation')),
    sa.ForeignKeyConstraint(['created_by'], ['core_user.id'], name=op.f('fk_tender_tender_created_by_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_tender')),
    sa.UniqueConstraint('project_code', name=op.f('uq_tender_tender_project_code'))
    )
    with op.batch_alter_table('tender_tender', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_tender_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tender_tender_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_tender_tender_deadline'), ['deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_tender_tender_published_at'), ['published_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_tender_tender_region'), ['region'], unique=False)

    op.create_table('tender_amendment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('old_deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('new_deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['core_user.id'], name=op.f('fk_tender_amendment_created_by_core_user')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender_tender.id'], name=op.f('fk_tender_amendment_tender_id_tender_tender')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_amendment')),
    sa.UniqueConstraint('tender_id', 'number', name=op.f('uq_tender_amendment_tender_id_number'))
    )
    with op.batch_alter_table('tender_amendment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_amendment_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_bid',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('lot', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('audit_seq', sa.BigInteger(), nullable=True),
    sa.Column('receipt', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['core_organisation.id'], name=op.f('fk_tender_bid_organisation_id_core_organisation')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender_tender.id'], name=op.f('fk_tender_bid_tender_id_tender_tender')),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_tender_bid_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_bid'))
    )
    with op.batch_alter_table('tender_bid', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_bid_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tender_bid_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_key_share',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('custodian_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.Column('sealed_sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['custodian_id'], ['core_user.id'], name=op.f('fk_tender_key_share_custodian_id_core_user')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender_tender.id'], name=op.f('fk_tender_key_share_tender_id_tender_tender')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_key_share')),
    sa.UniqueConstraint('tender_id', 'custodian_id', name=op.f('uq_tender_key_share_tender_id_custodian_id')),
    sa.UniqueConstraint('tender_id', 'position', name=op.f('uq_tender_key_share_tender_id_position'))
    )
    with op.batch_alter_table('tender_key_share', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_key_share_custodian_id'), ['custodian_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tender_key_share_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_lot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('estimated_price_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['tender_id'], ['tender_tender.id'], name=op.f('fk_tender_lot_tender_id_tender_tender'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_lot')),
    sa.UniqueConstraint('tender_id', 'number', name=op.f('uq_tender_lot_tender_id_number'))
    )
    with op.batch_alter_table('tender_lot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_lot_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_opening_key',
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=100), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('shares', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tender_id'], ['tender_tender.id'], name=op.f('fk_tender_opening_key_tender_id_tender_tender')),
    sa.PrimaryKeyConstraint('tender_id', name=op.f('pk_tender_opening_key'))
    )
    op.create_table('tender_opening_objection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['core_organisation.id'], name=op.f('fk_tender_opening_objection_organisation_id_core_organisation')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender_tender.id'], name=op.f('fk_tender_opening_objection_tender_id_tender_tender')),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_tender_opening_objection_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_opening_objection'))
    )
    with op.batch_alter_table('tender_opening_objection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_opening_objection_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_opening_share',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('custodian_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('share', sa.Text(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['custodian_id'], ['core_user.id'], name=op.f('fk_tender_opening_share_custodian_id_core_user')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender_tender.id'], name=op.f('fk_tender_opening_share_tender_id_tender_tender')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_opening_share')),
    sa.UniqueConstraint('tender_id', 'custodian_id', name=op.f('uq_tender_opening_share_tender_id_custodian_id'))
    )
    with op.batch_alter_table('tender_opening_share', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_opening_share_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('asker_org_id', sa.Integer(), nullable=False),
    sa.Column('asker_user_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by'], ['core_user.id'], name=op.f('fk_tender_question_answered_by_core_user')),
    sa.ForeignKeyConstraint(['asker_org_id'], ['core_organisation.id'], name=op.f('fk_tender_question_asker_org_id_core_organisation')),
    sa.ForeignKeyConstraint(['asker_user_id'], ['core_user.id'], name=op.f('fk_tender_question_asker_user_id_core_user')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender_tender.id'], name=op.f('fk_tender_question_tender_id_tender_tender')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_question'))
    )
    with op.batch_alter_table('tender_question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_question_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('amendment_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['amendment_id'], ['tender_amendment.id'], name=op.f('fk_tender_document_amendment_id_tender_amendment')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender_tender.id'], name=op.f('fk_tender_document_tender_id_tender_tender')),
    sa.ForeignKeyConstraint(['uploaded_by'], ['core_user.id'], name=op.f('fk_tender_document_uploaded_by_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_document'))
    )
    with op.batch_alter_table('tender_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_document_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_opening_result',
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('lot', sa.Integer(), nullable=False),
    sa.Column('bidder_name', sa.String(length=200), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('failure_kind', sa.String(length=32), nullable=False),
    sa.Column('price_fen', sa.BigInteger(), nullable=True),
    sa.Column('duration_days', sa.Integer(), nullable=True),
    sa.Column('ciphertext_sha256', sa.String(length=64), nullable=False),
    sa.Column('plaintext_sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['bid_id'], ['tender_bid.id'], name=op.f('fk_tender_opening_result_bid_id_tender_bid')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender_tender.id'], name=op.f('fk_tender_opening_result_tender_id_tender_tender')),
    sa.PrimaryKeyConstraint('bid_id', name=op.f('pk_tender_opening_result'))
    )
    with op.batch_alter_table('tender_opening_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_opening_result_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_download',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['tender_document.id'], name=op.f('fk_tender_download_document_id_tender_document')),
    sa.ForeignKeyConstraint(['organisation_id'], ['core_organisation.id'], name=op.f('fk_tender_download_organisation_id_core_organisation')),
    sa.ForeignKeyConstraint(['tender_id'], ['tender_tender.id'], name=op.f('fk_tender_download_tender_id_tender_tender')),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_tender_download_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_download'))
    )
    with op.batch_alter_table('tender_download', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_download_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tender_download_tender_id'), ['tender_id'], unique=False)
    # The single head row exists from the start, so every append locks it (SELECT … FOR UPDATE) and
    # concurrent first appends cannot race to create it.
    op.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('tender_download', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_download_tender_id'))
        batch_op.drop_index(batch_op.f('ix_tender_download_organisation_id'))

    op.drop_table('tender_download')
    with op.batch_alter_table('tender_opening_result', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_opening_result_tender_id'))

    op.drop_table('tender_opening_result')
    with op.batch_alter_table('tender_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_document_tender_id'))

    op.drop_table('tender_document')
    with op.batch_alter_table('tender_question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_question_tender_id'))

    op.drop_table('tender_question')
    with op.batch_alter_table('tender_opening_share', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_opening_share_tender_id'))

    op.drop_table('tender_opening_share')
    with op.batch_alter_table('tender_opening_objection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_opening_objection_tender_id'))

    op.drop_table('tender_opening_objection')
    op.drop_table('tender_opening_key')
    with op.batch_alter_table('tender_lot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_lot_tender_id'))

    op.drop_table('tender_lot')
    with op.batch_alter_table('tender_key_share', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_key_share_tender_id'))
        batch_op.drop_index(batch_op.f('ix_tender_key_share_custodian_id'))

    op.drop_table('tender_key_share')
    with op.batch_alter_table('tender_bid', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_bid_tender_id'))
        batch_op.drop_index(batch_op.f('ix_tender_bid_organisation_id'))

    op.drop_table('tender_bid')
    with op.batch_alter_table('tender_amendment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_amendment_tender_id'))

    op.drop_table('tender_amendment')
    with op.batch_alter_table('tender_tender', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_tender_region'))
        batch_op.drop_index(batch_op.f('ix_tender_tender_published_at'))
        batch_op.drop_index(batch_op.f('ix_tender_tender_deadline'))
        batch_op.drop_index(batch_op.f('ix_tender_tender_category'))
        batch_op.drop_index(batch_op.f('ix_tender_tender_agency_id'))

    op.drop_table('tender_tender')
    with op.batch_alter_table('core_api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_api_token_user_id'))

    op.drop_table('core_api_token')
    with op.batch_alter_table('core_user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_user_role'))
        batch_op.drop_index(batch_op.f('ix_core_user_organisation_id'))

    op.drop_table('core_user')
    with op.batch_alter_table('audit_cosignature', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_cosignature_checkpoint_id'))

    op.drop_table('audit_cosignature')
    with op.batch_alter_table('core_organisation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_organisation_kind'))

    op.drop_table('core_organisation')
    op.drop_table('audit_witness')
    op.drop_table('audit_node')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entry_tender_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_at'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_entry_action'))

    op.drop_table('audit_entry')
    with op.batch_alter_table('audit_checkpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_checkpoint_size'))

    op.drop_table('audit_checkpoint')
