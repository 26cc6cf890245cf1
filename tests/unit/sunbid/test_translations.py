"""Both catalogues are complete: every string in the code has a Chinese translation that keeps its
placeholders, and the compiled .mo files match their .po sources."""
from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> set[str]:
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-k", "N_", "--no-location", "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as f:
        return {m.id for m in read_po(f) if m.id}


CHINESE = "zh_Hans_CN"  # Babel's name for zh_CN, so the catalogue's folder carries it


def _catalog(locale: str):
    with (ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=locale)


def test_every_string_has_a_chinese_translation(extracted):
    catalog = _catalog(CHINESE)
    missing = sorted(m for m in extracted if not catalog.get(m) or not catalog.get(m).string
                     or catalog.get(m).fuzzy)
    assert missing == [], f"{len(missing)} untranslated: {missing[:20]}"


def test_translations_keep_their_placeholders():
    catalog = _catalog(CHINESE)
    def texts(value):  # a plural entry holds a tuple of forms
        return value if isinstance(value, tuple) else (value,)

    broken = [m.id for m in catalog if m.id and m.string
              and any(set(PLACEHOLDER.findall(texts(m.id)[0])) != set(PLACEHOLDER.findall(form))
                      for form in texts(m.string))]
    assert broken == []


def test_english_catalogue_covers_the_code(extracted):
    catalog = _catalog("en")
    assert sorted(m for m in extracted if catalog.get(m) is None) == []


@pytest.mark.parametrize("locale", [CHINESE, "en"])
def test_compiled_catalogues_are_current(locale):
    buf = io.BytesIO()
    write_mo(buf, _catalog(locale))
    mo = ROOT / "translations" / locale / "LC_MESSAGES" / "messages.mo"
    assert mo.exists() and mo.read_bytes() == buf.getvalue(), "run: uv run pybabel compile -d translations"
