"""No one alone can open bids early: custodians prove their own age recipient, a supervisor approves what an
administrator asks, publication checks each recipient against its logged registration and refuses shares one
organisation could open alone, and notices name the custodians with their keys' fingerprints."""
from __future__ import annotations

import hashlib
import json
import logging
import re
import subprocess
from datetime import timedelta

import pyrage
import pytest
from sqlalchemy import func, select, text

from audit.models import AuditEntry
from accounts import rules as accounts_rules
from accounts import service
from core.actor import Actor
from core.db import unit_of_work
from core.errors import DomainError, PermissionDenied
from accounts.models import RoleRequest, User
from tender import custodians, custody_rules, publication
from tender import rules as tender_rules
from tender.models import CustodianKey, KeyShare, OpeningKey, RecipientChallenge, Tender
from tests.conftest import PASSWORD, login


def _entries(session, action: str, user_id: int | None = None) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
    if user_id is not None:
        stmt = stmt.where(AuditEntry.object_id == str(user_id))
    return list(session.scalars(stmt))


def _age_decrypt(tmp_path, identity: str, sealed: bytes) -> str:
    key = tmp_path / "key.txt"
    key.write_text(f"# created: by the custodian\n{identity}\n")
    challenge = tmp_path / "sunbid-challenge.age"
    challenge.write_bytes(sealed)
    return subprocess.run(["age", "-d", "-i", str(key), str(challenge)], capture_output=True, check=True,
                          text=True).stdout


def _recipient(session, user_id: int) -> str | None:
    session.expire_all()
    return custodians.recipient_of(session, user_id)


def _custodian(make, org=None) -> Actor:
    """An approved custodian without a recipient yet."""
    return make.user("custodian", org=org or make.org("platform"))


def _write_key(connection, user_id: int, recipient: str) -> None:
    """A custodian's recipient written straight into the database, as someone with write access could."""
    if connection.execute(text("SELECT count(*) FROM tender_custodian_key WHERE user_id = :i"),
                          {"i": user_id}).scalar():
        connection.execute(text("UPDATE tender_custodian_key SET recipient = :r WHERE user_id = :i"),
                           {"r": recipient, "i": user_id})
    else:
        connection.execute(text("INSERT INTO tender_custodian_key (user_id, recipient, registered_at) "
                                "SELECT id, :r, created_at FROM core_user WHERE id = :i"), {"r": recipient, "i": user_id})


def _publish(session, agency, t, clock):
    # end the test session's own transaction first: a refusal then rolls back the publication only, not what
    # the HTTP requests before it committed
    session.commit()
    with unit_of_work(session):
        publication.publish_tender(session, actor=agency, tender_id=t.id, now=clock.now())


# ---------------------------------------------------------------- 1. registration by proof

def test_a_custodian_registers_their_recipient_by_decrypting_the_challenge_with_real_age(make, session, client,
                                                                                         tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    who = _custodian(make)
    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())
    login(client, who.name)
    page = client.get("/account").get_data(as_text=True)
    assert "age-keygen -o key.txt" in page and "age -d -i key.txt sunbid-challenge.age" in page
    client.post("/account", data={"age-age_recipient": recipient})
    page = client.get("/account").get_data(as_text=True)
    assert "BEGIN AGE ENCRYPTED FILE" in page and custody_rules.recipient_fingerprint(recipient) in page
    assert _recipient(session, who.user_id) is None  # nothing registered before the proof
    sealed = client.get("/account/challenge.age").data
    answer = _age_decrypt(tmp_path, str(identity), sealed)
    assert re.fullmatch(r"[0-9a-f]{32}\n", answer)  # 128 random bits
    challenge = session.scalar(select(RecipientChallenge).where(RecipientChallenge.user_id == who.user_id))
    # stored only as its SHA-256, never in clear: not in the challenge row, the audit log, nor any log line
    assert challenge.answer_sha256 == hashlib.sha256(answer.strip().encode()).hexdigest()
    plain = answer.strip()
    dump = "\n".join(str(row) for table in ("tender_recipient_challenge", "audit_entry", "tender_custodian_key",
                                            "core_user")
                     for row in session.execute(text(f"SELECT * FROM {table}")))
    assert plain not in dump
    page = client.post("/account", data={"ch-challenge": str(challenge.id), "ch-answer": answer},
                       follow_redirects=True).get_data(as_text=True)
    assert "Your age recipient is registered" in page
    assert _recipient(session, who.user_id) == recipient
    assert session.get(CustodianKey, who.user_id).registered_at == make.clock.now()
    registered = _entries(session, "user.age_recipient_registered", who.user_id)
    assert len(registered) == 1 and registered[0].actor_id == who.user_id
    assert json.loads(registered[0].payload)["age_recipient"] == recipient
    assert plain not in "\n".join(str(r) for r in session.execute(text("SELECT payload FROM audit_entry")))
    assert plain not in caplog.text
    # single use: the same answer again registers nothing
    with unit_of_work(session):
        again = custodians.register_age_recipient(session, actor=who, challenge_id=challenge.id, answer=answer,
                                                  now=make.clock.now())
    assert isinstance(again.error, custody_rules.ChallengeExpired)


def test_a_wrong_answer_uses_the_challenge_up_and_is_logged(make, session, clock):
    who = _custodian(make)
    identity = pyrage.x25519.Identity.generate()
    with unit_of_work(session):
        challenge = custodians.issue_recipient_challenge(session, actor=who, recipient=str(identity.to_public()),
                                                         now=clock.now())
    right = pyrage.decrypt(challenge.sealed, [identity]).decode()
    with unit_of_work(session):
        wrong = custodians.register_age_recipient(session, actor=who, challenge_id=challenge.id, answer="0" * 32,
                                                  now=clock.now())
    assert isinstance(wrong.error, custody_rules.ChallengeFailed)
    with unit_of_work(session):
        late = custodians.register_age_recipient(session, actor=who, challenge_id=challenge.id, answer=right,
                                                 now=clock.now())
    assert isinstance(late.error, custody_rules.ChallengeExpired)
    assert _recipient(session, who.user_id) is None
    assert len(_entries(session, "user.age_recipient_proof_failed", who.user_id)) == 1


def test_a_challenge_expires_and_a_new_one_voids_the_old(make, session, clock):
    who = _custodian(make)
    identity = pyrage.x25519.Identity.generate()
    with unit_of_work(session):
        first = custodians.issue_recipient_challenge(session, actor=who, recipient=str(identity.to_public()),
                                                     now=clock.now())
    with unit_of_work(session):
        second = custodians.issue_recipient_challenge(session, actor=who, recipient=str(identity.to_public()),
                                                      now=clock.now())
    with unit_of_work(session):
        voided = custodians.register_age_recipient(session, actor=who, challenge_id=first.id, now=clock.now(),
                                                   answer=pyrage.decrypt(first.sealed, [identity]).decode())
    assert isinstance(voided.error, custody_rules.ChallengeExpired)
    clock.advance(timedelta(minutes=31))
    with unit_of_work(session):
        expired = custodians.register_age_recipient(session, actor=who, challenge_id=second.id, now=clock.now(),
                                                    answer=pyrage.decrypt(second.sealed, [identity]).decode())
    assert isinstance(expired.error, custody_rules.ChallengeExpired)
    assert _recipient(session, who.user_id) is None


def test_challenges_differ_each_time(make, session, clock):
    who = _custodian(make)
    identity = pyrage.x25519.Identity.generate()
    seen = set()
    for _ in range(20):
        with unit_of_work(session):
            c = custodians.issue_recipient_challenge(session, actor=who, recipient=str(identity.to_public()),
                                                     now=clock.now())
        seen.add(c.answer_sha256)
    assert len(seen) == 20


def test_nobody_else_sets_a_recipient_not_an_administrator_nor_the_system(make, session, client, clock):
    admin = make.user("admin")
    who = _custodian(make)
    recipient = str(pyrage.x25519.Identity.generate().to_public())
    for module in (service, custodians):  # no function takes someone else's user id any more
        assert not hasattr(module, "set_age_recipient")
    for other in (admin, Actor.system(), make.user("supervisor")):
        with pytest.raises(PermissionDenied):
            with unit_of_work(session):
                custodians.issue_recipient_challenge(session, actor=other, recipient=recipient, now=clock.now())
    login(client, admin.name)
    resp = client.post("/account", data={"age-age_recipient": recipient})
    assert resp.status_code == 200 and "Only a key custodian registers their own age recipient" in resp.get_data(
        as_text=True)
    assert session.scalar(select(func.count()).select_from(RecipientChallenge)) == 0
    assert _recipient(session, who.user_id) is None


def test_the_tender_area_adds_the_key_section_and_the_removal_hook_to_the_accounts(app, session):
    """The accounts import no tender code: the tender area adds its part on the app (accounts.hooks), and the
    app's sessions carry it to the accounts' services."""
    from sqlalchemy.orm import Session

    from accounts.hooks import hooks_of, session_hooks
    from tender.views.custodians import KeySection

    hooks = hooks_of(app)
    assert hooks.account_sections == [KeySection] and hooks.role_removed == [custodians.forget_recipient]
    assert session_hooks(session) is hooks
    assert session_hooks(Session()).role_removed == []  # a session made otherwise carries none


# ---------------------------------------------------------------- 2. a second person grants the role

def test_an_administrators_new_custodian_waits_for_a_supervisor(make, session, client, clock):
    admin = make.user("admin")
    centre = make.org("platform", name="Centre")
    supervisor = make.user("supervisor")
    login(client, admin.name)
    page = client.post("/admin/users", data={"username": "keeper", "display_name": "Keeper", "role": "custodian",
                                            "organisation_id": centre.id, "password": PASSWORD},
                       follow_redirects=True).get_data(as_text=True)
    assert "once a supervisor approves it" in page
    keeper = session.scalar(select(User).where(User.username == "keeper"))
    assert not keeper.active and keeper.role_approved_at is None
    request = session.scalar(select(RoleRequest).where(RoleRequest.user_id == keeper.id))
    assert (request.change, request.decision, request.requested_by) == ("grant", None, admin.user_id)
    created = _entries(session, "user.created", keeper.id)
    assert json.loads(created[0].payload)["role_request"] == request.id
    # until approved it has no effect: the account cannot log in and the administrator cannot activate it
    assert login(client.application.test_client(), "keeper").status_code == 401
    page = client.post(f"/admin/users/{keeper.id}/active", data={"active": "y"},
                       follow_redirects=True).get_data(as_text=True)
    assert "A supervisor must approve this role" in page
    session.expire_all()
    assert not session.get(User, keeper.id).active
    # the administrator cannot approve (not a supervisor), neither over HTTP nor in the service
    assert client.post(f"/role-requests/{request.id}/decision", data={"decision": "approve"}).status_code == 403
    with pytest.raises(accounts_rules.SameApprover):
        with unit_of_work(session):
            service.decide_role_change(session, actor=admin, request_id=request.id, approve=True, now=clock.now())
    # a supervisor approves: the account works, and the approval is an audit entry
    sup = client.application.test_client()
    login(sup, supervisor.name)
    assert "keeper" in sup.get("/role-requests").get_data(as_text=True)
    sup.post(f"/role-requests/{request.id}/decision", data={"decision": "approve", "note": "met in person"})
    session.expire_all()
    keeper = session.get(User, keeper.id)
    assert keeper.active and keeper.role_approved_at is not None
    approved = _entries(session, "role.approved", keeper.id)
    assert len(approved) == 1 and approved[0].actor_id == supervisor.user_id
    assert json.loads(approved[0].payload)["requested_by"] == admin.user_id
    assert login(client.application.test_client(), "keeper").status_code == 302


def test_a_refused_request_changes_nothing_and_is_logged(make, session, clock):
    admin, supervisor = make.user("admin"), make.user("supervisor")
    keeper = make.user("custodian", org=make.org("platform"), approve=False)
    request = session.scalar(select(RoleRequest).where(RoleRequest.user_id == keeper.user_id))
    with unit_of_work(session):
        service.decide_role_change(session, actor=supervisor, request_id=request.id, approve=False, now=clock.now(),
                                   note="not known to us")
    assert not session.get(User, keeper.user_id).active
    assert len(_entries(session, "role.refused", keeper.user_id)) == 1
    with pytest.raises(DomainError):  # decided once
        with unit_of_work(session):
            service.decide_role_change(session, actor=supervisor, request_id=request.id, approve=True,
                                       now=clock.now())
    with unit_of_work(session):  # the administrator may ask again; still a supervisor decides
        again = service.request_role_change(session, actor=admin, user_id=keeper.user_id, change="grant",
                                            reason="second try", now=clock.now())
    assert again.decision is None and len(_entries(session, "role.requested", keeper.user_id)) == 1


def test_removing_the_custodian_role_needs_a_supervisor_and_ends_the_sealing_to_them(make, session, clock):
    admin, supervisor = make.user("admin"), make.user("supervisor")
    keys = make.custodians()
    first = session.scalar(select(User).where(User.username == next(iter(keys))))
    with unit_of_work(session):
        request = service.request_role_change(session, actor=admin, user_id=first.id, change="remove",
                                              reason="leaves the centre", now=clock.now())
    recipient = _recipient(session, first.id)
    assert recipient is not None  # a request alone changes nothing
    with unit_of_work(session):
        service.decide_role_change(session, actor=supervisor, request_id=request.id, approve=True, now=clock.now())
    removed = session.get(User, first.id)
    # the tender area forgets the recipient in the accounts' transaction (accounts.hooks), and the approval says so
    assert removed.role_approved_at is None and _recipient(session, first.id) is None
    assert json.loads(_entries(session, "role.approved", first.id)[-1].payload)["age_recipient_removed"] == recipient
    t, agency = make.tender()
    with pytest.raises(DomainError, match="3 key custodians"):  # only two custodians left
        _publish(session, agency, t, clock)


def test_an_administrators_new_supervisor_needs_another_supervisor(make, session, client, clock):
    admin = make.user("admin")
    centre = make.org("platform")
    login(client, admin.name)
    client.post("/admin/users", data={"username": "puppet", "display_name": "Puppet", "role": "supervisor",
                                      "organisation_id": centre.id, "password": PASSWORD})
    puppet = session.scalar(select(User).where(User.username == "puppet"))
    assert not puppet.active and puppet.role_approved_at is None
    assert login(client.application.test_client(), "puppet").status_code == 401


# ---------------------------------------------------------------- 3. notices and the custodian's page

def test_a_custodians_page_lists_their_shares_and_flags_a_key_not_theirs(make, session, client, clock):
    t, _agency = make.tender(publish=True)
    keys = make.custodians()
    name = next(iter(keys))
    user = session.scalar(select(User).where(User.username == name))
    login(client, name)
    page = client.get("/custodian/shares").get_data(as_text=True)
    fp = custody_rules.recipient_fingerprint(custodians.recipient_of(session, user.id))
    assert t.project_code in page and fp in page and "your key" in page and 'data-testid="not-my-key"' not in page
    # the custodian registers a new key: the old tender's share is sealed to a key that is no longer theirs
    make.register_recipient(Actor(user.id, user.username, "custodian", user.organisation_id),
                            str(pyrage.x25519.Identity.generate()))
    page = client.get("/custodian/shares").get_data(as_text=True)
    assert fp in page and 'data-testid="not-my-key"' in page
    assert client.get("/custodian/shares").status_code == 200
    other = client.application.test_client()
    login(other, make.user("agency").name)
    assert other.get("/custodian/shares").status_code == 403


# ---------------------------------------------------------------- 4. one organisation may not open alone

def test_publication_refuses_custodians_one_organisation_could_open_alone(make, session, client, clock):
    centre = make.org("platform", name="Only centre")
    make.custodian_keys = {}
    for _ in range(3):
        who = make.user("custodian", org=centre)
        identity = str(pyrage.x25519.Identity.generate())
        make.register_recipient(who, identity)
        make.custodian_keys[who.name] = identity
    t, agency = make.tender()
    with pytest.raises(tender_rules.CustodiansOfOneOrganisation):
        _publish(session, agency, t, clock)
    login(client, agency.name)
    client.get("/lang/en")
    page = client.post(f"/agency/tenders/{t.id}/publish", follow_redirects=True).get_data(as_text=True)
    assert "belong to one organisation" in page and "Only centre" in page, page
    client.get("/lang/zh_CN")
    page = client.post(f"/agency/tenders/{t.id}/publish", follow_redirects=True).get_data(as_text=True)
    assert "Only centre" in page and "同一单位" in page  # the rule, named in Chinese
    assert session.get(OpeningKey, t.id) is None


# ---------------------------------------------------------------- 5. database edits are refused at sealing

def test_a_recipient_edited_only_in_the_database_is_refused_at_publication(make, session, connection, clock):
    t, agency = make.tender()
    keys = make.custodians()
    victim = next(iter(keys))
    attacker = str(pyrage.x25519.Identity.generate().to_public())
    connection.execute(text("UPDATE tender_custodian_key SET recipient = :r "
                            "WHERE user_id = (SELECT id FROM core_user WHERE username = :u)"), {"r": attacker, "u": victim})
    session.expire_all()
    with pytest.raises(custodians.UnverifiedCustodian) as exc:
        _publish(session, agency, t, clock)
    assert victim in str(exc.value)
    assert session.scalar(select(func.count()).where(KeyShare.tender_id == t.id)) == 0
    assert session.get(Tender, t.id).published_at is None


def test_a_forged_registration_entry_breaks_the_chain_and_is_refused(make, session, connection, clock):
    t, agency = make.tender()
    keys = make.custodians()
    victim = session.scalar(select(User).where(User.username == next(iter(keys))))
    attacker = str(pyrage.x25519.Identity.generate().to_public())
    entry = _entries(session, "user.age_recipient_registered", victim.id)[-1]
    payload = json.loads(entry.payload)
    payload["age_recipient"] = attacker
    connection.execute(text("UPDATE audit_entry SET payload = :p WHERE seq = :s"),
                       {"p": json.dumps(payload, ensure_ascii=False, sort_keys=True), "s": entry.seq})
    connection.execute(text("UPDATE tender_custodian_key SET recipient = :r WHERE user_id = :i"),
                       {"r": attacker, "i": victim.id})
    session.expire_all()
    with pytest.raises(custodians.UnverifiedCustodian):
        _publish(session, agency, t, clock)


def test_a_custodian_role_set_only_in_the_database_is_refused(make, session, connection, clock):
    t, agency = make.tender()
    keys = make.custodians()
    admin = make.user("admin", org=make.org("platform", name="Elsewhere"))
    attacker = str(pyrage.x25519.Identity.generate().to_public())
    # one real custodian away, the administrator's own account made a custodian with their key, in the database
    connection.execute(text("UPDATE core_user SET active = :f WHERE username = :u"), {"f": False, "u": next(iter(keys))})
    connection.execute(text("UPDATE core_user SET role = 'custodian', role_approved_at = created_at WHERE id = :i"),
                       {"i": admin.user_id})
    _write_key(connection, admin.user_id, attacker)
    session.expire_all()
    with pytest.raises(custodians.UnapprovedCustodian) as exc:
        _publish(session, agency, t, clock)
    assert admin.name in str(exc.value)


# ---------------------------------------------------------------- 6. the attack: an administrator alone

def test_an_administrator_alone_cannot_get_a_tender_sealed_to_a_key_they_hold(make, session, client, connection,
                                                                              clock, tmp_path):
    make.custodians()  # the real custodians, approved and registered by themselves
    real = list(session.scalars(select(User).where(User.role == "custodian")))
    t, agency = make.tender()
    admin = make.user("admin")
    own = [pyrage.x25519.Identity.generate() for _ in range(3)]
    own_recipients = {str(i.to_public()) for i in own}
    centre = make.org("platform", name="Admin's own office")
    login(client, admin.name)
    # 1. custodian accounts of the administrator's own, and a supervisor of their own to approve them
    for i in range(3):
        client.post("/admin/users", data={"username": f"fake{i}", "display_name": f"Fake {i}", "role": "custodian",
                                          "organisation_id": centre.id, "password": PASSWORD})
    client.post("/admin/users", data={"username": "fakesup", "display_name": "Fake supervisor",
                                      "role": "supervisor", "organisation_id": centre.id, "password": PASSWORD})
    fakes = list(session.scalars(select(User).where(User.username.like("fake%"))))
    assert len(fakes) == 4 and not any(u.active for u in fakes)
    for u in fakes:  # cannot activate them, cannot log in as them
        client.post(f"/admin/users/{u.id}/active", data={"active": "y"})
        assert login(client.application.test_client(), u.username).status_code == 401
    for request in session.scalars(select(RoleRequest).where(RoleRequest.decision.is_(None))):
        assert client.post(f"/role-requests/{request.id}/decision", data={"decision": "approve"}).status_code == 403
    # 2. register their own keys for them: refused for anyone but the custodian
    for u, identity in zip(fakes, own):
        for who in (admin, Actor.system()):
            with pytest.raises(PermissionDenied):
                with unit_of_work(session):
                    custodians.issue_recipient_challenge(session, actor=who, recipient=str(identity.to_public()),
                                                         now=clock.now())
    # 3. deactivate the real custodians: publication then has too few, and uses none of the fakes
    for u in real:
        client.post(f"/admin/users/{u.id}/active", data={})
    session.expire_all()
    assert not any(session.get(User, u.id).active for u in real)
    with pytest.raises(DomainError, match="3 key custodians"):
        _publish(session, agency, t, clock)
    # 4. with the database too: the fakes made active, approved and given the administrator's keys
    for u, identity in zip(fakes, own):
        connection.execute(text("UPDATE core_user SET active = :t, role = 'custodian', role_approved_at = "
                                "created_at WHERE id = :i"), {"t": True, "i": u.id})
        _write_key(connection, u.id, str(identity.to_public()))
    session.expire_all()
    with pytest.raises((custodians.UnapprovedCustodian, custodians.UnverifiedCustodian)):
        _publish(session, agency, t, clock)
    # 5. or the real custodians reactivated with the administrator's keys written over theirs
    for u, identity in zip(real, own):
        connection.execute(text("UPDATE core_user SET active = :t WHERE id = :i"), {"t": True, "i": u.id})
        _write_key(connection, u.id, str(identity.to_public()))
    connection.execute(text("UPDATE core_user SET active = :f WHERE username LIKE 'fake%'"), {"f": False})
    session.expire_all()
    with pytest.raises(custodians.UnverifiedCustodian):
        _publish(session, agency, t, clock)
    sealed_to = set(session.scalars(select(KeyShare.recipient)))
    assert not sealed_to & own_recipients
    assert session.get(OpeningKey, t.id) is None


def test_the_newest_registration_is_checked_against_the_log_head(make, session, connection):
    who = _custodian(make)
    make.register_recipient(who, str(pyrage.x25519.Identity.generate()))
    user = session.get(User, who.user_id)
    last = _entries(session, "user.age_recipient_registered", who.user_id)[-1]
    assert last.seq == session.scalar(select(func.max(AuditEntry.seq)))  # the last entry of the log
    recipient = custodians.recipient_of(session, who.user_id)
    assert custodians.verified_registration(session, user, recipient) == last.seq
    session.commit()
    connection.execute(text("UPDATE audit_head SET hash = :h"), {"h": "f" * 64})  # the entry no longer ends the chain
    session.expire_all()
    with pytest.raises(custodians.UnverifiedCustodian):
        custodians.verified_registration(session, session.get(User, who.user_id), recipient)
