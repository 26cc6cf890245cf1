"""Sunbid tender area."""
