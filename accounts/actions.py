"""The accounts' audit actions with their disclosure rules: who has an account, when they log in and
from where is for supervisors only (a login just before a deadline would tell who is bidding)."""
from __future__ import annotations

from audit.disclosure import Action
from audit.rules import Disclosure

SUPERVISORS = Disclosure.SUPERVISORS

ACTIONS: tuple[Action, ...] = tuple(Action(name, SUPERVISORS) for name in (
    "organisation.created", "user.created", "user.activated", "user.deactivated", "user.age_recipient_set",
    "user.password_changed", "user.login_failed", "user.logged_in", "user.logged_out", "api_token.created", "api_token.revoked",
    "role.requested", "user.age_recipient_challenged", "user.age_recipient_proof_failed",
    "organisation.updated", "user.updated", "user.role_changed", "user.password_reset",
)) + tuple(Action(name, Disclosure.PUBLIC) for name in (
    # who may hold a share of a tender's opening key, and which key is theirs, is for everyone to check
    "role.approved", "role.refused", "user.age_recipient_registered",
))
