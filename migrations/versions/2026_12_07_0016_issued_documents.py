"""Documents the platform issues as signed PDFs (audit.documents): one row per document content, naming its
blob; the audit action of the area that issued it holds the same SHA-256.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 21:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('audit_issued_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject_kind', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_issued_document')),
    sa.UniqueConstraint('kind', 'subject_kind', 'subject_id', 'source', name=op.f('uq_audit_issued_document_kind_subject_kind_subject_id_source'))
    )
    with op.batch_alter_table('audit_issued_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_issued_document_sha256'), ['sha256'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('audit_issued_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_issued_document_sha256'))

    op.drop_table('audit_issued_document')
