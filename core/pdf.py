"""The one PDF renderer: HTML from a template extending ``core/print_base.html`` (A4, the CJK font family,
page numbers) made into PDF by WeasyPrint; and ``pdf_text``, the text of a PDF read back with pypdf, which
the tests use to check what a printed document says.

Every area prints through here (the audit replay, the opening record, the demo's documents), so each
document looks the same and a font or layout change is made once.
"""
from __future__ import annotations

import io
import re
from typing import Any

FONT = '"Noto Sans CJK SC", sans-serif'
"""The font family of every printed document (fonts-noto-cjk): Chinese and Latin text in one face."""
MONO_FONT = '"Noto Sans Mono CJK SC", monospace'
"""For hashes and keys."""
LAYOUT = "core/print_base.html"


def html_to_pdf(html: str) -> bytes:
    """A whole HTML document as PDF bytes (WeasyPrint; nothing is fetched from the network)."""
    from weasyprint import HTML

    return HTML(string=html, url_fetcher=_no_fetch).write_pdf()


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict:
    raise ValueError(f"a printed document fetches nothing: {url}")


def print_context() -> dict[str, Any]:
    """What ``core/print_base.html`` needs besides the document's own context: ``pdf`` (a template that is
    also a page prints itself), the font families (CSS, not to be HTML-escaped)."""
    from markupsafe import Markup

    return {"pdf": True, "pdf_font": Markup(FONT), "pdf_mono_font": Markup(MONO_FONT)}


def render_pdf(template: str, **context: Any) -> bytes:
    """A template extending ``core/print_base.html`` rendered in the current request or app context, as PDF."""
    from flask import render_template

    return html_to_pdf(render_template(template, **print_context(), **context))


def pdf_text(data: bytes | str, *, joined: bool = False) -> str:
    """The text of a PDF (bytes, or a path), page after page, read back with pypdf.  ``joined``: every
    whitespace removed, so that words a table cell wrapped read as one."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data) if isinstance(data, bytes) else data)
    text = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", "", text) if joined else text
