"""The tender area's audit actions with their disclosure rules, and what the audit area asks of a tender
to apply them: its current deadline (电子招标投标办法 art. 21: who obtained the documents, and so who may bid,
stays secret until the deadline; an amendment that moves the deadline moves the disclosure with it)."""
from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.disclosure import Action
from audit.rules import Disclosure, Subject
from tender.models import Tender

PUBLIC, AFTER_DEADLINE, SUPERVISORS = Disclosure.PUBLIC, Disclosure.AFTER_DEADLINE, Disclosure.SUPERVISORS

ACTIONS: tuple[Action, ...] = (
    # drafting: not public before publication; once the deadline has passed, harmless
    Action("tender.created", AFTER_DEADLINE),
    Action("tender.updated", AFTER_DEADLINE),
    Action("document.added", AFTER_DEADLINE),
    Action("document.removed", AFTER_DEADLINE),
    # the public notices
    Action("tender.published", PUBLIC, key=True),
    Action("tender.amended", PUBLIC),
    Action("tender.cancelled", PUBLIC, key=True),
    # who takes part, and how many: secret until the deadline
    Action("document.downloaded", AFTER_DEADLINE),
    Action("question.asked", AFTER_DEADLINE),
    Action("question.answered", AFTER_DEADLINE),
    Action("bid.upload_created", AFTER_DEADLINE),
    Action("bid.upload_terminated", AFTER_DEADLINE),
    Action("bid.upload_closed", AFTER_DEADLINE),
    Action("bid.submitted", AFTER_DEADLINE),
    Action("bid.withdrawn", AFTER_DEADLINE),
    # the opening happens after the deadline, in public
    Action("opening.share_presented", AFTER_DEADLINE),
    Action("opening.completed", AFTER_DEADLINE, key=True),
    Action("bid.opened", AFTER_DEADLINE, key=True),
    Action("opening.confirmed", AFTER_DEADLINE),
    Action("opening.objection", AFTER_DEADLINE),
    Action("opening.objection_answered", AFTER_DEADLINE),
    Action("opening.record_issued", AFTER_DEADLINE),  # the signed PDF of the opening record: its SHA-256
    # key custodians' own age recipients (filed under the custodian's user, named as when the accounts kept
    # them): which key is a custodian's is for everyone to check; the steps of the proof are for supervisors
    Action("user.age_recipient_registered", PUBLIC),
    Action("user.age_recipient_challenged", SUPERVISORS),
    Action("user.age_recipient_proof_failed", SUPERVISORS),
    Action("user.age_recipient_set", SUPERVISORS),  # set without proof, before migration 0006; no longer recorded
)


def subjects(session: Session, tender_ids: Collection[int]) -> dict[int, Subject]:
    """Each known tender's current deadline, read now; none for a tender never published (its drafts stay
    with supervisors).  The evaluation has not landed yet: nothing is ever "after the evaluation"."""
    rows = session.execute(select(Tender.id, Tender.deadline, Tender.published_at)
                           .where(Tender.id.in_(sorted(tender_ids))))
    return {tid: Subject(deadline=deadline if published_at is not None else None)
            for tid, deadline, published_at in rows}
