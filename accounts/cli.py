"""The accounts' commands on the ``sunbid`` group: the first administrator and supervisors, made on the server."""
from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.command("create-admin")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True, help="the administrator's full name")
@click.option("--centre", required=True, help="the trading centre's name (created when missing)")
@click.password_option(help="prompted for when not given")
@with_appcontext
def create_admin(username: str, display_name: str, centre: str, password: str) -> None:
    """Create the first administrator (and the trading centre organisation)."""
    from flask import current_app
    from sqlalchemy import select

    from accounts import service
    from accounts.models import Organisation
    from accounts.rules import OrgKind
    from core.actor import Actor
    from core.db import unit_of_work
    from core.errors import DomainError
    from core.roles import Role

    platform = current_app.extensions["sunbid"]
    installer = Actor.system("install")
    with platform.sessions() as session:
        try:
            with unit_of_work(session):
                org = session.scalar(select(Organisation).where(Organisation.kind == OrgKind.PLATFORM,
                                                                Organisation.name == centre))
                if org is None:
                    org = service.create_organisation(session, actor=installer, kind=OrgKind.PLATFORM, name=centre,
                                                      now=platform.clock.now())
                service.create_user(session, actor=installer, username=username, display_name=display_name,
                                    password=password, role=Role.ADMIN, organisation_id=org.id,
                                    now=platform.clock.now())
        except DomainError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"Administrator {username} created.")


@click.command("create-supervisor")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True, help="the supervisor's full name")
@click.option("--organisation", required=True, help="name of an existing trading-centre (platform) organisation")
@click.password_option(help="prompted for when not given")
@with_appcontext
def create_supervisor(username: str, display_name: str, organisation: str, password: str) -> None:
    """Create a supervisor on the server itself.  Supervisors an administrator creates wait for an existing
    supervisor's approval; the first ones are made here, by whoever installs the platform."""
    from flask import current_app
    from sqlalchemy import select

    from accounts import service
    from accounts.models import Organisation
    from accounts.rules import OrgKind
    from core.actor import Actor
    from core.db import unit_of_work
    from core.errors import DomainError
    from core.roles import Role

    platform = current_app.extensions["sunbid"]
    with platform.sessions() as session:
        try:
            with unit_of_work(session):
                org = session.scalar(select(Organisation).where(Organisation.kind == OrgKind.PLATFORM,
                                                                Organisation.name == organisation))
                if org is None:
                    raise click.ClickException(f"No trading-centre organisation named {organisation!r}.")
                service.create_user(session, actor=Actor.system("install"), username=username,
                                    display_name=display_name, password=password, role=Role.SUPERVISOR,
                                    organisation_id=org.id, now=platform.clock.now())
        except DomainError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"Supervisor {username} created.")
