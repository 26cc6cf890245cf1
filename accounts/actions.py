"""The accounts' audit actions with their disclosure rules: who has an account, when they log in and
from where is for supervisors only (a login just before a deadline would tell who is bidding).  A key
custodian's own age recipient is the tender area's (``tender.actions``)."""
from __future__ import annotations

from audit.disclosure import Action
from audit.rules import Disclosure

SUPERVISORS = Disclosure.SUPERVISORS

ACTIONS: tuple[Action, ...] = tuple(Action(name, SUPERVISORS) for name in (
    "organisation.created", "user.created", "user.activated", "user.deactivated",
    "user.password_changed", "user.login_failed", "user.logged_in", "user.logged_out", "api_token.created", "api_token.revoked",
    "role.requested",
    "organisation.updated", "user.updated", "user.role_changed", "user.password_reset",
)) + tuple(Action(name, Disclosure.PUBLIC) for name in (
    # who may hold a share of a tender's opening key is for everyone to check
    "role.approved", "role.refused",
))
