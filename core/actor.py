"""Who is acting: passed explicitly to every service (and recorded in the audit log)."""
from __future__ import annotations

from dataclasses import dataclass

from core.roles import Role


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    name: str
    role: str
    organisation_id: int | None = None
    address: str = "-"

    @classmethod
    def system(cls, name: str = "system") -> "Actor":
        return cls(user_id=None, name=name, role=Role.SYSTEM, organisation_id=None, address="local")

    @classmethod
    def anonymous(cls, address: str = "-") -> "Actor":
        return cls(user_id=None, name="anonymous", role="public", organisation_id=None, address=address)

    def has(self, *roles: str) -> bool:
        return self.role in roles
