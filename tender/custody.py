"""The opening key's custody: the key made at publication and split among key custodians, each share sealed to
its custodian's own age recipient; who holds the shares of a tender, and a custodian's own shares."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from accounts.models import User
from core.actor import Actor
from core.errors import N_, InvalidInput, NotFound
from core.roles import Role
from tender import policy, rules, sealing
from tender.custodians import registered_custodians, verified_registration
from tender.custody_rules import recipient_fingerprint
from tender.models import KeyShare, OpeningKey, Tender


def make_opening_key(session: Session, t: Tender, settings: rules.RuleSettings, now: datetime) -> dict[str, Any]:
    """Make the tender's opening key, split it k-of-n among custodians, seal each share to its custodian's own
    age recipient, keep the public recipient and forget the identity (电子招标投标办法 art. 27).

    Custodians are the active ones whose role a supervisor approved, chosen one per organisation in turn.
    Before anything is sealed: each custodian's recipient must be the one their proven registration logged,
    verified in the audit chain (``tender.custodians.verified_registration``), so a recipient written only into the
    database is refused, never used; and no organisation may hold k of the n shares
    (``rules.check_custodian_spread``).  The notice and its audit entry name each custodian and the fingerprint of their recipient."""
    k, n = settings.opening_threshold, settings.opening_custodians
    candidates = registered_custodians(session)
    by_id = {u.id: (u, recipient) for u, recipient in candidates}
    chosen = [by_id[i] for i in rules.choose_custodians([(u.id, u.organisation_id) for u, _ in candidates], n)]
    if len(chosen) < n:
        raise InvalidInput(N_("Publication needs %(n)s key custodians with a registered age recipient; "
                              "%(have)s are available."), field="custodians", n=n, have=len(chosen))
    custodians = [u for u, _ in chosen]
    recipients = {u.id: recipient for u, recipient in chosen}
    registrations = [verified_registration(session, u, recipients[u.id]) for u in custodians]
    rules.check_custodian_spread([(u.organisation_id, u.organisation.name) for u in custodians], k=k)
    key = sealing.new_opening_key()
    recipient = key.recipient
    shares = sealing.split_identity(key.identity, k=k, n=n, tender_ref=t.project_code)
    del key  # from here on the identity exists only as shares, each sealed to one custodian
    sealed, named = [], []
    for position, (custodian, share, seq) in enumerate(zip(custodians, shares, registrations, strict=True), start=1):
        blob = sealing.seal_share(share, recipient=recipients[custodian.id])
        digest = hashlib.sha256(blob).hexdigest()
        session.add(KeyShare(tender_id=t.id, custodian_id=custodian.id, position=position, sealed=blob,
                             sealed_sha256=digest, recipient=recipients[custodian.id], registration_seq=seq))
        sealed.append([position, custodian.username, digest])
        named.append({"position": position, "custodian_id": custodian.id, "name": custodian.display_name,
                      "organisation": custodian.organisation.name,
                      "recipient_fingerprint": recipient_fingerprint(recipients[custodian.id]),
                      "registration_seq": seq})
    del shares
    session.add(OpeningKey(tender_id=t.id, recipient=recipient, threshold=k, shares=n, created_at=now))
    return {"recipient": recipient, "threshold": k, "shares": sealed, "custodians": named}


def key_custodians(session: Session, tender_id: int) -> list[dict[str, Any]]:
    """Who holds the shares of a tender's opening key, for its public notice: position, custodian's name and
    organisation, and the fingerprint of the recipient the share was sealed to (``tender.custody_rules.recipient_fingerprint``)."""
    rows = session.execute(select(KeyShare, User).join(User, User.id == KeyShare.custodian_id)
                           .where(KeyShare.tender_id == tender_id).order_by(KeyShare.position)).all()
    return [{"position": share.position, "name": user.display_name, "organisation": user.organisation.name,
             "recipient_fingerprint": recipient_fingerprint(share.recipient) if share.recipient else None}
            for share, user in rows]


def opening_key_dict(t: Tender) -> dict[str, Any] | None:
    session = object_session(t)
    key = session.get(OpeningKey, t.id)
    return {"recipient": key.recipient, "threshold": key.threshold, "shares": key.shares,
            "custodians": key_custodians(session, t.id)} if key else None


def shares_held_by(session: Session, *, actor: Actor) -> list[tuple[KeyShare, Tender]]:
    """A custodian's own key shares, newest tender first, each with the recipient it was sealed to."""
    if actor.role != Role.CUSTODIAN or actor.user_id is None:
        raise NotFound()
    return [(share, tender) for share, tender in session.execute(
        select(KeyShare, Tender).join(Tender, Tender.id == KeyShare.tender_id)
        .where(KeyShare.custodian_id == actor.user_id).order_by(Tender.published_at.desc(), Tender.id.desc()))]


def sealed_share_for(session: Session, *, actor: Actor, tender_id: int) -> KeyShare:
    """A custodian's own sealed share (the age file only that custodian's identity opens); anyone else: 404."""
    share = session.scalar(select(KeyShare).where(KeyShare.tender_id == tender_id,
                                                  KeyShare.custodian_id == actor.user_id))
    if share is None or not policy.holds_share(actor, share):
        raise NotFound()
    return share


def own_share(session: Session, *, actor: Actor, tender_id: int) -> KeyShare | None:
    """The actor's own sealed share of the tender's opening key when the actor is a custodian holding one, else
    None (for the pages, which show a custodian's share and nothing to anyone else)."""
    if actor.role != Role.CUSTODIAN:
        return None
    try:
        return sealed_share_for(session, actor=actor, tender_id=tender_id)
    except NotFound:
        return None
