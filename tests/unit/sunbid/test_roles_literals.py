"""Roles are ``core.roles.Role`` values, never role names typed as strings: no module of the platform compares
something named ``role`` with a string literal (``actor.role == "agency"``, ``User.role != "bidder"``) or
looks a role up in a tuple, set or list of role names (``role in ("admin", "system")``), and no template does
(``current_user.role == 'bidder'``; templates have the global ``Role``: ``current_user.role == Role.BIDDER``).
A misspelt string silently never matches; a misspelt ``Role`` member fails at once."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from core.roles import Role

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("accounts", "audit", "core", "tender", "sunbid", "experts", "evaluation", "ledger", "supervision")
ROLE_NAMES = frozenset(r.value for r in Role)


def _named_role(node: ast.AST) -> bool:
    """``role``, ``actor.role``, ``approver_role``, ``payload["role"]``, ``payload.get("role")``."""
    if isinstance(node, ast.Name):
        return node.id.lower().endswith("role")
    if isinstance(node, ast.Attribute):
        return node.attr.lower().endswith("role")
    if isinstance(node, ast.Subscript):
        key = node.slice
        return isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.endswith("role")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and node.args:
        key = node.args[0]
        return isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.endswith("role")
    return False


def _named_roles(node: ast.AST) -> bool:
    """Something holding roles: ``roles``, ``area.roles``, ``member_roles``."""
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name.lower().endswith("roles")


def _string(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _role_name_literals(node: ast.AST) -> bool:
    """A tuple, set or list written out with at least one role name among its string literals."""
    return isinstance(node, (ast.Tuple, ast.Set, ast.List)) and any(
        _string(e) and e.value in ROLE_NAMES for e in node.elts)


def violations(source: str) -> list[tuple[int, str]]:
    """(line, code) of each comparison of a role with a role name written as a string."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            if isinstance(op, (ast.Eq, ast.NotEq)):
                bad = (_named_role(left) and _string(right)) or (_string(left) and _named_role(right))
            elif isinstance(op, (ast.In, ast.NotIn)):
                bad = ((_named_role(left) and _role_name_literals(right))
                       or (_string(left) and left.value in ROLE_NAMES and (_named_roles(right)
                                                                           or _named_role(right))))
            else:
                bad = False
            if bad:
                found.append((node.lineno, ast.get_source_segment(source, node) or ""))
            left = right
    return sorted(found)


def project_violations() -> list[str]:
    found = []
    for pkg in PACKAGES:
        if not (ROOT / pkg).is_dir():
            continue
        for path in sorted((ROOT / pkg).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            found += [f"{path.relative_to(ROOT).as_posix()}:{line}: {code}" for line, code in violations(source)]
    return found


TEMPLATE_PATTERNS = (
    re.compile(r"[\w.\]\)]*role\s*(?:==|!=)\s*(?:'[^']*'|\"[^\"]*\")"),     # role == 'bidder'
    re.compile(r"(?:'[^']*'|\"[^\"]*\")\s*(?:==|!=)\s*[\w.]*role\b"),        # 'bidder' == role
    re.compile(r"[\w.\]\)]*role\s+(?:not\s+)?in\s*[(\[{]\s*['\"][^)\]}]*"),  # role in ('admin', 'supervisor')
    re.compile(r"['\"](?:" + "|".join(sorted(ROLE_NAMES)) + r")['\"]\s+(?:not\s+)?in\s+[\w.]*roles?\b"),
)


def template_violations(text: str) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for pattern in TEMPLATE_PATTERNS:
            found += [(number, m.group(0)) for m in pattern.finditer(line)]
    return found


def project_template_violations() -> list[str]:
    found = []
    for path in sorted((ROOT / "templates").rglob("*")):
        if path.suffix in (".html", ".xml", ".txt"):
            found += [f"{path.relative_to(ROOT).as_posix()}:{line}: {code}"
                      for line, code in template_violations(path.read_text(encoding="utf-8"))]
    return found


def test_no_module_compares_a_role_with_a_string():
    found = project_violations()
    assert not found, "role names written as strings (use core.roles.Role or a group of it):\n" + "\n".join(found)


def test_no_template_compares_a_role_with_a_string():
    found = project_template_violations()
    assert not found, "role names written as strings in templates (use Role.X):\n" + "\n".join(found)


def test_navigation_and_desk_panels_name_roles_as_values():
    from sunbid.areas import AREAS

    for area in AREAS:
        for entry in area.nav:
            assert all(isinstance(r, Role) for r in entry.roles), f"{area.name}: {entry.endpoint} {set(entry.roles)}"
        for panel in area.desk:
            assert all(isinstance(r, Role) for r in panel.roles), f"{area.name}: {panel.key} {set(panel.roles)}"


@pytest.mark.parametrize("source", [
    'if actor.role == "agency": pass',
    'if actor.role != "bidder": pass',
    'ok = "custodian" == user.role',
    'q = select(User).where(User.role == "custodian")',
    'ok = role in ("admin", "system")',
    'ok = actor.role not in ["supervisor", "admin"]',
    'ok = user.role in {"expert"}',
    'ok = approver_role == "supervisor"',
    'ok = payload["role"] == "custodian"',
    'ok = p.get("role") == "custodian"',
    'ok = "admin" in entry.roles',
    'ok = "admin" in member_roles',
    'ok = 0 < x and actor.role == "agency"',
])
def test_checker_catches(source):
    assert violations(source)


@pytest.mark.parametrize("source", [
    "if actor.role == Role.AGENCY: pass",
    "ok = actor.role in SUPERVISING",
    "ok = role in (Role.ADMIN, Role.SYSTEM)",
    'ok = kind in ("agency", "bidder") and change == "grant"',  # organisation kinds and changes are not roles
    'ok = mode in ("public", "supervisor")',
    'ok = actor.role == other.role',
])
def test_checker_allows(source):
    assert violations(source) == []


@pytest.mark.parametrize("text", [
    "{% if current_user.role == 'bidder' %}",
    '{% if u.role != "custodian" %}',
    "{% if current_user.role in ('admin', 'supervisor') %}",
    "{% if 'supervisor' == current_user.role %}",
    "{% if 'admin' in entry.roles %}",
])
def test_template_checker_catches(text):
    assert template_violations(text)


@pytest.mark.parametrize("text", [
    "{% if current_user.role == Role.BIDDER %}",
    '<div role="alert">',
    "{{ role_label(r.role) }}: {{ _('grant') if r.change == 'grant' else _('remove') }}",
    "<option value=\"{{ value }}\" {{ 'selected' if role == value }}>",
])
def test_template_checker_allows(text):
    assert template_violations(text) == []
