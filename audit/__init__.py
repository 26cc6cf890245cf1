"""Sunbid audit area."""
