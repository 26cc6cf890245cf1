"""The tender area as the composition root sees it."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from audit.replay import Replayer
from core.area import Area, NavEntry
from core.roles import Role
from tender import portal, replay
from tender.actions import ACTIONS, subjects
from tender.api import bp as api_bp
from tender.cli import bid_group, receipt_group
from tender.desk import PANELS as DESK
from tender import demo
from tender.openapi import PATHS
from tender.views import bp as views_bp

AGENCY = frozenset({Role.AGENCY})


def _setup(app) -> None:
    from accounts.hooks import hooks_of
    from tender.custodians import forget_recipient
    from tender.unseal import sweep, work_root
    from tender.views.custodians import KeySection

    sweep(work_root(app.extensions["sunbid"].settings.data_dir))  # what an opening interrupted by a crash left
    hooks = hooks_of(app)  # a key custodian's own age key: on their account page, forgotten with their role
    hooks.add_account_section(KeySection)
    hooks.on_role_removed(forget_recipient)


def _labels(labels) -> None:
    from tender import labels as tender_labels

    labels.register_actions(tender_labels.ACTIONS)
    labels.register_objects(tender_labels.OBJECTS)
    labels.register_fields(tender_labels.FIELDS, tender_labels.PRESENTERS)
    labels.register_tender_finder(tender_labels.find_tender)


AREA = Area(
    name="tender",
    blueprints=(views_bp, api_bp),
    api_blueprints=(api_bp,),
    commands=(bid_group, receipt_group),
    models="tender.models",
    blob_columns=("Document.sha256", "Bid.sha256"),
    actions=ACTIONS,
    subjects=subjects,
    subject_kinds=("tender",),
    replayers={"tender": Replayer(replay.fold, portal.snapshot, replay.diff, kind="tender")},
    demo=demo.plan,
    demo_summary=demo.summary,
    nav=(NavEntry("tender.tender_list", _l("Tenders"), 10),
         NavEntry("tender.my_tenders", _l("My tenders"), 20, AGENCY),
         NavEntry("tender.new_tender", _l("New tender"), 21, AGENCY),
         NavEntry("tender.my_key_shares", _l("My key shares"), 50, frozenset({Role.CUSTODIAN}))),
    desk=DESK,
    pure=("tender.rules", "tender.custody_rules", "tender.policy", "tender.inputs", "tender.replay", "tender.sealing",
          "tender.receipts", "tender.bidpackage"),
    openapi=PATHS,
    labels=_labels,
    setup=_setup,
)
