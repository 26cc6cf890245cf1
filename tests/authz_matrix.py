"""Who may reach each route: (endpoint, method) → EVERYONE, LOGGED_IN or the roles allowed.

Kept as data so that an area adds its rows with its routes; tests/integration/sunbid/test_authorization_matrix.py
requests every route of the URL map as every role and anonymously and checks each answer against its row.

A row narrower than the route's ``@permission`` records an object policy that refuses with 403 (documents
are downloaded by bidders only).  Refusals of another's object (a tender of another agency, another
bidder's bid) answer 404, so that a probe learns nothing, and count as allowed here: the route was reached."""
from __future__ import annotations

from core.roles import Role

ANONYMOUS = "anonymous"
EVERYONE = "everyone"
"""Anyone, without logging in."""
LOGGED_IN = "logged_in"
"""Any logged-in user, whatever the role."""

A, AG, B, E, C, S = Role.ADMIN, Role.AGENCY, Role.BIDDER, Role.EXPERT, Role.CUSTODIAN, Role.SUPERVISOR

MATRIX: dict[tuple[str, str], object] = {
    ("tender.home", "GET"): EVERYONE,
    ("sunbid.desk", "GET"): LOGGED_IN,  # every role its own panels; anonymous: to the login page
    ("core.account", "GET"): LOGGED_IN,
    ("core.account", "POST"): LOGGED_IN,
    ("tender.recipient_challenge", "GET"): (C,),
    ("core.admin_organisations", "GET"): (A,),
    ("core.admin_organisations", "POST"): (A,),
    ("core.admin_users", "GET"): (A,),
    ("core.admin_users", "POST"): (A,),
    ("core.admin_user_active", "POST"): (A,),
    ("core.admin_role_request", "POST"): (A,),
    ("core.admin_user_edit", "GET"): (A,),
    ("core.admin_user_edit", "POST"): (A,),
    ("core.admin_user_password", "POST"): (A,),
    ("core.admin_organisation_edit", "GET"): (A,),
    ("core.admin_organisation_edit", "POST"): (A,),
    ("experts.my_profile", "GET"): (E,),  # found by the signed-in account: nobody else's profile can be asked for
    ("experts.my_profile", "POST"): (E,),
    ("experts.admin_pool", "GET"): (A,),
    ("experts.admin_import", "POST"): (A,),
    ("experts.admin_expert", "GET"): (A,),
    ("experts.admin_expert_status", "POST"): (A,),
    ("tender.my_tenders", "GET"): (AG,),
    ("tender.amend", "POST"): (AG,),
    ("tender.cancel", "POST"): (AG,),
    ("tender.upload_document", "POST"): (AG,),
    ("tender.delete_document", "POST"): (AG,),
    ("tender.edit_tender", "GET"): (AG,),
    ("tender.edit_tender", "POST"): (AG,),
    ("tender.publish", "POST"): (AG,),
    ("tender.answer", "POST"): (AG,),
    ("tender.new_tender", "GET"): (AG,),
    ("tender.new_tender", "POST"): (AG,),
    ("audit_api.checkpoints", "GET"): EVERYONE,
    ("audit_api.cosignature", "POST"): EVERYONE,
    ("audit_api.entries", "GET"): EVERYONE,
    ("audit_api.consistency", "GET"): EVERYONE,
    ("audit_api.inclusion", "GET"): EVERYONE,
    ("tender_api.receipt", "GET"): (B,),
    ("tender_api.withdraw", "POST"): (B,),
    ("core_api.me", "GET"): LOGGED_IN,
    ("core_api.openapi", "GET"): EVERYONE,
    ("tender_api.tenders", "GET"): EVERYONE,
    ("tender_api.tender", "GET"): EVERYONE,
    ("tender_api.my_bids", "GET"): (B,),
    ("tender_api.submit_bid", "POST"): (B,),
    ("tender_api.create_upload", "POST"): (B,),
    ("tender_api.upload_options", "OPTIONS"): EVERYONE,
    ("core_api.create_token", "POST"): LOGGED_IN,
    ("core_api.tokens", "GET"): LOGGED_IN,
    ("tender_api.upload_append", "PATCH"): (B,),
    ("tender_api.upload_item_options", "OPTIONS"): EVERYONE,
    ("tender_api.upload_overridden", "POST"): (B,),
    ("tender_api.upload_status", "GET"): (B,),
    ("tender_api.upload_terminate", "DELETE"): (B,),
    ("audit_text.checkpoint", "GET"): EVERYONE,
    ("audit.log", "GET"): (A, S),
    ("audit.entry", "GET"): (A, S),
    ("audit.replay", "GET"): (S,),
    ("audit.replay_pdf", "GET"): (S,),
    ("audit_text.vkey", "GET"): EVERYONE,
    ("audit_text.certificate", "GET"): EVERYONE,
    ("tender.bid_receipt", "GET"): (B,),
    ("tender.withdraw_bid", "POST"): (B,),
    ("tender.my_key_shares", "GET"): (C,),
    ("core.set_language", "GET"): EVERYONE,
    ("core.login", "GET"): EVERYONE,
    ("core.login", "POST"): EVERYONE,
    ("core.logout", "POST"): LOGGED_IN,
    ("core.role_requests", "GET"): (A, S),
    ("core.decide_role_request", "POST"): (S,),
    ("tender.tender_list", "GET"): EVERYONE,
    ("tender.detail", "GET"): EVERYONE,
    ("tender.submit_bid", "POST"): (B,),
    ("tender.download", "GET"): (A, AG, B, S),  # logged in, but only bidders download (counted); custodians and experts: 403
    ("tender.key_share", "GET"): (C,),
    ("tender.opening_page", "GET"): EVERYONE,
    ("tender.opening_pdf", "GET"): EVERYONE,
    ("tender.opening_answer", "POST"): (AG,),
    ("tender.open_bids", "POST"): (AG,),
    ("tender.opening_respond", "POST"): (B,),
    ("tender.present_share", "POST"): (C,),
    ("tender.ask", "POST"): (B,),
    ("tender.uploads.create_upload", "POST"): (B,),
    ("tender.uploads.upload_options", "OPTIONS"): EVERYONE,
    ("tender.feed", "GET"): EVERYONE,
    ("tender.uploads.upload_append", "PATCH"): (B,),
    ("tender.uploads.upload_item_options", "OPTIONS"): EVERYONE,
    ("tender.uploads.upload_overridden", "POST"): (B,),
    ("tender.uploads.upload_status", "GET"): (B,),
    ("tender.uploads.upload_terminate", "DELETE"): (B,),
    ("tender.upload_done", "GET"): (B,),
    ("tender.bid_form", "GET"): (B,),
}
