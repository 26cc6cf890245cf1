"""The desk (``/desk``): the page every signed-in user lands on, showing the panels that the areas declare for
the reader's role (``core.area.DeskPanel``, kept on the app as ``app.extensions["sunbid"].desk``), in position
order.  Each panel's ``build`` reads what it shows; its own template renders it inside a card of the page."""
from __future__ import annotations

from flask import Blueprint, render_template
from markupsafe import Markup

from core.area import DeskPanel
from core.web import actor, db, now, permission, platform

bp = Blueprint("sunbid", __name__)


def panels_for(role: str | None) -> list[DeskPanel]:
    """The panels of every area shown to a reader of ``role``, in position order."""
    return [p for p in platform().desk if p.shown_to(role)]


@bp.get("/desk")
@permission()
def desk():
    s, who, t = db(), actor(), now()
    shown = []
    for panel in panels_for(who.role):
        context = {"now": t, **panel.build(s, who, t), "panel": panel}
        shown.append((panel, Markup(render_template(panel.template, **context))))
    return render_template("sunbid/desk.html", panels=shown, now=t)
