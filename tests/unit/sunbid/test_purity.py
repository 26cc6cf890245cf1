"""Every module an area declares pure (``Area.pure``), and every rules.py, stays pure: no web framework, no
database, no reading of the clock."""
from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("core", "audit", "accounts", "tender", "experts", "ledger", "evaluation", "supervision", "sunbid")
FORBIDDEN_MODULES = ("flask", "sqlalchemy")
CLOCK_READS = {"datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today",
               "datetime.date.today", "time.time"}
CLASS_CLOCK_READS = {name.split(".", 1)[1] for name in CLOCK_READS if name.startswith("datetime.")}


def declared_pure() -> list[str]:
    from sunbid.areas import AREAS

    from core.area import KERNEL_PURE

    return sorted({*KERNEL_PURE, *(name for area in AREAS for name in area.pure)})


def module_file(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin, f"declared pure but not found: {name}"
    return Path(spec.origin)


def rules_files() -> list[Path]:
    """The declared pure modules, and any rules.py no area declared (a rules.py is pure by its name)."""
    found = {module_file(name) for name in declared_pure()}
    found |= {p for pkg in PACKAGES if (ROOT / pkg).is_dir() for p in (ROOT / pkg).rglob("rules.py")}
    return sorted(found)


def violations(source: str) -> list[str]:
    """Forbidden imports and clock reads, following import aliases
    (``import datetime as dt``, ``from datetime import datetime as D``, ``from time import time``)."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[(a.asname or a.name).split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
                if a.name.split(".")[0] in FORBIDDEN_MODULES:
                    found.append(f"line {node.lineno}: import {a.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"line {node.lineno}: from {node.module} import ...")
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
                if f"{node.module}.{a.name}" in CLOCK_READS:
                    found.append(f"line {node.lineno}: from {node.module} import {a.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts, inner = [node.attr], node.value
            while isinstance(inner, ast.Attribute):
                parts.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name):
                dotted = ".".join([aliases.get(inner.id, inner.id), *reversed(parts)])
                # the last two parts catch a clock read through any path, e.g. ``self.datetime.now``
                if dotted in CLOCK_READS or ".".join(dotted.split(".")[-2:]) in CLASS_CLOCK_READS:
                    found.append(f"line {node.lineno}: {dotted}")
    return found


def test_the_main_rules_modules_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in rules_files()}
    assert {"core/rules.py", "accounts/rules.py", "tender/rules.py", "tender/sealing.py", "audit/notes.py",
            "audit/merkle.py", "core/money.py", "core/calendar.py", "core/roles.py", "tender/policy.py"} <= names


def test_every_rules_module_is_declared_pure_by_its_area():
    declared = {module_file(name) for name in declared_pure()}
    undeclared = [p.relative_to(ROOT).as_posix() for p in rules_files() if p.name == "rules.py" and p not in declared]
    assert undeclared == []


@pytest.mark.parametrize("path", rules_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_rules_module_is_pure(path):
    assert violations(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("source", [
    "import flask",
    "from flask import request",
    "import sqlalchemy.orm",
    "from sqlalchemy import select",
    "from datetime import datetime\nx = datetime.now()",
    "from datetime import datetime\nx = datetime.utcnow",
    "import datetime\nx = datetime.datetime.now(datetime.UTC)",
    "import datetime as dt\nx = dt.date.today()",
    "from datetime import date as D\nx = D.today()",
    "import time\nx = time.time()",
    "from time import time",
])
def test_checker_catches(source):
    assert violations(source)


@pytest.mark.parametrize("source", [
    "from datetime import datetime, timedelta\nx = datetime(2026, 1, 1) + timedelta(days=1)",
    "import time\nx = time.monotonic",
    "def now(): pass\nnow()",
    "from datetime import datetime\nx = datetime.fromisoformat('2026-01-01')",
])
def test_checker_allows(source):
    assert violations(source) == []
