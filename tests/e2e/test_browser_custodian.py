"""A custodian registers their own age key in a real browser: the challenge sealed to it is downloaded, decrypted
offline with the real ``age -d`` and pasted back, at laptop and phone widths and in both languages."""
from __future__ import annotations

import hashlib
import subprocess

import pyrage
import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("width,lang", [(1280, "en"), (390, "zh_CN")])
def test_custodian_proves_and_registers_their_key(page, live_server, tmp_path, request, width, lang):
    shot = tmp_path / "failure.png"
    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())
    key = tmp_path / "key.txt"
    key.write_text(f"{identity}\n")
    try:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}/lang/{lang}")
        page.goto(f"{live_server}/login")
        page.fill("#username", "keeper1")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{live_server}/account")
        text = page.inner_text("#custody")
        assert "age-keygen -o key.txt" in text and "age -d -i key.txt sunbid-challenge.age" in text
        assert ("登记" in text) == (lang == "zh_CN")
        page.fill("#age-age_recipient", recipient)
        page.click('[data-testid="seal-challenge"]')
        page.wait_for_selector('[data-testid="challenge"]')
        with page.expect_download() as download:
            page.click('[data-testid="challenge"] a')
        sealed = tmp_path / "sunbid-challenge.age"
        download.value.save_as(sealed)
        answer = subprocess.run(["age", "-d", "-i", str(key), str(sealed)], capture_output=True, check=True,
                                text=True).stdout.strip()
        assert answer and answer not in page.content()  # the page holds only the sealed challenge
        page.fill("#ch-answer", answer)
        page.click('[data-testid="challenge"] button[type=submit]')
        page.wait_for_selector('[data-testid="age-fingerprint"]')
        assert page.inner_text('[data-testid="age-recipient"]') == recipient
        assert page.inner_text('[data-testid="age-fingerprint"]') == hashlib.sha256(recipient.encode()).hexdigest()[:16]
        page.goto(f"{live_server}/custodian/shares")
        assert page.is_visible('[data-testid="key-shares"]')
    except BaseException:
        page.screenshot(path=str(shot), full_page=True)
        artifacts = request.config.rootpath / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        (artifacts / f"browser-custodian-{width}-failure.png").write_bytes(shot.read_bytes())
        raise
