"""The platform's roles and the groups of them that rules and routes name.

A role is a ``Role`` value (a ``str``, so it compares equal to the role column's text); a group is a
``frozenset`` of them, named here once.  ``core.web.permission`` accepts only these, so a misspelt role
fails when the route is declared, not by locking the route for everybody.

Pure module: no Flask, no database, no clock.
"""
from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    AGENCY = "agency"
    BIDDER = "bidder"
    EXPERT = "expert"
    CUSTODIAN = "custodian"
    SUPERVISOR = "supervisor"
    SYSTEM = "system"
    """The platform itself (commands, the demo, scheduled work): an actor, never a user's role."""


USER_ROLES: tuple[Role, ...] = tuple(r for r in Role if r is not Role.SYSTEM)
"""The roles a user account may hold."""

SUPERVISING: frozenset[Role] = frozenset({Role.SUPERVISOR, Role.ADMIN})
"""Who oversees the platform: reads every tender (drafts too) and every audit entry in full."""

ADMINS: frozenset[Role] = frozenset({Role.ADMIN, Role.SYSTEM})
"""Who manages accounts and organisations and signs checkpoints by hand: an administrator or the platform."""


def roles_of(*items: Role | Iterable[Role]) -> tuple[Role, ...]:
    """Roles and groups of roles flattened, in order and without repeats; anything that is not a ``Role``
    (a plain string, a misspelt name) is a ``TypeError``."""
    found: list[Role] = []
    for item in items:
        group = tuple(item) if isinstance(item, (set, frozenset, tuple, list)) else (item,)
        for role in group:
            if not isinstance(role, Role):
                raise TypeError(f"not a Role: {role!r} (use core.roles.Role)")
            if role not in found:
                found.append(role)
    return tuple(found)
