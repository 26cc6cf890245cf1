"""Adding an area is its own folder plus one line of the areas list: the test-only example area
(tests/example_area/) is passed to ``create_app(areas=[*AREAS, EXAMPLE])`` and is then served, navigated
to, audited under a subject kind of its own, replayed and kept by the blob collector, with nothing else
changed."""
from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from audit.models import AuditEntry
from audit.replay import replay_subject, replay_tender
from audit.service import UnknownSubjectKind, events_for, record, verify
from core.actor import Actor
from core.db import unit_of_work
from sunbid.app import create_app
from sunbid.areas import AREAS
from sunbid.maintenance import collect_blobs, references
from tests.conftest import login
from tests.example_area.area import AREA as EXAMPLE
from tests.example_area import service as example_service
from tests.example_area.models import ExampleBase, Note
from tender.models import Tender


@pytest.fixture
def app(settings, clock, connection):
    ExampleBase.metadata.create_all(connection)  # in the test's transaction, rolled back after it
    app = create_app(settings, clock=clock, bind=connection,
                     session_options={"join_transaction_mode": "create_savepoint"}, areas=[*AREAS, EXAMPLE])
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def test_the_example_area_is_served_navigated_and_audited(app, client, make, session):
    admin = make.user("admin")
    bidder = make.user("bidder")
    login(client, admin.name)
    home = client.get("/tenders").get_data(as_text=True)
    assert 'href="/example/notes"' in home and "Example notes" in home  # its nav entry, for its role
    assert client.post("/example/notes", data={"text": "  first   note "}).status_code == 302
    assert client.get("/example/notes").get_data(as_text=True) == "first note"  # its pure rule tidied it
    entry = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert (entry.action, entry.object_type) == ("example.noted", "example_note")
    assert (entry.subject_kind, entry.subject_id, entry.tender_id) == ("example", "1", None)  # its own subject
    assert verify(session) >= 1
    assert app.extensions["sunbid"].audit_actions.rules["example.noted"].name == "SUPERVISORS"
    log = client.get("/audit/log").get_data(as_text=True)
    assert "Note added" in log  # its label, on the audit screens of its app

    other = app.test_client()
    login(other, bidder.name)
    assert "Example notes" not in other.get("/tenders").get_data(as_text=True)
    assert other.get("/example/notes").status_code == 403  # the permission its route declares


def test_its_subjects_are_logged_and_replayed_beside_the_tenders(app, session, clock, make, connection):
    """Entries filed under ("example", 7) replay as notebook 7 with the area's own replayer; a tender's replay
    is what it was, the example replayer not among its folds."""
    from sqlalchemy import text

    t, _agency = make.tender(publish=True)
    writer = make.user("admin")
    for book, words in ((7, "first"), (8, "elsewhere"), (7, "second")):
        with unit_of_work(session):
            example_service.add_note(session, actor=writer, text=words, now=clock.now(), book=book)
    replayers = app.extensions["sunbid"].audit_actions.replayers
    assert {key: r.kind for key, r in replayers.items()} == {"tender": "tender", "example": "example"}

    filed = events_for(session, subject=("example", 7))
    assert [(e.subject_kind, e.subject_id, e.object_type) for e in filed] == [("example", "7", "example_note")] * 2
    result = replay_subject(session, "example", 7, clock.now(), replayers=replayers)
    assert (result.kind, result.subject_id, result.tender_id) == ("example", "7", None)
    assert result.consistent, result.mismatches
    assert result.replayed == {"notes": ["first", "second"]} and len(result.timeline) == 2
    assert replay_subject(session, "example", "7", clock.now(), replayers=replayers).replayed == result.replayed

    connection.execute(text("UPDATE example_note SET text = 'edited' WHERE text = 'second'"))
    session.expire_all()
    edited = replay_subject(session, "example", 7, clock.now(), replayers=replayers)
    assert edited.mismatches == [("notes", ["first", "second"], ["first", "edited"])]

    tender = replay_tender(session, t.id, clock.now(), replayers=replayers)
    assert tender.consistent, tender.mismatches
    assert "notes" not in tender.replayed and tender.replayed["status"] == "published"
    assert all(e["object"]["type"] != "example_note" for e in tender.timeline)
    assert tender.tender_id == t.id and (tender.kind, tender.subject_id) == ("tender", str(t.id))
    assert verify(session) >= 5


def test_the_platform_without_it_knows_nothing_of_it(settings, clock, connection, make):
    plain = create_app(settings, clock=clock, bind=connection,
                       session_options={"join_transaction_mode": "create_savepoint"})
    assert "example.notes" not in plain.view_functions
    assert "example.noted" not in plain.extensions["sunbid"].audit_actions.rules
    assert all(e.endpoint != "example.notes" for e in plain.extensions["sunbid"].nav)
    assert "example.noted" not in plain.extensions["sunbid"].labels.actions
    assert "example" not in plain.extensions["sunbid"].audit_actions.replayers
    with plain.extensions["sunbid"].sessions() as s:  # its subject kind is claimed by no area of this app
        with pytest.raises(UnknownSubjectKind, match="example is claimed by no area"):
            record(s, actor=Actor.system(), action="example.noted", object_type="example_note", object_id=1,
                   now=clock.now(), subject=("example", 7))
        assert s.scalar(select(AuditEntry.seq).where(AuditEntry.subject_kind == "example")) is None


def test_the_collector_keeps_the_blobs_its_columns_name(app, session, clock, settings):
    store = app.extensions["sunbid"].blobs
    kept = store.put_stream(io.BytesIO(b"named by a note"), limit=1024)
    gone = store.put_stream(io.BytesIO(b"named by nobody"), limit=1024)
    with unit_of_work(session):
        session.add(Note(text="with a file", sha256=kept.sha256, created_at=clock.now()))
    assert Note.sha256 in references([*AREAS, EXAMPLE])
    later = clock.now() + timedelta(days=2)
    with unit_of_work(session):
        found = collect_blobs(session, store=store, actor=Actor.system("maintenance"), now=later,
                              wall_clock=time.time() + 2 * 86400, dry_run=True, areas=[*AREAS, EXAMPLE])
    assert gone.sha256 in found.blobs and kept.sha256 not in found.blobs


def test_its_demo_step_runs_at_its_time_among_the_tender_steps_and_finds_the_tender(app, session):
    """The example area plans after the tender area: a note an hour after the demo's opening, on the tender
    the world says was opened, by its id there."""
    from sunbid.demo import build, context_for, summaries

    world = build(session, datetime(2026, 11, 22, 2, 0, tzinfo=UTC), context_for(app.extensions["sunbid"]),
                  areas=[*AREAS, EXAMPLE])
    [planned] = world.tenders_in("opened")
    opened = session.scalar(select(Tender).where(Tender.opened_at.is_not(None)))
    assert opened.id == planned.id and opened.opened_at == planned.opens_at
    [note] = session.scalars(select(Note))
    assert note.text == f"tender {planned.key} (id {opened.id}) opened"

    log = list(session.execute(select(AuditEntry.at, AuditEntry.action).order_by(AuditEntry.seq)))
    times = [at for at, _ in log]
    assert times == sorted(times)  # the whole demo log, with the example's step, in time order
    [here] = [n for n, (_, action) in enumerate(log) if action == "example.noted"]
    before, after = [a for _, a in log[:here]], [a for _, a in log[here + 1:]]
    assert "opening.completed" in before  # after the opening it notes
    assert any(a.startswith(("tender.", "bid.")) for a in after)  # and before the tender steps timed later
    assert log[here].at == opened.opened_at + timedelta(hours=1)  # at its own time
    assert log[here - 1].at <= log[here].at <= log[here + 1].at
    assert verify(session) == len(log)
    with app.app_context():
        assert summaries(world, [*AREAS, EXAMPLE], "en")[-1] == "1 example note"
