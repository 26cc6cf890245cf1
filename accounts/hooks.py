"""What the areas above accounts add to the accounts' operations and pages, kept on the application.

The accounts import no area above them, yet an area may keep data of its own about the users of a role (the
tender area: a key custodian's age recipient, ``tender.custodians``).  Such an area adds, from its
``Area.setup``, on the application's ``AccountHooks`` (``hooks_of(app)``, one per application, never a module
global):

- a **role-removal hook**, ``hook(session, *, user, role, now) -> dict``: ``accounts.service.decide_role_change``
  calls it when a supervisor approves the removal of a role, in the same transaction, before the
  ``role.approved`` entry is written; what it returns joins that entry's payload (the tender area forgets the
  custodian's recipient and logs it as ``age_recipient_removed``).  The services find the hooks in the info of
  the application's sessions (``session_hooks``), as ``audit.service.record`` finds the audit subject kinds,
  so no caller can leave them out;
- an **account section**: a part of *My account* (``/account``, ``accounts.views.account``) with forms of its
  own posted to that page (``AccountSection``).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

EXTENSION = "sunbid_accounts"
"""Where an application keeps its ``AccountHooks`` (``app.extensions``)."""
SESSION_INFO = "accounts.hooks"
"""Where the application's sessions carry them (``session.info``)."""

RoleRemoved = Callable[..., Mapping[str, Any]]
"""``hook(session, *, user, role, now)``: what else ends with ``user``'s ``role``; returns payload fields."""


class AccountSection(Protocol):
    """One request's part of the account page, made by the factory an area added (``add_account_section``).

    ``template`` is included in ``accounts/account.html`` with the page's context (``me``, the account's
    ``User``; ``now``) and ``section``, this object.  When the page is posted, the first section that
    ``owns()`` the posted form handles it: ``post()`` returns a response (a redirect) or None (the page is
    shown again, its forms carrying their errors); a domain error it raises is shown on ``error_form()``.
    ``prepare()`` reads what the template shows, after any post."""

    template: str

    def owns(self) -> bool: ...

    def post(self) -> Any | None: ...

    def error_form(self) -> Any: ...

    def prepare(self) -> None: ...


@dataclass
class AccountHooks:
    """What the areas of one application add to the accounts."""

    role_removed: list[RoleRemoved] = field(default_factory=list)
    account_sections: list[Callable[[], AccountSection]] = field(default_factory=list)

    def on_role_removed(self, hook: RoleRemoved) -> None:
        self.role_removed.append(hook)

    def add_account_section(self, factory: Callable[[], AccountSection]) -> None:
        self.account_sections.append(factory)

    def removing_role(self, session: Any, *, user: Any, role: str, now: datetime) -> dict[str, Any]:
        """Run every role-removal hook; the payload fields they return, merged."""
        fields: dict[str, Any] = {}
        for hook in self.role_removed:
            fields.update(hook(session, user=user, role=role, now=now))
        return fields


def hooks_of(app: Any) -> AccountHooks:
    """The application's hooks, made on first use; its sessions carry them from then on."""
    hooks = app.extensions.get(EXTENSION)
    if hooks is None:
        hooks = app.extensions[EXTENSION] = AccountHooks()
        sessions = app.extensions["sunbid"].sessions
        sessions.configure(info={**sessions.kw.get("info", {}), SESSION_INFO: hooks})
    return hooks


def session_hooks(session: Any) -> AccountHooks:
    """The hooks of the application that made ``session`` (none for a session made otherwise)."""
    return session.info.get(SESSION_INFO) or AccountHooks()
