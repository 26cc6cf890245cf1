"""core.pdf: the one print layout (A4, the CJK font, page numbers) and the text read-back of the tests."""
from __future__ import annotations

import io

from flask import render_template_string
from pypdf import PdfReader

from core.pdf import html_to_pdf, pdf_text, print_context

DOCUMENT = """{% extends "core/print_base.html" %}
{% block title %}开标记录{% endblock %}
{% block page_size %}{{ size }}{% endblock %}
{% block footer %}ZB-2026-001 · 开标记录{% endblock %}
{% block content %}<h1>开标记录 Opening record</h1>{% for i in range(n) %}<p>第{{ i }}段：投标报价 ¥965,500.50</p>{% endfor %}
<code>9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08</code>{% endblock %}"""


def _fonts(reader: PdfReader) -> set[str]:
    names = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def _render(app, size="A4", n=3) -> bytes:
    with app.test_request_context("/"):
        return html_to_pdf(render_template_string(DOCUMENT, size=size, n=n, **print_context()))


def test_the_print_layout(app, caplog):
    data = _render(app)
    assert not [r for r in caplog.records if r.name.startswith("weasyprint")]  # every CSS rule was understood
    reader = PdfReader(io.BytesIO(data))
    page = reader.pages[0]
    assert round(float(page.mediabox.width) / 72 * 25.4) == 210 and round(float(page.mediabox.height) / 72 * 25.4) == 297
    fonts = _fonts(reader)
    assert any(name.endswith("+Noto-Sans-CJK-SC") for name in fonts), fonts  # Chinese in the CJK face
    assert any(name.endswith("+Noto-Sans-Mono-CJK-SC") for name in fonts), fonts  # and hashes in its mono face
    text = pdf_text(data)
    assert "开标记录 Opening record" in text and "¥965,500.50" in text
    assert "ZB-2026-001 · 开标记录" in text and "1 / 1" in text  # the footer and the page numbers


def test_landscape_and_page_numbers(app):
    data = _render(app, size="A4 landscape", n=120)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) > 1
    assert float(reader.pages[0].mediabox.width) > float(reader.pages[0].mediabox.height)
    last = reader.pages[-1].extract_text()
    assert f"{len(reader.pages)} / {len(reader.pages)}" in last


def test_read_back_joined_and_from_a_file(app, tmp_path):
    data = _render(app)
    assert "第0段：投标报价¥965,500.50" in pdf_text(data, joined=True)
    path = tmp_path / "x.pdf"
    path.write_bytes(data)
    assert pdf_text(str(path)) == pdf_text(data)
