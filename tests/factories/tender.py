"""The tender area's test builders: custodians with their own age keys, tenders with documents, bidders who
obtained them."""
from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

from core.actor import Actor
from core.db import unit_of_work


def pdf_bytes(text: str = "Sunbid test document") -> bytes:
    body = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>endobj\n"
            b"4 0 obj<</Length " + str(len(body)).encode() + b">>stream\n" + body + b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


class TenderFactory:
    """Made through the tender services; needs the accounts builders (``user``, ``org``) beside it."""

    def register_recipient(self, who: Actor, identity: str) -> None:
        """``who`` (an approved custodian) registers the recipient of ``identity`` by answering the challenge
        sealed to it, decrypted with the real ``age -d``."""
        import subprocess
        import tempfile

        import pyrage

        from tender import custodians

        recipient = str(pyrage.x25519.Identity.from_str(identity).to_public())
        with unit_of_work(self.session):
            challenge = custodians.issue_recipient_challenge(self.session, actor=who, recipient=recipient,
                                                             now=self.clock.now())
        with tempfile.NamedTemporaryFile("w", suffix=".txt") as key:
            key.write(identity + "\n")
            key.flush()
            answer = subprocess.run(["age", "-d", "-i", key.name], input=challenge.sealed, capture_output=True,
                                    check=True).stdout.decode()
        with unit_of_work(self.session):
            result = custodians.register_age_recipient(self.session, actor=who, challenge_id=challenge.id,
                                                       answer=answer, now=self.clock.now())
        assert result.error is None, result.error

    def custodians(self, count: int = 3) -> dict:
        """Key custodians with their own age keys (made once), each of another organisation, approved by a
        supervisor and registered by the proof; returns username → identity."""
        import pyrage

        if self.custodian_keys is None:
            self.custodian_keys = {}
            for c in range(count):
                home = self.org("platform", name="Trading centre" if c == 0 else f"Custodian office {c}")
                who = self.user("custodian", org=home)
                identity = str(pyrage.x25519.Identity.generate())
                self.register_recipient(who, identity)
                self.custodian_keys[who.name] = identity
        return self.custodian_keys

    def tender_input(self, **overrides):
        from tender.inputs import TenderInput

        now = self.clock.now()
        values = dict(title="滨海市东湖区道路改造工程", regime="works", category="works", region="东湖区",
                      estimated_price=Decimal("1000000.00"), deposit=Decimal("20000.00"),
                      download_start=now + timedelta(hours=1), download_end=now + timedelta(days=7),
                      deadline=now + timedelta(days=21))
        values.update(overrides)
        return TenderInput(**values)

    def tender(self, agency: Actor | None = None, *, publish: bool = False, documents: int = 1, **overrides):
        from tender import publication

        agency = agency or self.user("agency")
        self.custodians()  # publication (here or over HTTP later) seals key shares to them
        blobs = self.app.extensions["sunbid"].blobs
        with unit_of_work(self.session):
            t = publication.create_tender(self.session, actor=agency, data=self.tender_input(**overrides),
                                          now=self.clock.now())
        for d in range(documents):
            with unit_of_work(self.session):
                publication.add_document(self.session, actor=agency, tender_id=t.id, filename=f"doc{d}.pdf",
                                         stream=io.BytesIO(pdf_bytes(f"doc {t.id} {d}")), blobs=blobs,
                                         limit=10**7, now=self.clock.now())
        if publish:
            with unit_of_work(self.session):
                publication.publish_tender(self.session, actor=agency, tender_id=t.id, now=self.clock.now())
        return t, agency

    def bidder_of(self, t) -> Actor:
        """A bidder who obtained the tender's documents, once their download period has begun (the clock
        moves 2 hours on when it has not)."""
        from tender import downloads

        bidder = self.user("bidder")
        if self.clock.now() < t.download_start:
            self.clock.advance(timedelta(hours=2))
        with unit_of_work(self.session):
            downloads.download_document(self.session, actor=bidder, tender_id=t.id, document_id=t.documents[0].id,
                                        now=self.clock.now())
        return bidder
