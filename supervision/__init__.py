"""Sunbid supervision area: alerts, complaints, credit records, OCDS and statistics (to come)."""
