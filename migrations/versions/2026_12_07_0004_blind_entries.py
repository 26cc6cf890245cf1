"""Blinded audit entries: a random salt hashed with each new entry (format version 2), and checkpoints
signed for one receipt kept out of the public list.

audit_entry.salt is NULL for the entries written before (version 1; they verify as they are).
audit_checkpoint.listed is false for checkpoints given to one bidder with its receipt; the ones signed
for receipts before this revision (reason 'bid') are taken out of the public list too, since their
number and times count the bids.  On PostgreSQL audit_append() takes the part of the entry's bytes
between the previous hash and the sequence number (``middle``, which holds the salt) and the salt.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 09:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_SIGNATURE = "bytea, bytea, timestamptz, integer, text, text, text, text, text, text, integer, text"
NEW_SIGNATURE = "bytea, bytea, bytea, timestamptz, integer, text, text, text, text, text, text, integer, text, text"


def _function(version: int) -> str:
    """audit_append() as migration 0002 wrote it (version 1) or with the salt (version 2)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("2026_12_03_0002_audit_frontier.py")
    spec = importlib.util.spec_from_file_location("audit_frontier_0002", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sql = module.AUDIT_APPEND
    if version == 1:
        return sql
    replacements = [
        ("p_before bytea, p_after bytea,", "p_before bytea, p_middle bytea, p_after bytea,"),
        ("p_tender_id integer, p_payload text)", "p_tender_id integer, p_payload text, p_salt text)"),
        ("convert_to('\",\"seq\":' || (n + 1)::text, 'UTF8')", "p_middle || convert_to((n + 1)::text, 'UTF8')"),
        ("tender_id, payload, prev_hash, hash, leaf_hash)", "tender_id, payload, prev_hash, hash, leaf_hash, salt)"),
        ("p_tender_id, p_payload, h.hash, entry_hash, leaf);", "p_tender_id, p_payload, h.hash, entry_hash, leaf, p_salt);"),
    ]
    for old, new in replacements:
        if sql.count(old) != 1:
            raise RuntimeError(f"audit_append() of migration 0002 has no single {old!r}")
        sql = sql.replace(old, new)
    return sql


def upgrade() -> None:
    with op.batch_alter_table('audit_entry') as batch:
        batch.add_column(sa.Column('salt', sa.String(length=64), nullable=True))
    with op.batch_alter_table('audit_checkpoint') as batch:
        batch.add_column(sa.Column('listed', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.execute("UPDATE audit_checkpoint SET listed = false WHERE reason = 'bid'")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"DROP FUNCTION IF EXISTS audit_append({OLD_SIGNATURE})")
        op.execute(_function(2))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"DROP FUNCTION IF EXISTS audit_append({NEW_SIGNATURE})")
        op.execute(_function(1))
    with op.batch_alter_table('audit_checkpoint') as batch:
        batch.drop_column('listed')
    with op.batch_alter_table('audit_entry') as batch:
        batch.drop_column('salt')
