"""The ``sunbid`` command: Flask's click group with the app loaded.

    sunbid run            development server (Flask)
    sunbid db upgrade     apply Alembic migrations
    sunbid demo           migrate, seed a demo city platform, serve on :5000
    sunbid serve          production server (gunicorn); refuses the development secret
"""
from __future__ import annotations

import os
import sys

import click
from flask.cli import FlaskGroup, with_appcontext

from sunbid.app import create_app
from sunbid.areas import AREAS
from sunbid.demo import demo_command


def _create_app():
    from core.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True, add_version_option=False,
             load_dotenv=False, set_debug_flag=False)
def main() -> None:
    """Sunbid public-resource trading platform."""


@main.group()
def db() -> None:
    """Database schema (Alembic)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION."""
    from flask import current_app

    from core.migrate import upgrade

    url = current_app.extensions["sunbid"].settings.database_url
    upgrade(url, revision)
    click.echo(f"Database is at {revision}.")


@db.command("current")
@with_appcontext
def db_current() -> None:
    """Show the applied revision."""
    from flask import current_app

    from core.migrate import current

    click.echo(current(current_app.extensions["sunbid"].settings.database_url) or "(empty)")


@click.group("blobs")
def blobs_group() -> None:
    """The blob store (documents and sealed bids, by SHA-256)."""


@blobs_group.command("gc")
@click.option("--min-age-hours", type=click.IntRange(1), default=24, show_default=True,
              help="only files untouched for this long (an upload in progress is never older)")
@click.option("--min-age-minutes", type=click.IntRange(10), default=None,
              help="the same in minutes, instead of --min-age-hours (at least 10: an upload in progress writes "
                   "to its file every few seconds)")
@click.option("--dry-run", is_flag=True, help="only say what would be removed")
@with_appcontext
def blobs_gc(min_age_hours: int, min_age_minutes: int | None, dry_run: bool) -> None:
    """Remove blobs no record names (an upload whose transaction failed) and leftovers of unfinished
    uploads.  A blob any document or bid names is never touched.  One audit event names what went."""
    from datetime import timedelta

    from flask import current_app

    from core.actor import Actor
    from core.db import unit_of_work
    from sunbid.maintenance import collect_blobs

    platform = current_app.extensions["sunbid"]
    with platform.sessions() as session:
        with unit_of_work(session):
            found = collect_blobs(session, store=platform.blobs, actor=Actor.system("maintenance"),
                                  now=platform.clock.now(),
                                  min_age=timedelta(minutes=min_age_minutes) if min_age_minutes
                                  else timedelta(hours=min_age_hours),
                                  dry_run=dry_run, areas=platform.areas)
    removed = 0 if dry_run else found.delete()
    verb = "Would remove" if dry_run else "Removed"
    click.echo(f"{verb} {len(found.blobs)} unreferenced blob(s), {found.bytes / 1024 / 1024:.1f} MB, and "
               f"{found.leftovers} leftover upload file(s)" + ("" if dry_run else f" ({removed} files deleted)") + ".")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on; keep the default behind a reverse proxy on the same machine (docs/deploy.md)")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=None, type=int, help="gunicorn workers (default 2 × cores + 1)")
@click.option("--threads", default=4, show_default=True, type=int)
def serve(host: str, port: int, workers: int | None, threads: int) -> None:
    """Serve for real with gunicorn, on 127.0.0.1 unless told otherwise (a reverse proxy with TLS in front).
    Refuses the development secret, a secret key that is not random, and sandbox mode with a real secret."""
    from gunicorn.app.base import BaseApplication

    from core.config import ConfigError, from_env

    try:
        settings = from_env()
        settings.check_production()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc

    class App(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers or (os.cpu_count() or 1) * 2 + 1)
            self.cfg.set("threads", threads)
            self.cfg.set("accesslog", "-")

        def load(self):
            import gc

            app = create_app(settings)
            gc.freeze()  # as core.wsgi does: start-up objects out of the collector's way
            return app

    App().run()


main.add_command(blobs_group)
main.add_command(demo_command)
for _area in AREAS:  # every area's commands
    for _command in _area.commands:
        main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
