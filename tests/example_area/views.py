"""The example area's page: its notes, and a form to add one."""
from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from sqlalchemy import select

from core.db import unit_of_work
from core.roles import Role
from core.web import actor, db, now, permission
from tests.example_area import rules, service
from tests.example_area.models import Note

bp = Blueprint("example", __name__, url_prefix="/example")


@bp.route("/notes", methods=["GET", "POST"])
@permission(Role.ADMIN)
def notes():
    if request.method == "POST":
        with unit_of_work(db()):
            book = request.form.get("book", "1")
            service.add_note(db(), actor=actor(), text=rules.tidy(request.form.get("text", "")), now=now(),
                             book=int(book) if book.isascii() and book.isdigit() and len(book) < 10 else 1)
        return redirect(url_for("example.notes"))
    texts = db().scalars(select(Note.text).order_by(Note.id))
    return "\n".join(texts), 200, {"Content-Type": "text/plain; charset=utf-8"}
