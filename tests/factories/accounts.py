"""The accounts area's test builders: organisations, users (a custodian approved by a supervisor), API tokens."""
from __future__ import annotations

import sqlalchemy as sa

from core.actor import Actor
from core.db import unit_of_work

PASSWORD = "Correct-Horse-42"


class AccountsFactory:
    """Made through the accounts services, by the system actor."""

    def _next(self) -> int:
        self.n += 1
        return self.n

    def org(self, kind: str = "bidder", name: str | None = None):
        from accounts import service
        from core import rules

        i = self._next()
        code = rules.make_credit_code(f"91350200{i:09d}") if kind in ("agency", "bidder") else None
        with unit_of_work(self.session):
            return service.create_organisation(self.session, actor=Actor.system(), kind=kind,
                                               name=name or f"{kind} org {i}", credit_code=code,
                                               now=self.clock.now())

    def user(self, role: str = "bidder", org=None, username: str | None = None, approve: bool = True) -> Actor:
        """A user made by the system actor; a custodian is then approved by a supervisor (unless ``approve`` is
        false), since a custodian's role never takes effect without one."""
        from accounts import service

        kind = {"agency": "agency", "bidder": "bidder", "expert": "employer"}.get(role, "platform")
        org = org or self.org(kind)
        i = self._next()
        with unit_of_work(self.session):
            u = service.create_user(self.session, actor=Actor.system(), username=username or f"{role}{i}",
                                    display_name=f"{role.title()} {i}", password=PASSWORD, role=role,
                                    organisation_id=org.id, now=self.clock.now())
        who = Actor(user_id=u.id, name=u.username, role=u.role, organisation_id=u.organisation_id,
                    address="127.0.0.1")
        if role == "custodian" and approve:
            self.approve(who)
        return who

    def supervisor(self) -> Actor:
        """The supervisor who approves this factory's custodians (made once)."""
        if self.approver is None:
            self.approver = self.user("supervisor")
        return self.approver

    def approve(self, who: Actor) -> None:
        """A supervisor approves the custodian role ``who`` was created with (the account becomes active)."""
        from accounts import service
        from accounts.models import RoleRequest

        supervisor = self.supervisor()
        with unit_of_work(self.session):
            request = self.session.scalar(sa.select(RoleRequest).where(RoleRequest.user_id == who.user_id,
                                                                       RoleRequest.decision.is_(None)))
            service.decide_role_change(self.session, actor=supervisor, request_id=request.id, approve=True,
                                       now=self.clock.now())

    def api_token(self, who: Actor, name: str = "tests") -> dict[str, str]:
        """The Authorization header of a new API token of ``who``."""
        from accounts import service

        with unit_of_work(self.session):
            _row, token = service.create_api_token(self.session, actor=who, name=name, now=self.clock.now())
        return {"Authorization": f"Bearer {token}"}
