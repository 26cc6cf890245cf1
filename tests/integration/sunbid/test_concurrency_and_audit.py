"""Races end with one result; the audit chain catches a row edited behind the platform's back."""
from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from audit.models import AuditEntry
from audit.rules import ChainBroken
from audit.service import verify
from core.db import make_sessionmaker, unit_of_work
from tests.conftest import empty_database
from core.errors import DomainError
from tender import publication


def test_tampered_audit_row_is_detected(make, session, connection):
    make.tender(publish=True)
    n = verify(session)
    assert n >= 4
    connection.execute(text("UPDATE audit_entry SET payload = replace(payload, 'doc', 'DOC') WHERE seq = :s"),
                       {"s": n - 1})
    session.expire_all()
    with pytest.raises(ChainBroken) as exc:
        verify(session)
    assert exc.value.params["seq"] == n - 1


@pytest.mark.skipif(not os.environ.get("SUNBID_TEST_DATABASE_URL"), reason="needs PostgreSQL for real concurrency")
def test_concurrent_publications_publish_once_on_postgresql(engines, tmp_path_factory, tmp_path):
    """Eight simultaneous 'publish' requests for one draft: one publication, one audit event, a chain that verifies."""
    from core.blobs import BlobStore
    from tests.conftest import Factory, _engine_for

    engine = _engine_for("postgresql", engines, tmp_path_factory)
    sessions = make_sessionmaker(engine)
    now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    with sessions() as s:
        with unit_of_work(s):
            empty_database(s)
        from core.clock import FrozenClock

        class _App:  # the factory only needs the blob store
            extensions = {"sunbid": type("P", (), {"blobs": BlobStore(tmp_path)})()}

        f = Factory(_App(), s, FrozenClock(now))
        t, agency = f.tender()
        tender_id = t.id
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def publish() -> None:
        with sessions() as s:
            barrier.wait()
            try:
                with unit_of_work(s):
                    publication.publish_tender(s, actor=agency, tender_id=tender_id, now=now + timedelta(seconds=1))
                outcomes.append("published")
            except DomainError as exc:
                outcomes.append(exc.code)

    threads = [threading.Thread(target=publish) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(outcomes) == ["already_published"] * 7 + ["published"]
    with sessions() as s:
        assert s.scalar(select(func.count()).where(AuditEntry.action == "tender.published")) == 1
        assert verify(s) == s.scalar(select(func.count()).select_from(AuditEntry))
        with unit_of_work(s):  # leave the shared test database as the other tests expect it
            empty_database(s)
