"""Tender pages, one module per stage, all on the blueprint ``tender`` (``tender.views.common``), so every
endpoint is ``tender.<view>``:

- ``portal``: home, the list of tenders, the Atom feed, a tender's page, document downloads, bidders' questions;
- ``desk``: the agency's desk (its tenders, drafts, documents, publishing, amendments, cancelling, answers);
- ``bidform``: the bidder's own page of a tender, with the bid form packed and sealed in the browser;
- ``bidding``: the bid form's submissions, its resumable uploads (``tender.uploads.*``, tus), withdrawal and the receipt;
- ``opening``: the opening page, the shares presented, objections, the record as PDF;
- ``custodians``: a custodian's own age key (a section of *My account*), its registration challenge, their key
  shares.
"""
from __future__ import annotations

from tender.views import bidding, bidform, custodians, desk, opening, portal
from tender.views.common import bp

__all__ = ["bp", "bidding", "bidform", "custodians", "desk", "opening", "portal"]
