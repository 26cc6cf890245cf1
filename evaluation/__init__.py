"""Sunbid evaluation area."""
