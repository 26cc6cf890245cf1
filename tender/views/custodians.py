"""A key custodian's pages: their own age key, registered by proof on *My account* (the section ``KeySection``
the tender area adds to the accounts' page, ``accounts.hooks``), the registration challenge as an age file,
the tenders whose key shares are sealed to them, and each share."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.roles import Role
from core.web import actor, db, now, permission, transaction
from tender import custodians, custody, service
from tender.custody_rules import recipient_fingerprint
from tender.forms import ChallengeAnswerForm, RecipientForm
from tender.views.common import bp


class KeySection:
    """The custodian's age key on *My account* (an ``accounts.hooks.AccountSection``): the recipient registered
    and its fingerprint, the open challenge, and the two forms (a recipient to seal a challenge to, the answer
    that registers it), posted to ``/account``."""

    template = "tender/account_key.html"

    def __init__(self) -> None:
        self.age_form = RecipientForm(prefix="age")
        self.answer_form = ChallengeAnswerForm(prefix="ch")
        self.recipient: str | None = None
        self.fingerprint: str | None = None
        self.challenge = None
        self.challenge_fingerprint: str | None = None

    def owns(self) -> bool:
        return "age-age_recipient" in request.form or "ch-answer" in request.form

    def post(self):
        if "age-age_recipient" in request.form and self.age_form.validate_on_submit():
            with transaction() as s:
                custodians.issue_recipient_challenge(s, actor=actor(), recipient=self.age_form.age_recipient.data,
                                                     now=now())
            flash(_("A challenge is sealed to this recipient: decrypt it with your identity file and paste "
                    "what age prints."), "info")
            return redirect(url_for("core.account", _anchor="custody"))
        if "ch-answer" in request.form and self.answer_form.validate_on_submit():
            with transaction() as s:
                result = custodians.register_age_recipient(s, actor=actor(), now=now(),
                                                           challenge_id=int(self.answer_form.challenge.data),
                                                           answer=self.answer_form.answer.data)
            if result.error is not None:
                flash(result.error.to_dict(_)["message"], "danger")
            else:
                flash(_("Your age recipient is registered; new tenders' key shares will be sealed to it."),
                      "success")
            return redirect(url_for("core.account", _anchor="custody"))
        return None

    def error_form(self):
        return self.age_form if "age-age_recipient" in request.form else self.answer_form

    def prepare(self) -> None:
        who = actor()
        self.recipient = custodians.recipient_of(db(), who.user_id)
        self.fingerprint = recipient_fingerprint(self.recipient) if self.recipient else None
        self.challenge = custodians.open_recipient_challenge(db(), actor=who, now=now())
        if self.challenge is not None:
            self.answer_form.challenge.data = str(self.challenge.id)
            self.challenge_fingerprint = recipient_fingerprint(self.challenge.recipient)


@bp.get("/account/challenge.age")
@permission(Role.CUSTODIAN)
def recipient_challenge():
    """The custodian's open registration challenge, an age file sealed to the recipient being registered."""
    challenge = custodians.open_recipient_challenge(db(), actor=actor(), now=now())
    if challenge is None:
        abort(404)
    return Response(challenge.sealed, mimetype="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename=sunbid-challenge-{challenge.id}.age"})


@bp.get("/custodian/shares")
@permission(Role.CUSTODIAN)
def my_key_shares():
    """The tenders whose opening-key shares are sealed to this custodian, each with the fingerprint of the
    recipient it was sealed to, so a custodian sees a share sealed to a key that is not theirs."""
    who = actor()
    recipient = custodians.recipient_of(db(), who.user_id)
    mine = recipient_fingerprint(recipient) if recipient else None
    rows = [(share, tender, recipient_fingerprint(share.recipient) if share.recipient else None)
            for share, tender in custody.shares_held_by(db(), actor=who)]
    return render_template("tender/key_shares.html", rows=rows, mine=mine, now=now(), state=service.status)


@bp.get("/tenders/<id:tender_id>/key-share.age")
@permission(Role.CUSTODIAN)
def key_share(tender_id: int):
    """A custodian's own share of the opening key, sealed to the custodian's age recipient."""
    share = custody.sealed_share_for(db(), actor=actor(), tender_id=tender_id)
    return Response(share.sealed, mimetype="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename=tender-{tender_id}-share-{share.position}.age"})
