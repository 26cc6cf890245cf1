"""The accounts' panels on the desk (``/desk``): an administrator's accounts and approvals, a supervisor's
recent key and custodian changes (with the role requests waiting for a decision), and an expert's profile.

Each ``build(session, actor, now)`` reads a bounded number of rows in a fixed number of queries."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.models import Organisation, RoleRequest, User
from audit.desk import recent_entries
from audit.labels import action_label
from core.actor import Actor
from core.area import DeskPanel
from core.roles import Role

RECENT_USERS = 5
RECENT_CHANGES = 10
KEY_CHANGES = ("role.requested", "role.approved", "role.refused", "user.role_changed",
               "user.age_recipient_registered", "user.age_recipient_proof_failed", "user.age_recipient_set")
"""The actions that change who holds a custodian's (or supervisor's) role and which age key is a custodian's."""


def _pending_requests(session: Session) -> int:
    return session.scalar(select(func.count()).where(RoleRequest.decision.is_(None))) or 0


def admin_accounts(session: Session, actor: Actor, now: datetime) -> dict[str, Any]:
    """Role requests waiting for a supervisor, the latest accounts, and how many users and organisations."""
    if actor.role != Role.ADMIN:
        return {"pending": 0, "users": [], "user_count": 0, "organisation_count": 0}
    users = list(session.scalars(select(User).order_by(User.created_at.desc(), User.id.desc()).limit(RECENT_USERS)))
    return {"pending": _pending_requests(session), "users": users,
            "user_count": session.scalar(select(func.count()).select_from(User)) or 0,
            "organisation_count": session.scalar(select(func.count()).select_from(Organisation)) or 0}


def key_changes(session: Session, actor: Actor, now: datetime) -> dict[str, Any]:
    """The latest changes of custodians' roles and keys, each linked to its audit entry, and the role requests
    waiting for a supervisor's decision."""
    if actor.role != Role.SUPERVISOR:
        return {"pending": 0, "entries": [], "names": {}, "action_label": action_label}
    entries = recent_entries(session, actions=KEY_CHANGES, limit=RECENT_CHANGES)
    ids = {int(e.object_id) for e in entries if e.object_type == "user" and e.object_id.isdigit()}
    names = {u.id: u for u in session.scalars(select(User).where(User.id.in_(sorted(ids))))} if ids else {}
    return {"pending": _pending_requests(session), "entries": entries, "names": names, "action_label": action_label}


def expert_profile(session: Session, actor: Actor, now: datetime) -> dict[str, Any]:
    """The expert's own account; assignments come with the expert draw."""
    me = session.get(User, actor.user_id) if actor.user_id is not None else None
    return {"me": me, "assignments": []}


PANELS: tuple[DeskPanel, ...] = (
    DeskPanel("accounts.admin", _l("Accounts and approvals"), frozenset({Role.ADMIN}), 10, admin_accounts,
              "accounts/desk_admin.html"),
    DeskPanel("accounts.key_changes", _l("Recent key and custodian changes"), frozenset({Role.SUPERVISOR}), 20,
              key_changes, "accounts/desk_key_changes.html"),
    DeskPanel("accounts.expert", _l("My profile and assignments"), frozenset({Role.EXPERT}), 10, expert_profile,
              "accounts/desk_expert.html"),
)
"""The accounts' desk panels (``Area.desk``)."""
