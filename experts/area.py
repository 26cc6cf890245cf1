"""The experts area as the composition root sees it: the expert pool and the verifiable draw."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from core.area import Area, NavEntry
from core.roles import Role
from experts import demo
from experts.actions import ACTIONS
from experts.cli import experts_group
from experts.service import KIND
from experts.views import bp


def _setup(app) -> None:
    """The application's sessions carry the key national IDs are HMACed with (experts.service.id_key_of)."""
    from experts.service import ID_KEY, national_id_key

    platform = app.extensions["sunbid"]
    sessions = platform.sessions
    sessions.kw["info"] = {**sessions.kw.get("info", {}), ID_KEY: national_id_key(platform.settings.secret_key)}


def _labels(labels) -> None:
    from experts import labels as expert_labels

    labels.register_actions(expert_labels.ACTIONS)
    labels.register_objects(expert_labels.OBJECTS)


AREA = Area(
    name="experts",
    blueprints=(bp,),
    commands=(experts_group,),
    models="experts.models",
    actions=ACTIONS,
    subject_kinds=(KIND,),
    nav=(NavEntry("experts.my_profile", _l("My expert profile"), 40, frozenset({Role.EXPERT})),
         NavEntry("experts.admin_pool", _l("Expert pool"), 75, frozenset({Role.ADMIN}))),
    pure=("experts.rules", "experts.draw"),
    labels=_labels,
    setup=_setup,
    demo=demo.plan,
    demo_summary=demo.summary,
)
