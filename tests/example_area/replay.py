"""A notebook recomputed from its audit entries alone (pure)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any


def fold(entries: Iterable[Mapping[str, Any]], now: datetime) -> dict[str, Any]:
    return {"notes": [e["payload"]["text"] for e in entries if e["action"] == "example.noted"]}


def diff(replayed: Mapping[str, Any], live: Mapping[str, Any] | None) -> list[tuple[str, Any, Any]]:
    if live is None:
        return [("notebook", "in the log", "missing from the database")]
    return [(k, replayed.get(k), live.get(k)) for k in sorted(set(replayed) | set(live))
            if replayed.get(k) != live.get(k)]
