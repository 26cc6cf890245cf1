"""The kernel's pure modules (and the tender area's policies) import no web framework or database and
read no clock, by the same checker as every rules.py."""
from __future__ import annotations

import pytest

from tests.unit.test_purity import ROOT, violations

PURE = ("core/money.py", "core/calendar.py", "core/roles.py", "tender/policy.py")


@pytest.mark.parametrize("path", PURE)
def test_kernel_module_is_pure(path):
    assert violations((ROOT / path).read_text(encoding="utf-8")) == []


def test_the_checker_sees_a_clock_read():
    assert violations("from datetime import datetime\nx = datetime.now()\n")
