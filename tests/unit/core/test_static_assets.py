"""core.static_assets: subresource-integrity values of static files, and the vendored bundles' READMEs agree."""
from __future__ import annotations

import base64
import hashlib
import re

import pytest

from core.static_assets import STATIC, static_integrity, static_path

BUNDLE = "vendor/age-encryption/age.min.js"


def test_static_integrity_is_the_sha384_of_the_file():
    data = (STATIC / BUNDLE).read_bytes()
    assert static_integrity(BUNDLE) == "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def test_the_age_bundle_readme_names_its_real_digests():
    readme = (STATIC / "vendor" / "age-encryption" / "README.md").read_text(encoding="utf-8")
    data = (STATIC / BUNDLE).read_bytes()
    assert re.findall(r"sha384-[A-Za-z0-9+/]{64}", readme) == [static_integrity(BUNDLE)]
    assert re.search(r"SHA-256 \(age\.min\.js\) ([0-9a-f]{64})", readme)[1] == hashlib.sha256(data).hexdigest()


def test_the_bundle_keeps_its_licences():
    folder = STATIC / "vendor" / "age-encryption"
    assert "The age Authors" in (folder / "LICENSE").read_text()
    for name in ("noble-ciphers", "noble-curves", "noble-hashes", "noble-post-quantum", "scure-base"):
        assert "MIT License" in (folder / f"LICENSE.{name}").read_text()
    assert (folder / "build" / "package-lock.json").is_file()


def test_a_changed_file_gets_its_new_value(tmp_path, monkeypatch):
    import core.static_assets as assets

    monkeypatch.setattr(assets, "STATIC", tmp_path)
    (tmp_path / "x.js").write_bytes(b"one")
    first = assets.static_integrity("x.js")
    (tmp_path / "x.js").write_bytes(b"other")
    assert assets.static_integrity("x.js") != first
    assert assets.static_integrity("x.js") == "sha384-" + base64.b64encode(hashlib.sha384(b"other").digest()).decode()


@pytest.mark.parametrize("path", ["", "/etc/passwd", "../pyproject.toml", "vendor/../../pyproject.toml", "nope.js",
                                  "vendor", "a\\b"])
def test_only_files_under_static(path):
    with pytest.raises(ValueError):
        static_path(path)
