"""``sunbid experts …``: the expert pool's commands.  ``verify-draw`` needs no database."""
from __future__ import annotations

import json
import sys

import click


@click.group("experts")
def experts_group() -> None:
    """The expert pool and its draws."""


@experts_group.command("verify-draw")
@click.argument("document", type=click.Path(dir_okay=False, allow_dash=True))
def verify_draw_command(document: str) -> None:
    """Recompute a published draw document (sunbid-draw-v1) and name the first field that does not match.

    Exit status: 0 when it verifies, 1 when a field does not match, 2 when the file cannot be read."""
    from experts.draw import verify_draw

    try:
        with click.open_file(document, "rb") as fh:
            raw = fh.read()
        doc = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        click.echo(f"cannot read {document}: {exc.strerror or exc}", err=True)
        sys.exit(2)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        click.echo(f"{document} is not JSON: {exc}", err=True)
        sys.exit(2)
    mismatch = verify_draw(doc)
    if mismatch is not None:
        click.echo(f"MISMATCH in field '{mismatch.field}': {mismatch.detail}", err=True)
        sys.exit(1)
    drawn = doc["drawn"]
    click.echo(f"OK: draw verifies ({doc['version']}, seed {doc['seed']}, {len(drawn)} drawn, "
               f"checkpoint of size {doc['checkpoint']['size']}).")
