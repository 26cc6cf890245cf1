"""The deposit ledger: accounts, balances, entries and their postings, imported bank statements and their lines
(docs/ledger.md).  New tables only; the downgrade drops them.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 20:41:13

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('ledger_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=True),
    sa.Column('bidder_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_account')),
    sa.UniqueConstraint('code', name=op.f('uq_ledger_account_code'))
    )
    with op.batch_alter_table('ledger_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_account_bidder_id'), ['bidder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_account_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_account_tender_id'), ['tender_id'], unique=False)

    op.create_table('ledger_statement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bank_account', sa.String(length=34), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_statement')),
    sa.UniqueConstraint('bank_account', 'reference', name=op.f('uq_ledger_statement_bank_account_reference'))
    )
    op.create_table('ledger_balance',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('debits_posted', sa.BigInteger(), nullable=False),
    sa.Column('credits_posted', sa.BigInteger(), nullable=False),
    sa.Column('debits_pending', sa.BigInteger(), nullable=False),
    sa.Column('credits_pending', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_account.id'], name=op.f('fk_ledger_balance_account_id_ledger_account')),
    sa.PrimaryKeyConstraint('account_id', 'currency', name=op.f('pk_ledger_balance'))
    )
    op.create_table('ledger_statement_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('bank_account', sa.String(length=34), nullable=False),
    sa.Column('entry_reference', sa.String(length=64), nullable=False),
    sa.Column('booked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('payer_account', sa.String(length=64), nullable=False),
    sa.Column('payer_name', sa.String(length=140), nullable=False),
    sa.Column('remittance', sa.String(length=500), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['statement_id'], ['ledger_statement.id'], name=op.f('fk_ledger_statement_line_statement_id_ledger_statement')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_statement_line')),
    sa.UniqueConstraint('bank_account', 'entry_reference', name=op.f('uq_ledger_statement_line_bank_account_entry_reference'))
    )
    with op.batch_alter_table('ledger_statement_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_statement_line_statement_id'), ['statement_id'], unique=False)

    op.create_table('ledger_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('phase', sa.String(length=8), nullable=False),
    sa.Column('pending_key', sa.String(length=128), nullable=True),
    sa.Column('reverses', sa.String(length=128), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('statement_line_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['statement_line_id'], ['ledger_statement_line.id'], name=op.f('fk_ledger_entry_statement_line_id_ledger_statement_line')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entry')),
    sa.UniqueConstraint('key', name=op.f('uq_ledger_entry_key')),
    sa.UniqueConstraint('pending_key', name=op.f('uq_ledger_entry_pending_key')),
    sa.UniqueConstraint('reverses', name=op.f('uq_ledger_entry_reverses'))
    )
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entry_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entry_statement_line_id'), ['statement_line_id'], unique=False)

    op.create_table('ledger_posting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=1), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_account.id'], name=op.f('fk_ledger_posting_account_id_ledger_account')),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entry.id'], name=op.f('fk_ledger_posting_entry_id_ledger_entry')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_posting'))
    )
    with op.batch_alter_table('ledger_posting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_posting_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_posting_entry_id'), ['entry_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ledger_posting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_posting_entry_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_posting_account_id'))

    op.drop_table('ledger_posting')
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entry_statement_line_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_entry_kind'))

    op.drop_table('ledger_entry')
    with op.batch_alter_table('ledger_statement_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_statement_line_statement_id'))

    op.drop_table('ledger_statement_line')
    op.drop_table('ledger_balance')
    op.drop_table('ledger_statement')
    with op.batch_alter_table('ledger_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_account_tender_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_account_kind'))
        batch_op.drop_index(batch_op.f('ix_ledger_account_bidder_id'))

    op.drop_table('ledger_account')
