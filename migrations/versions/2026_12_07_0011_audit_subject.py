"""The audit log's subject is general: a kind and an id (``tender`` 42, later a bank statement, an expert's
profile, a complaint) in place of a tender id.

audit_entry.subject_kind / subject_id (indexed together) replace audit_entry.tender_id; the entries filed under
a tender before get subject ('tender', '<its id>').  Like tender_id before them they are kept next to the entry,
outside its hashed bytes, so no entry's bytes, hash or leaf hash change and every checkpoint signed before
still matches.  On PostgreSQL audit_append() takes the subject's kind and id where it took the tender id.

The downgrade gives the tender subjects back their tender_id; entries filed under any other kind lose their
subject (their bytes and hashes are untouched, only the index column is gone).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 14:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OLD_SIGNATURE = "bytea, bytea, bytea, timestamptz, integer, text, text, text, text, text, text, integer, text, text"
NEW_SIGNATURE = ("bytea, bytea, bytea, timestamptz, integer, text, text, text, text, text, text, text, text, text, "
                 "text")


def _function(with_subject: bool) -> str:
    """audit_append() as migration 0004 wrote it (with the tender id) or with the subject's kind and id."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("2026_12_07_0004_blind_entries.py")
    spec = importlib.util.spec_from_file_location("blind_entries_0004", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sql = module._function(2)
    if not with_subject:
        return sql
    replacements = [
        ("p_tender_id integer, p_payload text, p_salt text)",
         "p_subject_kind text, p_subject_id text, p_payload text, p_salt text)"),
        ("tender_id, payload, prev_hash, hash, leaf_hash, salt)",
         "subject_kind, subject_id, payload, prev_hash, hash, leaf_hash, salt)"),
        ("p_tender_id, p_payload, h.hash, entry_hash, leaf, p_salt);",
         "p_subject_kind, p_subject_id, p_payload, h.hash, entry_hash, leaf, p_salt);"),
    ]
    for old, new in replacements:
        if sql.count(old) != 1:
            raise RuntimeError(f"audit_append() of migration 0004 has no single {old!r}")
        sql = sql.replace(old, new)
    return sql


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    if postgresql:
        op.execute(f"DROP FUNCTION IF EXISTS audit_append({OLD_SIGNATURE})")
    with op.batch_alter_table('audit_entry') as batch:
        batch.add_column(sa.Column('subject_kind', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('subject_id', sa.String(length=64), nullable=True))
    op.execute("UPDATE audit_entry SET subject_kind = 'tender', subject_id = CAST(tender_id AS VARCHAR(64)) "
               "WHERE tender_id IS NOT NULL")
    with op.batch_alter_table('audit_entry') as batch:
        batch.drop_index('ix_audit_entry_tender_id')
        batch.drop_column('tender_id')
        batch.create_index('ix_audit_entry_subject', ['subject_kind', 'subject_id'], unique=False)
    if postgresql:
        op.execute(_function(True))


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    if postgresql:
        op.execute(f"DROP FUNCTION IF EXISTS audit_append({NEW_SIGNATURE})")
    with op.batch_alter_table('audit_entry') as batch:
        batch.add_column(sa.Column('tender_id', sa.Integer(), nullable=True))
    op.execute("UPDATE audit_entry SET tender_id = CAST(subject_id AS INTEGER) WHERE subject_kind = 'tender'")
    with op.batch_alter_table('audit_entry') as batch:
        batch.drop_index('ix_audit_entry_subject')
        batch.drop_column('subject_id')
        batch.drop_column('subject_kind')
        batch.create_index('ix_audit_entry_tender_id', ['tender_id'], unique=False)
    if postgresql:
        op.execute(_function(False))
