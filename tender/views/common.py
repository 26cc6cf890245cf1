"""The tender blueprint and what its pages share."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for

from core.errors import DomainError
from core.i18n import error_dict
from core.web import transaction

bp = Blueprint("tender", __name__)

PER_PAGE = 20


def error_message(exc: DomainError) -> str:
    return error_dict(exc)["message"]


def run_operation(tender_id: int, op, success, anchor: str = "", endpoint: str = "tender.detail"):
    """Run one service operation from a page; refusals come back as a flashed message.
    ``success`` is the message, or a function of the operation's result giving it."""
    try:
        with transaction() as s:
            result = op(s)
        flash(success(result) if callable(success) else success, "success")
    except DomainError as exc:
        if exc.status == 404:
            raise
        flash(error_message(exc), "danger")
    return redirect(url_for(endpoint, tender_id=tender_id, _anchor=anchor or None))
