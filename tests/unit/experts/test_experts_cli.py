"""``sunbid experts verify-draw``: exit codes and messages, with no database."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from sunbid.cli import main
from tests.unit.experts.test_expert_draw import documented_example


def _write(tmp_path: Path, doc) -> str:
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_a_published_draw_verifies_without_a_database(tmp_path):
    env = {**os.environ, "SUNBID_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
           "SUNBID_DATA_DIR": str(tmp_path / "nowhere")}
    out = subprocess.run([sys.executable, "-m", "sunbid.cli", "experts", "verify-draw",
                          _write(tmp_path, documented_example())],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("OK: draw verifies")
    assert not (tmp_path / "nowhere").exists()


def test_an_altered_draw_names_the_field_and_exits_1(tmp_path):
    doc = documented_example()
    doc["drawn"][0]["expert"] = "E000105"
    result = CliRunner().invoke(main, ["experts", "verify-draw", _write(tmp_path, doc)])
    assert result.exit_code == 1
    assert "MISMATCH in field 'drawn'" in result.output
    assert "drawn[0] should be E000104" in result.output


def test_unreadable_input_exits_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    result = CliRunner().invoke(main, ["experts", "verify-draw", str(bad)])
    assert result.exit_code == 2 and "is not JSON" in result.output
    result = CliRunner().invoke(main, ["experts", "verify-draw", str(tmp_path / "missing.json")])
    assert result.exit_code == 2 and "cannot read" in result.output
