"""Audit head keeps the tree's compact range, so an append reads nothing but the head row; on PostgreSQL an
append is one call of audit_append(), which does under the head's lock what audit.service.record does in
Python on SQLite (the same bytes, the same hashes: the integration tests compare both with audit.merkle).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 06:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


# The entry's canonical bytes are before || prev || '","seq":' || seq || after (audit.rules.ChainSlot); its
# hash is SHA-256 of them, its leaf hash SHA-256(0x00 || them) (RFC 9162); each perfect subtree the new leaf
# completes is SHA-256(0x01 || left || right), stored in audit_node; the head keeps the new compact range.
AUDIT_APPEND = r"""
CREATE OR REPLACE FUNCTION audit_append(
    p_before bytea, p_after bytea, p_at timestamptz, p_actor_id integer, p_actor text, p_role text,
    p_address text, p_action text, p_object_type text, p_object_id text, p_tender_id integer, p_payload text)
RETURNS TABLE (new_seq bigint, prev_hash text, entry_hash text, leaf text, old_frontier text,
               new_frontier text)
LANGUAGE plpgsql AS $$
#variable_conflict use_variable
DECLARE
    h record;
    n bigint;
    encoded bytea;
    node bytea;
    sz bigint;
    pos bigint;
    compact text[];
    x text;
BEGIN
    SELECT hd.seq, hd.hash, hd.frontier INTO h FROM audit_head hd WHERE hd.id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO audit_head (id, seq, hash, frontier) VALUES (1, 0, repeat('0', 64), '');
        SELECT hd.seq, hd.hash, hd.frontier INTO h FROM audit_head hd WHERE hd.id = 1 FOR UPDATE;
    END IF;
    n := h.seq;
    IF h.frontier IS NULL THEN  -- a log written before the head kept its compact range
        compact := '{}';
        pos := 0;
        FOR b IN REVERSE 62..0 LOOP
            sz := (1::bigint << b);
            IF (n & sz) <> 0 THEN
                IF sz = 1 THEN
                    SELECT e.leaf_hash INTO x FROM audit_entry e WHERE e.seq = pos + 1;
                ELSE
                    SELECT nd.hash INTO x FROM audit_node nd WHERE nd.start = pos AND nd.size = sz;
                END IF;
                compact := compact || x;
                pos := pos + sz;
            END IF;
        END LOOP;
    ELSIF h.frontier = '' THEN
        compact := '{}';
    ELSE
        compact := string_to_array(h.frontier, ',');
    END IF;
    old_frontier := array_to_string(compact, ',');
    encoded := p_before || convert_to(h.hash, 'UTF8') || convert_to('","seq":' || (n + 1)::text, 'UTF8')
               || p_after;
    entry_hash := encode(sha256(encoded), 'hex');
    node := sha256('\x00'::bytea || encoded);
    leaf := encode(node, 'hex');
    sz := 1;
    WHILE (n & sz) <> 0 LOOP
        node := sha256('\x01'::bytea || decode(compact[array_length(compact, 1)], 'hex') || node);
        compact := compact[1:array_length(compact, 1) - 1];
        sz := sz * 2;
        INSERT INTO audit_node (start, size, hash) VALUES (n + 1 - sz, sz, encode(node, 'hex'));
    END LOOP;
    compact := compact || encode(node, 'hex');
    new_frontier := array_to_string(compact, ',');
    INSERT INTO audit_entry (seq, at, actor_id, actor, role, address, action, object_type, object_id,
                             tender_id, payload, prev_hash, hash, leaf_hash)
    VALUES (n + 1, p_at, p_actor_id, p_actor, p_role, p_address, p_action, p_object_type, p_object_id,
            p_tender_id, p_payload, h.hash, entry_hash, leaf);
    UPDATE audit_head SET seq = n + 1, hash = entry_hash, frontier = new_frontier WHERE id = 1;
    new_seq := n + 1;
    prev_hash := h.hash;
    RETURN NEXT;
END;
$$;
"""


def upgrade() -> None:
    # Existing logs leave it empty: the first append after the upgrade rebuilds it from audit_node.
    with op.batch_alter_table('audit_head') as batch:
        batch.add_column(sa.Column('frontier', sa.Text(), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(AUDIT_APPEND)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS audit_append(bytea, bytea, timestamptz, integer, text, text, text, "
                   "text, text, text, integer, text)")
    with op.batch_alter_table('audit_head') as batch:
        batch.drop_column('frontier')
