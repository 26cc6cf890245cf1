"""Sunbid experts area."""
