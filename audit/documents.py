"""Documents the platform issues as signed PDFs, each kept once per content.

An area that issues a document (the tender area its opening record, later the evaluation its report) hands
over what identifies the document's content — ``source``, the SHA-256 of what it prints less the time of issue —
and a function that prints it.  The first request for a content signs the PDF (``audit.signing``), keeps it as a
blob and a row, and the area records its own audit action with the PDF's SHA-256 in the same transaction; every
later request for that content gets the same bytes, and logs nothing.  When the content changes (an objection
answered), the next request issues a new document.
"""
from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from audit import signing
from audit.models import IssuedDocument


@dataclass(frozen=True)
class Issued:
    document: IssuedDocument
    pdf: bytes
    new: bool
    """Signed and kept by this call: the caller records its audit action (``payload(issued)``)."""

    def payload(self) -> dict:
        return {"document": self.document.kind, "sha256": self.document.sha256, "size": self.document.size}


def source_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def find(session: Session, *, kind: str, subject: tuple[str, object], source: str) -> IssuedDocument | None:
    subject_kind, subject_id = subject
    return session.scalar(sa.select(IssuedDocument).where(
        IssuedDocument.kind == kind, IssuedDocument.subject_kind == subject_kind,
        IssuedDocument.subject_id == str(subject_id), IssuedDocument.source == source))


def issue(session: Session, *, kind: str, subject: tuple[str, object], source: str, render: Callable[[], bytes],
          reason: str, settings, blobs, now: datetime) -> Issued:
    """The document of this content: the one kept, or ``render()`` signed, stored and added now."""
    kept = find(session, kind=kind, subject=subject, source=source)
    if kept is not None:
        with blobs.open(kept.sha256) as f:
            return Issued(kept, f.read(), new=False)
    pdf = signing.sign_pdf(render(), signing.identity(settings), reason=reason,
                           location=settings.base_url or settings.log_origin)
    stored = blobs.put_stream(io.BytesIO(pdf), limit=len(pdf))
    subject_kind, subject_id = subject
    row = IssuedDocument(kind=kind, subject_kind=subject_kind, subject_id=str(subject_id), source=source,
                         sha256=stored.sha256, size=stored.size, issued_at=now)
    session.add(row)
    session.flush()
    return Issued(row, pdf, new=True)
