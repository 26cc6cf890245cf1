"""Blobs no record names are collected once old enough; named ones never are."""
from __future__ import annotations

import io
import json
import os
import time
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from audit.models import AuditEntry
from core.actor import Actor
from core.db import unit_of_work
from sunbid.maintenance import collect_blobs

TWO_DAYS_AGO = time.time() - 2 * 86400


def _age(path, hours: float | None = None) -> None:
    when = TWO_DAYS_AGO if hours is None else time.time() - hours * 3600
    os.utime(path, (when, when))


def test_unreferenced_old_blobs_and_leftovers_go_and_nothing_named_does(app, make, session, clock):
    t, _agency = make.tender(publish=True)  # its document is a blob a record names
    store = app.extensions["sunbid"].blobs
    document = store.path(t.documents[0].sha256)
    orphan = store.put_stream(io.BytesIO(b"bytes of a bid refused after they arrived"), limit=10**6)
    young = store.put_stream(io.BytesIO(b"an upload whose transaction may still commit"), limit=10**6)
    store.tmp.mkdir(parents=True, exist_ok=True)
    leftover = store.tmp / "crashed-upload"
    leftover.write_bytes(b"half an upload")
    for path in (document, store.path(orphan.sha256), leftover):
        _age(path)

    with unit_of_work(session):  # a dry run changes nothing
        dry = collect_blobs(session, store=store, actor=Actor.system("maintenance"), now=clock.now(), dry_run=True)
    assert (dry.blobs, dry.leftovers) == ([orphan.sha256], 1)
    assert store.exists(orphan.sha256) and leftover.exists()
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "blobs.collected")) is None

    with unit_of_work(session):
        found = collect_blobs(session, store=store, actor=Actor.system("maintenance"), now=clock.now())
    assert found.delete() == 2
    assert not store.exists(orphan.sha256) and not leftover.exists()
    assert document.exists() and store.exists(young.sha256)
    event = session.scalar(select(AuditEntry).where(AuditEntry.action == "blobs.collected"))
    payload = json.loads(event.payload)
    assert payload["sha256"] == [orphan.sha256] and payload["count"] == 1 and payload["leftovers"] == 1
    assert payload["bytes"] == orphan.size and payload["min_age_seconds"] == 86400


def test_a_blob_stored_again_after_it_was_found_is_kept(app, session, clock):
    store = app.extensions["sunbid"].blobs
    orphan = store.put_stream(io.BytesIO(b"the same bytes, uploaded twice"), limit=10**6)
    _age(store.path(orphan.sha256))
    with unit_of_work(session):
        found = collect_blobs(session, store=store, actor=Actor.system("maintenance"), now=clock.now(),
                              min_age=timedelta(hours=1))
    again = store.put_stream(io.BytesIO(b"the same bytes, uploaded twice"), limit=10**6)  # a new bid names it
    assert again.sha256 == orphan.sha256
    assert found.delete() == 0 and store.exists(orphan.sha256)


def test_blobs_gc_command(tmp_path, monkeypatch):
    from core.blobs import BlobStore
    from sunbid.cli import main

    monkeypatch.setenv("SUNBID_DATABASE_URL", f"sqlite:///{tmp_path / 'gc.db'}")
    monkeypatch.setenv("SUNBID_DATA_DIR", str(tmp_path))
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0
    store = BlobStore(tmp_path)
    orphan = store.put_stream(io.BytesIO(b"nobody names me"), limit=10**6)
    _age(store.path(orphan.sha256))
    dry = CliRunner().invoke(main, ["blobs", "gc", "--dry-run"])
    assert dry.exit_code == 0 and "Would remove 1 unreferenced blob(s)" in dry.output
    assert store.exists(orphan.sha256)
    done = CliRunner().invoke(main, ["blobs", "gc"])
    assert done.exit_code == 0 and "Removed 1 unreferenced blob(s)" in done.output, done.output
    assert not store.exists(orphan.sha256)
    recent = store.put_stream(io.BytesIO(b"refused half an hour ago"), limit=10**6)
    _age(store.path(recent.sha256), hours=0.5)
    assert "Removed 0 unreferenced" in CliRunner().invoke(main, ["blobs", "gc"]).output  # 24 hours by default
    assert CliRunner().invoke(main, ["blobs", "gc", "--min-age-minutes", "5"]).exit_code == 2  # too short
    sooner = CliRunner().invoke(main, ["blobs", "gc", "--min-age-minutes", "20"])
    assert "Removed 1 unreferenced blob(s)" in sooner.output and not store.exists(recent.sha256)
