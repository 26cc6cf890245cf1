"""``sunbid demo``: migrate, seed a demo city platform once, print the logins, serve.

Every area with a demo (``Area.demo``) plans its steps on one shared ``core.demo.DemoWorld``, in the order
of the areas list (the accounts plan the people, the tender area picks its agencies and bidders among them,
a later area finds the tenders there).  The steps of all areas are merged by time and each due one runs in a
transaction of its own, through the same services as in real use, so the audit log of the demo is a true
one, in time order.  A step that fails is rolled back alone and stops the demo, naming the step.
"""
from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.demo import DEMO_PASSWORD
from accounts.models import Organisation
from accounts.rules import OrgKind
from core.area import Area, AreaConflict
from core.db import unit_of_work
from core.demo import AfterOp, DemoContext, DemoStep, DemoStepFailed, DemoWorld, merge_steps


def is_seeded(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Organisation).where(Organisation.kind == OrgKind.PLATFORM)))


def plan(world: DemoWorld, areas: Sequence[Area]) -> list[DemoStep]:
    """Every area's steps, planned in the order of the areas, merged by time: those due at the world's now."""
    contributions = []
    for area in areas:
        if area.demo is None:
            continue
        steps = list(area.demo(world))
        for step in steps:
            if step.area != area.name:
                raise AreaConflict(f"area {area.name}: its demo step {step.name!r} says it is of area {step.area}")
        contributions.append(steps)
    return merge_steps(contributions, until=world.now)


def run_steps(session: Session, world: DemoWorld, steps: Sequence[DemoStep], after_op: AfterOp) -> None:
    """Each step in its own transaction, then the hook (the checkpoints); ``DemoStepFailed`` on the first
    that raises, its transaction rolled back and the steps before it kept."""
    for step in steps:
        try:
            with unit_of_work(session):
                step.run(session, world, step.at)
        except Exception as exc:
            raise DemoStepFailed(step, exc) from exc
        after_op(session, step.at)


def build(session: Session, now: datetime, context: DemoContext, *, seed_value: int = 2026,
          areas: Sequence[Area] | None = None) -> DemoWorld | None:
    """Seed everything once; the world the steps made (None when the platform already exists)."""
    if areas is None:
        from sunbid.areas import AREAS

        areas = AREAS
    if is_seeded(session):
        return None
    world = DemoWorld(now=now, rng=random.Random(seed_value), context=context)
    run_steps(session, world, plan(world, areas), context.after_op)
    return world


def seed(session: Session, now: datetime, context: DemoContext, *, seed_value: int = 2026,
         areas: Sequence[Area] | None = None) -> dict[str, int]:
    """Seed everything once; returns what the steps counted (empty when the platform already exists)."""
    world = build(session, now, context, seed_value=seed_value, areas=areas)
    return {} if world is None else dict(world.counts)


def summaries(world: DemoWorld, areas: Sequence[Area], locale: str) -> list[str]:
    """Each area's line of what its steps made, in ``locale`` (in an application context)."""
    from flask_babel import force_locale

    with force_locale(locale):
        return [str(area.demo_summary(world)) for area in areas if area.demo_summary is not None]


def terminal_locale(environ: Mapping[str, str] = os.environ) -> str:
    """The language of the terminal's messages (``LC_ALL``, ``LC_MESSAGES``, ``LANG``): Chinese or English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:
            return "zh_CN" if value.lower().startswith("zh") else "en"
    return "en"


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
            try:
                world = build(session, platform.clock.now(), context_for(platform), areas=platform.areas)
            except DemoStepFailed as failed:
                raise click.ClickException(f"{failed} (the steps before it were kept; "
                                           "`sunbid demo --reset` starts over)") from failed
            click.echo("Seeded:")
            with app.app_context():
                for line in summaries(world, platform.areas, terminal_locale()):
                    click.echo(f"  {line}")
    print_logins()
    if not no_serve:
        click.echo(f"Serving on http://{host}:{port}/  (Ctrl+C to stop)")
        from werkzeug.serving import run_simple

        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
