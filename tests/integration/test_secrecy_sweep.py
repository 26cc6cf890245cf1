"""Nothing a page, feed or API answer shows of an open tender changes with how many bid or who: the same tender
rendered with no bids and no downloads, and with three of each, gives the same bodies (after the per-request
tokens are set aside) to the public, to rival bidders, to the agency desk (which sees download counts only)
and to the opening page before the opening."""
from __future__ import annotations

import re

TOKENS = [re.compile(r'(name="csrf_token" value=")[^"]*(")'), re.compile(r'(nonce=")[^"]*(")'),
          re.compile(r'(<meta name="csrf-token" content=")[^"]*(")')]


def normalised(body: str) -> str:
    """``body`` with the per-request tokens (CSRF, CSP nonces) blanked out."""
    for pattern in TOKENS:
        body = pattern.sub(r"\1…\2", body)
    return body
