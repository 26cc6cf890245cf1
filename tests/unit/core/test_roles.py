"""core.roles and core.web.permission: roles are Role values, groups are named once, and a route that names
anything else is refused when it is declared."""
from __future__ import annotations

import pytest

from accounts.rules import ROLE_ORG_KINDS, RoleOrgMismatch, check_role_org
from core.roles import ADMINS, SUPERVISING, USER_ROLES, Role, roles_of
from core.web import permission


def test_roles_are_the_column_values():
    assert [str(r) for r in USER_ROLES] == ["admin", "agency", "bidder", "expert", "custodian", "supervisor"]
    assert Role.SYSTEM == "system" and Role.SYSTEM not in USER_ROLES
    assert set(ROLE_ORG_KINDS) == set(USER_ROLES)


def test_groups():
    assert SUPERVISING == {Role.SUPERVISOR, Role.ADMIN}
    assert ADMINS == {Role.ADMIN, Role.SYSTEM}
    assert "admin" in ADMINS and "supervisor" not in ADMINS  # the role column's text compares equal


def test_roles_of_flattens_groups_in_order():
    assert roles_of(Role.AGENCY, SUPERVISING, Role.AGENCY)[0] is Role.AGENCY
    assert set(roles_of(Role.AGENCY, SUPERVISING)) == {Role.AGENCY, Role.ADMIN, Role.SUPERVISOR}
    assert roles_of() == ()


@pytest.mark.parametrize("bad", ["admin", "supervsior", 3, None, ("agency",)])
def test_permission_refuses_anything_but_roles_at_declaration(bad):
    with pytest.raises(TypeError, match="not a Role"):
        @permission(bad)
        def view():  # pragma: no cover - never declared
            return "ok"


def test_permission_marks_the_route_with_its_roles():
    @permission(Role.AGENCY, SUPERVISING)
    def view():
        return "ok"

    assert set(view._permission) == {Role.AGENCY, Role.SUPERVISOR, Role.ADMIN}

    @permission()
    def anyone():
        return "ok"

    assert anyone._permission == ("logged_in",)


def test_the_system_is_no_user_of_any_organisation():
    with pytest.raises(RoleOrgMismatch):
        check_role_org(Role.SYSTEM, "platform")
