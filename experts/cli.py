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
@click.option("--log-url", default=None, help="the platform's address (e.g. https://trade.example.gov.cn): also check "
              "the checkpoint's signature and the commitments' inclusion proofs against its audit log")
def verify_draw_command(document: str, log_url: str | None) -> None:
    """Recompute a published draw document (sunbid-draw-v1) and name the first field that does not match.

    Exit status: 0 when it verifies, 1 when a field does not match, 2 when the file (or the log) cannot be read."""
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
    if log_url:
        _check_log(doc, log_url.rstrip("/"))
    drawn = doc["drawn"]
    click.echo(f"OK: draw verifies ({doc['version']}, seed {doc['seed']}, {len(drawn)} drawn, "
               f"checkpoint of size {doc['checkpoint']['size']}).")


def _check_log(doc: dict, base: str) -> None:
    import urllib.error
    import urllib.request

    from experts.draw import LogEvidence, check_against_log

    def get(path: str) -> bytes:
        with urllib.request.urlopen(base + path, timeout=30) as resp:
            return resp.read()

    size = doc["checkpoint"]["size"]
    try:
        vkey = get("/audit/vkey").decode("utf-8").strip()
        evidence = []
        for index in doc["commitment_indexes"]:
            proof = json.loads(get(f"/api/v1/audit/proof/inclusion?index={index}&size={size}"))
            listed = json.loads(get(f"/api/v1/audit/entries?start={index}&end={index + 1}"))["entries"]
            entry = listed[0].get("entry") if listed else None
            evidence.append(LogEvidence(index, bytes.fromhex(proof["leaf_hash"]),
                                        [bytes.fromhex(h) for h in proof["proof"]], entry))
    except urllib.error.HTTPError as exc:
        click.echo(f"the log at {base} refused: HTTP {exc.code} {exc.read().decode(errors='replace')[:200]}", err=True)
        sys.exit(2)
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        click.echo(f"cannot read the log at {base}: {exc}", err=True)
        sys.exit(2)
    mismatch, remarks = check_against_log(doc, log_vkey=vkey, evidence=evidence)
    for remark in remarks:
        click.echo(f"note: {remark}")
    if mismatch is not None:
        click.echo(f"MISMATCH in field '{mismatch.field}' against the log: {mismatch.detail}", err=True)
        sys.exit(1)
    click.echo(f"Log {base}: the checkpoint is signed by the log's key and the {len(evidence)} commitments are in "
               "its tree.")
