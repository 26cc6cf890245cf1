"""``sunbid demo``: migrate, seed a demo city platform once, print the logins, serve.

The accounts are seeded first (``accounts.demo``); then each area's demo steps (``Area.demo_steps``), in the
order of the areas list.  Every record is made through the same services as in real use, in time order, one
transaction per operation, so the audit log of the demo is a true one.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.demo import DEMO_PASSWORD, AfterOp, DemoContext, seed_accounts
from accounts.models import Organisation, User
from core.area import Area
from core.db import unit_of_work


def is_seeded(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Organisation).where(Organisation.kind == "platform")))


def seed(session: Session, now: datetime, context: DemoContext, *, seed_value: int = 2026,
         areas: Sequence[Area] | None = None) -> dict[str, int]:
    """Seed everything once; returns counts.  Does nothing when the platform already exists."""
    if areas is None:
        from sunbid.areas import AREAS

        areas = AREAS
    if is_seeded(session):
        return {}
    rng = random.Random(seed_value)
    people = seed_accounts(session, now, rng, context.blobs.root.parent / "demo-custodian-keys")
    counts = {"organisations": session.scalar(select(func.count()).select_from(Organisation)) or 0,
              "users": session.scalar(select(func.count()).select_from(User)) or 0}
    for area in areas:
        for step in area.demo_steps:
            counts.update(step(session, people, now, rng, context))
    return counts


def context_for(platform) -> DemoContext:
    return DemoContext(blobs=platform.blobs, signer=platform.signer, after_op=_checkpoints(platform))


def _checkpoints(platform) -> AfterOp:
    """Sign checkpoints while seeding, as the running platform does after each operation."""
    from audit.service import checkpoint_if_due

    settings = platform.settings

    def after(session: Session, when: datetime) -> None:
        # as after a write request: a checkpoint for a key act only (the schedule is kept by readers and cron,
        # so no checkpoint is timed by a bid or a download)
        with unit_of_work(session):
            checkpoint_if_due(session, signer=platform.signer, origin=settings.log_origin, now=when,
                              every_entries=settings.checkpoint_every, every_seconds=settings.checkpoint_seconds,
                              key_actions=platform.audit_actions.key_actions,
                              milestones_only=True)

    return after


def print_logins(echo: Callable[[str], None] = click.echo) -> None:
    echo("")
    echo("Demo logins (password for all: %s)" % DEMO_PASSWORD)
    rows = [("admin", "admin"), ("supervisor", "supervisor1, supervisor2"),
            ("custodian", "custodian1 … custodian3 (their demo age keys: <data dir>/demo-custodian-keys/)"),
            ("agency", "agency1, agency2, agency3 (and agency1_2 …)"), ("bidder", "bidder1 … bidder32"),
            ("expert", "expert001 … expert200")]
    for role, names in rows:
        echo(f"  {role:<11} {names}")
    echo("")


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--reset", is_flag=True, help="Drop all data first and seed anew.")
@click.option("--no-serve", is_flag=True, help="Seed and exit.")
@click.option("--sandbox", is_flag=True, help="Sandbox mode: legal periods run SUNBID_SANDBOX_FACTOR times faster.")
def demo_command(host: str, port: int, reset: bool, no_serve: bool, sandbox: bool) -> None:
    """Migrate the database, seed a demo city platform once, print the logins and serve."""
    import os

    from sunbid.app import create_app
    from core.migrate import downgrade, upgrade

    if sandbox:
        os.environ["SUNBID_SANDBOX"] = "1"
    app = create_app()
    platform = app.extensions["sunbid"]
    url = platform.settings.database_url
    if reset:
        click.echo("Dropping all data …")
        downgrade(url, "base")
    click.echo(f"Migrating {platform.engine.url.render_as_string(hide_password=True)} …")
    upgrade(url)
    with platform.sessions() as session:
        if is_seeded(session):
            click.echo("Demo data already present (use --reset to start over).")
        else:
            click.echo("Seeding the demo city platform …")
            counts = seed(session, platform.clock.now(), context_for(platform), areas=platform.areas)
            click.echo("Seeded: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    print_logins()
    if not no_serve:
        click.echo(f"Serving on http://{host}:{port}/  (Ctrl+C to stop)")
        from werkzeug.serving import run_simple

        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
