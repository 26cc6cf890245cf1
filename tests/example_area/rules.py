"""The example area's pure rule."""
from __future__ import annotations


def tidy(text: str) -> str:
    return " ".join(text.split())[:200]
