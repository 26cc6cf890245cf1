"""``sunbid audit …``: export the log, verify an export offline, print the verifier key."""
from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import click
from flask.cli import with_appcontext

FORMAT = "sunbid-audit-log/1"


@click.group("audit")
def audit_group() -> None:
    """The tamper-evident audit log."""


@audit_group.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True,
              help="file to write (JSON Lines); '-' for standard output")
@click.option("--tender", "tender_id", type=int, default=None,
              help="only this tender's entries, each with its inclusion proof in the latest checkpoint")
@click.option("--mode", type=click.Choice(["public", "supervisor"]), default="public", show_default=True,
              help="public: entries not yet disclosed are exported as their leaf hash only; "
                   "supervisor: every entry in full, for supervisors")
@with_appcontext
def export(output: str, tender_id: int | None, mode: str) -> None:
    """Stream the log to a file that `sunbid audit verify` checks with no database."""
    from flask import current_app
    from sqlalchemy import func, select

    from audit import merkle, service
    from audit.models import AuditCheckpoint, AuditEntry
    from audit.rules import withheld
    from core.db import unit_of_work

    platform = current_app.extensions["sunbid"]
    settings = platform.settings
    public = mode == "public"
    with platform.sessions() as s:
        with unit_of_work(s):  # the export ends at a signed checkpoint of the whole log
            last = service.latest_checkpoint(s)
            if last is None or last.size < service.tree_size(s):
                last = service.issue_checkpoint(s, signer=platform.signer, origin=settings.log_origin,
                                                now=platform.clock.now(), reason="export")
        size = last.size
        query = select(AuditEntry).where(AuditEntry.seq <= size)
        if tender_id is not None:
            query = query.where(AuditEntry.tender_id == tender_id)
        total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
        source = service.TreeSource(s)

        def entry_lines(bar) -> Iterator[str]:
            after = 0
            while True:
                rows = s.scalars(query.where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(2000)).all()
                if not rows:
                    return
                readable = (platform.audit_actions.readable(s, rows, role=None, now=platform.clock.now())
                            if public else [True] * len(rows))
                for r, ok in zip(rows, readable, strict=True):
                    if not ok:  # a public export keeps its leaf hash only; a tender export leaves it out
                        if tender_id is None:
                            yield json.dumps(withheld(r.seq - 1, r.leaf_hash)) + "\n"
                        continue
                    item = {"index": r.seq - 1, "entry": service.to_entry(r).document(), "hash": r.hash,
                            "leaf_hash": r.leaf_hash}
                    if tender_id is not None:
                        item["proof"] = [h.hex() for h in merkle.inclusion_path(source, r.seq - 1, size)]
                    yield json.dumps(item, ensure_ascii=False) + "\n"
                after = rows[-1].seq
                bar.update(len(rows))
                s.expunge_all()
                source.cache.clear()

        out = sys.stdout if output == "-" else open(output, "w", encoding="utf-8")
        try:
            with click.progressbar(length=total, label="Exporting", file=sys.stderr, show_pos=True) as bar:
                lines: Iterable[str] = entry_lines(bar)
                written = total
                if public and tender_id is not None:  # the header must not count what is withheld
                    lines = list(lines)
                    written = len(lines)
                scope = "tender" if tender_id is not None else "public" if public else "full"
                header = {"format": FORMAT, "origin": settings.log_origin, "vkey": platform.signer.vkey(),
                          "tree_size": size, "scope": scope, "tender_id": tender_id, "entries": written}
                out.write(json.dumps(header, ensure_ascii=False) + "\n")
                query_cps = select(AuditCheckpoint).where(AuditCheckpoint.size <= size)
                if public:  # the checkpoints signed for single receipts are the bidders' own
                    query_cps = query_cps.where(AuditCheckpoint.listed.is_(True))
                checkpoints = s.scalars(query_cps.order_by(AuditCheckpoint.size, AuditCheckpoint.id)).all()
                if tender_id is not None:
                    checkpoints = [last]
                for cp in checkpoints:
                    out.write(json.dumps({"checkpoint": cp.note}, ensure_ascii=False) + "\n")
                for line in lines:
                    out.write(line)
        finally:
            if out is not sys.stdout:
                out.close()
    click.echo(f"Exported {total} entries of a log of {size} (root {last.root}) to {output}.", err=True)


@audit_group.command("checkpoint")
@with_appcontext
def checkpoint_command() -> None:
    """Sign the checkpoint the schedule calls for, if one is due (run it from cron, e.g. every minute)."""
    from flask import current_app

    from audit import service
    from core.db import unit_of_work

    platform = current_app.extensions["sunbid"]
    settings = platform.settings
    with platform.sessions() as s:
        with unit_of_work(s):
            cp = service.checkpoint_if_due(s, signer=platform.signer, origin=settings.log_origin,
                                           now=platform.clock.now(), every_entries=settings.checkpoint_every,
                                           every_seconds=settings.checkpoint_seconds,
                                           key_actions=platform.audit_actions.key_actions)
            message = (f"Signed a checkpoint at tree size {cp.size}." if cp is not None
                       else "No checkpoint due.")
    click.echo(message)


@audit_group.command("verify")
@click.argument("export_file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False), required=True,
              help="the platform's verifier key (platform.pub, as served at /audit/vkey)")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="a signed checkpoint you kept earlier (e.g. from /audit/checkpoint): the export must agree with it")
def verify(export_file: str, key_file: str, checkpoint_file: str | None) -> None:
    """Verify an export offline: no database, no configuration, only the platform's public key."""
    from audit.verify import Tampered, verify_export

    vkey = Path(key_file).read_text(encoding="utf-8").strip()
    external = Path(checkpoint_file).read_text(encoding="utf-8") if checkpoint_file else None
    stream = sys.stdin if export_file == "-" else open(export_file, encoding="utf-8")
    try:
        report = verify_export(stream, vkey, external_checkpoint=external)
    except Tampered as exc:
        click.echo(f"TAMPERED: {exc.where}: {exc.what}", err=True)
        sys.exit(1)
    finally:
        if stream is not sys.stdin:
            stream.close()
    withheld = f" ({report.withheld} not yet disclosed, by their leaf hash)" if report.withheld else ""
    click.echo(f"OK: {report.entries} entries verified{withheld}; tree size {report.tree_size}, root {report.root.hex()}; "
               f"{report.checkpoints} signed checkpoints match"
               + (f"; your checkpoint at size {report.external_checkpoint} matches" if external else "") + ".")


@audit_group.command("verify-pdf")
@click.argument("pdf_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--certificate", "certificate_file", type=click.Path(exists=True, dir_okay=False), required=True,
              help="the platform's document certificate (as served at /audit/certificate)")
@click.option("--log", "export_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="an audit export (sunbid audit export, or /audit/export): the PDF's SHA-256 must be in it")
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="the platform's verifier key, to verify the export first (required with --log)")
def verify_pdf(pdf_file: str, certificate_file: str, export_file: str | None, key_file: str | None) -> None:
    """Check a PDF the platform issued: its signature, and (with --log) the audit entry that holds its SHA-256."""
    import hashlib

    from audit import signing
    from audit.verify import Tampered, verify_export

    pdf = Path(pdf_file).read_bytes()
    result = signing.validate(pdf, Path(certificate_file).read_bytes())
    if not result.ok:
        click.echo(f"NOT VALID: {result.problem}", err=True)
        sys.exit(1)
    digest = hashlib.sha256(pdf).hexdigest()
    line = f"OK: signed by the platform at {result.signed_at.isoformat() if result.signed_at else 'an unstated time'}; SHA-256 {digest}"
    if export_file is not None:
        if key_file is None:
            raise click.UsageError("--log needs --key, to verify the export before trusting it")
        vkey = Path(key_file).read_text(encoding="utf-8").strip()
        with open(export_file, encoding="utf-8") as f:
            try:
                verify_export(f, vkey)
            except Tampered as exc:
                click.echo(f"TAMPERED: {exc.where}: {exc.what}", err=True)
                sys.exit(1)
        found = None
        with open(export_file, encoding="utf-8") as f:
            for text in f:
                item = json.loads(text) if text.strip() else {}
                entry = item.get("entry") if isinstance(item, dict) else None  # line 1 is the header
                payload = entry.get("payload") if isinstance(entry, dict) else None
                if isinstance(payload, dict) and payload.get("sha256") == digest and "document" in payload:
                    found = entry
                    break
        if found is None:
            click.echo(f"NOT IN THE LOG: no entry of the export holds SHA-256 {digest}", err=True)
            sys.exit(1)
        line += f"; issued as entry {found.get('seq')} ({found.get('action')}) of the log"
    click.echo(line + ".")


@audit_group.command("vkey")
@with_appcontext
def vkey() -> None:
    """Print the platform's verifier key (save it as platform.pub)."""
    from flask import current_app

    click.echo(current_app.extensions["sunbid"].signer.vkey())


@audit_group.command("witness-keygen")
@click.argument("name")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="where to keep the private key")
def witness_keygen(name: str, output: str) -> None:
    """Make a witness key pair; prints the verifier key to register with the platform."""
    import os

    from audit import notes

    skey, vkey_text = notes.generate_witness(name)
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(skey + "\n")
    click.echo(vkey_text)


@audit_group.command("add-witness")
@click.argument("vkey_text")
@with_appcontext
def add_witness(vkey_text: str) -> None:
    """Register a witness's verifier key (its cosignatures are then stored and shown)."""
    from flask import current_app

    from audit import service
    from core.actor import Actor
    from core.db import unit_of_work
    from core.errors import DomainError

    platform = current_app.extensions["sunbid"]
    with platform.sessions() as s:
        try:
            with unit_of_work(s):
                w = service.register_witness(s, actor=Actor.system("cli"), vkey=vkey_text, now=platform.clock.now())
        except DomainError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"Witness {w.name} registered.")


@audit_group.command("witness")
@click.option("--log", "log_url", required=True, help="the platform's address, e.g. https://trade.example.gov.cn")
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False), required=True,
              help="the platform's verifier key (platform.pub)")
@click.option("--witness-key", "witness_key", type=click.Path(exists=True, dir_okay=False), required=True)
@click.option("--state", "state_file", type=click.Path(dir_okay=False), required=True,
              help="where the witness keeps the last checkpoint it cosigned")
def witness_command(log_url: str, key_file: str, witness_key: str, state_file: str) -> None:
    """Fetch the latest checkpoint, check it extends the last one seen, cosign it and deliver the cosignature."""
    import time
    import urllib.error
    import urllib.request

    from audit import notes
    from audit.witness import WitnessRefusal, witness

    base = log_url.rstrip("/")

    def get(path: str) -> bytes:
        with urllib.request.urlopen(base + path, timeout=30) as resp:
            return resp.read()

    def consistency(old: int, new: int) -> list[bytes]:
        body = json.loads(get(f"/api/v1/audit/proof/consistency?from={old}&to={new}"))
        return [bytes.fromhex(h) for h in body["proof"]]

    state = Path(state_file)
    previous = state.read_text(encoding="utf-8") if state.exists() else None
    log_verifier = notes.Verifier.from_vkey(Path(key_file).read_text(encoding="utf-8").strip())
    signer = notes.WitnessSigner.from_skey(Path(witness_key).read_text(encoding="utf-8").strip())
    try:
        result = witness(new_note=get("/audit/checkpoint").decode(), previous_note=previous,
                         log_verifier=log_verifier, signer=signer, timestamp=int(time.time()),
                         consistency=consistency)
    except WitnessRefusal as exc:
        click.echo(f"REFUSED: {exc.reason}", err=True)
        sys.exit(2)
    request = urllib.request.Request(base + "/api/v1/audit/cosignatures", data=result.cosigned_note.encode(),
                                     headers={"Content-Type": "text/plain; charset=utf-8"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            resp.read()
    except urllib.error.HTTPError as exc:
        raise click.ClickException(f"the platform refused the cosignature: {exc.read().decode(errors='replace')}")
    tmp = state.with_suffix(".tmp")
    tmp.write_text(result.note, encoding="utf-8")
    tmp.replace(state)
    click.echo(f"Cosigned tree size {result.checkpoint.size}, root {result.checkpoint.root.hex()}.")


@audit_group.command("push-witnesses")
@with_appcontext
def push_witnesses_command() -> None:
    """Push the latest checkpoint to the witnesses of SUNBID_WITNESSES that have not cosigned it yet."""
    from flask import current_app

    from audit.witness_push import push_witnesses

    results = push_witnesses(current_app.extensions["sunbid"])
    if not results:
        click.echo("No witnesses configured (SUNBID_WITNESSES).")
    for r in results:
        size = f" (tree size {r.size})" if r.size is not None else ""
        click.echo(f"{r.witness}: {r.outcome}{size}{': ' + r.detail if r.detail else ''}")
    if any(r.outcome in ("refused", "unreachable") for r in results):
        sys.exit(2)


@audit_group.command("witness-serve")
@click.option("--witness-key", "witness_key", type=click.Path(exists=True, dir_okay=False), required=True,
              help="the witness's private key (from witness-keygen)")
@click.option("--log", "logs", multiple=True, required=True,
              help="a log to witness: its verifier key (origin = the key's name), or 'ORIGIN VKEY'; repeatable")
@click.option("--state", "state_file", type=click.Path(dir_okay=False), required=True,
              help="SQLite file where the witness keeps the latest checkpoint of each log")
@click.option("--listen", default="127.0.0.1:7380", show_default=True, help="address and port to serve on")
@click.option("--prefix", default="", help="submission prefix (the endpoint is <prefix>/add-checkpoint)")
def witness_serve(witness_key: str, logs: tuple[str, ...], state_file: str, listen: str, prefix: str) -> None:
    """Serve a witness (c2sp.org/tlog-witness POST /add-checkpoint) for the given logs."""
    from werkzeug.serving import run_simple

    from audit import notes
    from audit.witness import KnownLog
    from audit.witness_server import WitnessStore, make_app

    signer = notes.WitnessSigner.from_skey(Path(witness_key).read_text(encoding="utf-8").strip())
    by_origin: dict[str, list[str]] = {}
    for item in logs:
        origin, _, vkey = item.strip().rpartition(" ")
        try:
            name = notes.Verifier.from_vkey(vkey).name
        except notes.NoteError as exc:
            raise click.BadParameter(f"{item!r}: {exc}", param_hint="--log") from None
        by_origin.setdefault(origin.strip() or name, []).append(vkey)
    try:
        known = [KnownLog.of(origin, vkeys) for origin, vkeys in by_origin.items()]
    except notes.NoteError as exc:
        raise click.BadParameter(str(exc), param_hint="--log") from None
    host, _, port = listen.rpartition(":")
    app = make_app(signer=signer, logs=known, store=WitnessStore(state_file), prefix=prefix)
    click.echo(f"Witness {signer.name} on http://{listen}{prefix.rstrip('/')}/add-checkpoint for "
               f"{', '.join(by_origin)}")
    run_simple(host or "127.0.0.1", int(port), app, threaded=True)


@audit_group.command("replay")
@click.option("--tender", "tender_id", type=int, required=True)
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False), default=None, help="also write the replay as PDF")
@with_appcontext
def replay_command(tender_id: int, pdf_path: str | None) -> None:
    """A tender's timeline from the log and its state recomputed from the events, compared with the database."""
    from flask import current_app
    from flask_babel import format_datetime

    from audit.replay import replay_tender
    from core.i18n import parse_iso

    platform = current_app.extensions["sunbid"]
    with current_app.test_request_context("/"), platform.sessions() as s:
        result = replay_tender(s, tender_id, platform.clock.now(),
                               replayers=platform.audit_actions.replayers)
        if not result.timeline and result.live is None:
            raise click.ClickException(f"tender {tender_id} is neither in the log nor in the database")
        for e in result.timeline:
            when = format_datetime(parse_iso(e["time"]), "yyyy-MM-dd HH:mm:ss")
            click.echo(f"{e['seq']:>8}  {when}  {e['actor']['name']:<16} {e['address']:<15} {e['action']:<22} "
                       f"{e['object']['type']} {e['object']['id']}")
        click.echo("")
        if result.consistent:
            click.echo(f"CONSISTENT: the state recomputed from {len(result.timeline)} events matches the database "
                       f"(status {result.replayed.get('status')}).")
        else:
            click.echo("MISMATCH between the log and the database:")
            for key, logged, live in result.mismatches:
                click.echo(f"  {key}: log says {logged!r}, database has {live!r}")
        if pdf_path:
            from audit.views import render_replay_pdf

            Path(pdf_path).write_bytes(render_replay_pdf(result))
            click.echo(f"PDF written to {pdf_path}.")
    if not result.consistent:
        sys.exit(3)
