"""Sunbid ledger area."""
